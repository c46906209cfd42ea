//! AuditEvents (R4, following the IHE Basic Audit Log Patterns fields): who, what patient,
//! what resources, outcome, purpose, source address, user agent. Pure: building only.

use crate::fhir::json::instant;
use serde_json::{json, Value};

/// The REST interaction being audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
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

/// Everything one audit record says.
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub kind: AuditKind,
    pub outcome: AuditOutcome,
    pub agent: String,
    pub purpose: Option<String>,
    pub address: Option<String>,
    pub user_agent: Option<String>,
    /// `Type/id` of the resources touched (or the searched type).
    pub entities: Vec<String>,
    pub patient: Option<String>,
    /// The search or operation query, when any.
    pub query: Option<String>,
    pub request_id: Option<String>,
    /// The reason given for breaking the glass, when this access did.
    pub break_glass_reason: Option<String>,
    /// Set when this record is a disclosure to an outside party.
    pub disclosure: Option<Disclosure>,
}

/// A release of records to an outside party (mandated report, insurer, registry).
#[derive(Debug, Clone)]
pub struct Disclosure {
    /// Who received the records.
    pub recipient: String,
    /// Purpose of use (v3-ActReason: PUBHLTH, HLEGAL, HPAYMT ...).
    pub purpose: String,
    pub note: Option<String>,
}

impl AuditRecord {
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
    const TABLE: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(TABLE[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(base64_encode(b"name=x"), "bmFtZT14");
        assert_eq!(base64_encode(b"ab"), "YWI=");
    }
}
