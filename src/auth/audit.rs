//! AuditEvents (R4, following the IHE Basic Audit Log Patterns fields): who, what patient,
//! what resources, outcome, purpose, source address, user agent. Pure: building only.

use crate::fhir::json::instant;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// The REST interaction being audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditKind {
    Create,
    Read,
    Vread,
    Update,
    Delete,
    Search,
    History,
    Operation,
}

impl AuditKind {
    fn code(self) -> (&'static str, &'static str) {
        match self {
            AuditKind::Create => ("create", "C"),
            AuditKind::Read => ("read", "R"),
            AuditKind::Vread => ("vread", "R"),
            AuditKind::Update => ("update", "U"),
            AuditKind::Delete => ("delete", "D"),
            AuditKind::Search => ("search-type", "E"),
            AuditKind::History => ("history-instance", "R"),
            AuditKind::Operation => ("operation", "E"),
        }
    }
}

/// Outcome codes of AuditEvent.outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AuditOutcome {
    Success,
    Denied,
    Failed,
}

/// The caller side of audit records, taken once per request (stored with export jobs).
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Who {
    pub agent: String,
    pub purpose: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    pub break_glass_reason: Option<String>,
}

impl Who {
    /// A record of `kind` by this caller.
    pub fn record(
        &self,
        kind: AuditKind,
        outcome: AuditOutcome,
        entities: Vec<String>,
        patient: Option<String>,
    ) -> AuditRecord {
        AuditRecord {
            kind,
            outcome,
            agent: self.agent.clone(),
            purpose: self.purpose.clone(),
            address: self.address.clone(),
            user_agent: self.user_agent.clone(),
            entities,
            patient,
            query: None,
            request_id: self.request_id.clone(),
            break_glass_reason: self.break_glass_reason.clone(),
            disclosure: None,
        }
    }
}

/// Everything one audit record says. Stored as compact JSON (short names, absent fields
/// left out) and rendered as an AuditEvent when read: see [`AuditRecord::stored`].
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AuditRecord {
    #[serde(rename = "k")]
    pub kind: AuditKind,
    #[serde(rename = "o")]
    pub outcome: AuditOutcome,
    #[serde(rename = "a")]
    pub agent: String,
    #[serde(rename = "pu", default, skip_serializing_if = "Option::is_none")]
    pub purpose: Option<String>,
    #[serde(rename = "ip", default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(rename = "ua", default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// `Type/id` of the resources touched (or the searched type).
    #[serde(rename = "e", default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    /// The search or operation query, when any.
    #[serde(rename = "q", default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    #[serde(rename = "rq", default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The reason given for breaking the glass, when this access did.
    #[serde(rename = "btg", default, skip_serializing_if = "Option::is_none")]
    pub break_glass_reason: Option<String>,
    /// Set when this record is a disclosure to an outside party.
    #[serde(rename = "d", default, skip_serializing_if = "Option::is_none")]
    pub disclosure: Option<Disclosure>,
}

/// A release of records to an outside party (mandated report, insurer, registry).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Disclosure {
    /// Who received the records.
    pub recipient: String,
    /// Purpose of use (v3-ActReason: PUBHLTH, HLEGAL, HPAYMT ...).
    pub purpose: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What the audit table keeps (and hashes) for one event: the record with its event id
/// and time, about a sixth of the AuditEvent's size, so the background writer dirties
/// that many fewer pages per read it records. Rendered as an AuditEvent when read.
#[derive(Serialize)]
struct Stored<'a> {
    id: &'a str,
    at: i64,
    #[serde(flatten)]
    record: &'a AuditRecord,
}

#[derive(Deserialize)]
struct Loaded {
    id: String,
    at: i64,
    #[serde(flatten)]
    record: AuditRecord,
}

/// The AuditEvents of stored `content`: a compact record, a row's group of them, or (events
/// stored before records were kept compact) the AuditEvent itself.
pub fn render_stored(content: &str) -> Vec<Value> {
    let render = |loaded: Loaded| loaded.record.to_resource(&loaded.id, loaded.at);
    if content.starts_with("{\"resourceType\"") {
        return serde_json::from_str(content).into_iter().collect();
    }
    if content.starts_with('[') {
        let group: Vec<Loaded> = serde_json::from_str(content).unwrap_or_default();
        return group.into_iter().map(render).collect();
    }
    serde_json::from_str(content)
        .map(render)
        .into_iter()
        .collect()
}

/// The content of a row holding several records, the `n`th named `<seq>-<n>`.
pub fn stored_group(records: &[&AuditRecord], seq: i64, recorded: i64) -> String {
    let ids: Vec<String> = (0..records.len()).map(|n| format!("{seq}-{n}")).collect();
    let group: Vec<Stored> = records
        .iter()
        .zip(&ids)
        .map(|(record, id)| Stored {
            id,
            at: recorded,
            record,
        })
        .collect();
    serde_json::to_string(&group).expect("audit records serialize")
}

impl AuditRecord {
    /// The content the audit table stores (and hashes) for this record as event `id`.
    pub fn stored(&self, id: &str, recorded: i64) -> String {
        let stored = Stored {
            id,
            at: recorded,
            record: self,
        };
        serde_json::to_string(&stored).expect("an audit record serializes")
    }

    pub fn action(&self) -> &'static str {
        self.kind.code().1
    }

    pub fn outcome_code(&self) -> &'static str {
        match self.outcome {
            AuditOutcome::Success => "0",
            AuditOutcome::Denied => "4",
            AuditOutcome::Failed => "8",
        }
    }

    /// The AuditEvent resource for this record.
    pub fn to_resource(&self, id: &str, recorded: i64) -> Value {
        let (subtype, action) = self.kind.code();
        let mut entities: Vec<Value> = self
            .entities
            .iter()
            .map(|what| json!({"what": {"reference": what}, "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2"}}))
            .collect();
        if let Some(patient) = &self.patient {
            entities.push(json!({
                "what": {"reference": format!("Patient/{patient}")},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1"}
            }));
        }
        if let Some(query) = &self.query {
            if let Some(first) = entities.first_mut() {
                first["query"] = json!(base64_encode(query.as_bytes()));
            }
        }
        let mut agent = json!({
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "IRCP"}]},
            "who": {"identifier": {"value": self.agent}},
            "requestor": true
        });
        if let Some(address) = &self.address {
            agent["network"] = json!({"address": address, "type": "2"});
        }
        if let Some(purpose) = &self.purpose {
            agent["purposeOfUse"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": purpose}]}]);
        }
        let mut source = json!({"observer": {"display": "chartroom"}, "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4"}]});
        if let Some(ua) = &self.user_agent {
            source["site"] = json!(ua);
        }
        let mut event = json!({
            "resourceType": "AuditEvent",
            "id": id,
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
            "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": subtype}],
            "action": action,
            "recorded": instant(recorded),
            "outcome": self.outcome_code(),
            "agent": [agent],
            "source": source,
        });
        if !entities.is_empty() {
            event["entity"] = Value::Array(entities);
        }
        if let Some(disclosure) = &self.disclosure {
            event["type"] = json!({"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110106", "display": "Export"});
            event["subtype"] = json!([{"system": "http://chartroom.dev/fhir/CodeSystem/audit-subtype", "code": "disclosure"}]);
            event["purposeOfEvent"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": disclosure.purpose}]}]);
            if let Some(agents) = event["agent"].as_array_mut() {
                agents.push(json!({
                    "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110152", "display": "Destination Role ID"}]},
                    "who": {"display": disclosure.recipient},
                    "requestor": false
                }));
            }
        }
        let mut description: Vec<String> = Vec::new();
        if let Some(note) = self.disclosure.as_ref().and_then(|d| d.note.as_ref()) {
            description.push(note.clone());
        }
        if let Some(reason) = &self.break_glass_reason {
            description.push(format!("break-the-glass: {reason}"));
            event["purposeOfEvent"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG"}]}]);
        }
        if let Some(request_id) = &self.request_id {
            description.push(format!("request {request_id}"));
        }
        if !description.is_empty() {
            event["outcomeDesc"] = json!(description.join("; "));
        }
        event
    }
}

fn base64_encode(bytes: &[u8]) -> String {
    base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_records_render_as_audit_events() {
        let who = Who {
            agent: "clerk-7".into(),
            purpose: Some("TREAT".into()),
            address: Some("10.0.0.1".into()),
            ..Who::default()
        };
        let mut record = who.record(
            AuditKind::Search,
            AuditOutcome::Denied,
            vec!["Condition".into()],
            Some("p1".into()),
        );
        record.query = Some("code=E11".into());
        let stored = record.stored("e-1", 0);
        assert!(stored.len() < 200, "{stored}");
        let event = render_stored(&stored).remove(0);
        assert_eq!(event["resourceType"], "AuditEvent");
        assert_eq!(event["id"], "e-1");
        assert_eq!(event["recorded"], "1970-01-01T00:00:00.000Z");
        assert_eq!(event["outcome"], "4");
        assert_eq!(event["subtype"][0]["code"], "search-type");
        assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "clerk-7");
        assert_eq!(event["agent"][0]["network"]["address"], "10.0.0.1");
        assert_eq!(
            event["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
            "TREAT"
        );
        assert_eq!(event["entity"][0]["what"]["reference"], "Condition");
        assert_eq!(event["entity"][0]["query"], base64_encode(b"code=E11"));
        assert_eq!(event["entity"][1]["what"]["reference"], "Patient/p1");
        // events stored whole (before records were compact) are served as they are
        let old = record.to_resource("e-0", 0).to_string();
        assert_eq!(render_stored(&old)[0]["id"], "e-0");
        // a row's group: each record its own event
        let group = render_stored(&stored_group(&[&record, &record], 7, 0));
        assert_eq!(group.len(), 2);
        assert_eq!(group[1]["id"], "7-1");
        assert_eq!(group[1]["outcome"], "4");
    }

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b"name=x"), "bmFtZT14");
        assert_eq!(base64_encode(b"ab"), "YWI=");
    }
}
