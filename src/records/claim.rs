//! `Encounter/{id}/$claim`: a draft institutional `Claim` built from the final codes of an
//! encounter (diagnosis sequence with POA as `onAdmission`, procedures with dates, the
//! patient, the provider and the patient's active Coverage). The draft is stored, one per
//! encounter (id `claim-{encounter}`): building it again replaces it with a new version.

use serde_json::{json, Value};

use super::billing::{billing_codes_in, coding, BillingCodes, IdRow};
use super::coding_task::{current, task_id, write};
use crate::auth::audit::Who;
use crate::coding::{ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{instant, now_ms};
use crate::fhir::outcome::Issue;
use crate::store::{Saved, Store};

const POA_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission";

/// The id of the draft Claim of `encounter_id`.
pub fn claim_id(encounter_id: &str) -> String {
    task_id("claim", encounter_id)
}

/// The participant whose type is ATND (attending), else the first one.
fn attending(encounter: &Value) -> Option<Value> {
    let participants = encounter["participant"].as_array()?;
    participants
        .iter()
        .find(|p| {
            p["type"].as_array().is_some_and(|ts| {
                ts.iter().any(|t| {
                    t["coding"]
                        .as_array()
                        .is_some_and(|cs| cs.iter().any(|c| c["code"] == "ATND"))
                })
            })
        })
        .or_else(|| participants.first())
        .map(|p| p["individual"].clone())
        .filter(Value::is_object)
}

/// The patient's active Coverages, in `order`.
fn coverages(conn: &mut Conn, patient: &str) -> AppResult<Vec<Value>> {
    let mut sql = Sql::new(
        "SELECT r.res_id FROM resources r JOIN idx_reference i ON i.rk = r.rk \
         WHERE r.deleted = 0 AND r.res_type = 'Coverage' AND i.res_type = 'Coverage' \
         AND i.param = 'beneficiary' AND i.target_type = 'Patient' AND i.target_id = ",
    );
    sql.bind(patient).push(" ORDER BY r.res_id");
    let mut found = Vec::new();
    for row in conn.load::<IdRow>(&sql)? {
        if let Some(coverage) = current(conn, "Coverage", &row.res_id)? {
            if coverage["status"] == "active" {
                found.push(coverage);
            }
        }
    }
    found.sort_by_key(|c| c["order"].as_i64().unwrap_or(i64::MAX));
    Ok(found)
}

fn concept(system: &str, code: &str, display: &Option<String>) -> Value {
    json!({"coding": [coding(system, code, display)]})
}

fn on_admission(poa: &str) -> Value {
    let code = poa.to_lowercase();
    if ["y", "n", "u", "w"].contains(&code.as_str()) {
        json!({"coding": [{"system": POA_SYSTEM, "code": code}]})
    } else {
        json!({"text": format!("exempt from POA reporting ({poa})")})
    }
}

/// The draft Claim of a final encounter (pure: the codes and coverages are given).
pub fn draft_claim(codes: &BillingCodes, coverages: &[Value], created: &str) -> AppResult<Value> {
    let enc = &codes.encounter;
    let id = enc["id"].as_str().unwrap_or_default();
    let patient = codes.patient.as_deref().ok_or_else(|| {
        AppError::Unprocessable(vec![Issue::error(
            "business-rule",
            format!("Encounter/{id} names no patient (subject); a Claim needs one"),
        )])
    })?;
    let attending = attending(enc);
    let provider = enc["serviceProvider"]
        .is_object()
        .then(|| enc["serviceProvider"].clone())
        .or_else(|| attending.clone())
        .ok_or_else(|| {
            AppError::Unprocessable(vec![Issue::error(
                "business-rule",
                format!("Encounter/{id} names neither a serviceProvider nor an attending; a Claim needs a provider"),
            )])
        })?;
    let diagnosis: Vec<Value> = codes
        .diagnoses
        .iter()
        .map(|d| {
            let mut entry = json!({
                "sequence": d.sequence,
                "diagnosisCodeableConcept": concept(ICD10CM_SYSTEM, &d.code, &d.display),
            });
            if d.sequence == 1 {
                entry["type"] = json!([{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype",
                    "code": "principal"}]}]);
            }
            if let Some(poa) = &d.poa {
                entry["onAdmission"] = on_admission(poa);
            }
            entry
        })
        .collect();
    let procedure: Vec<Value> = codes
        .procedures
        .iter()
        .map(|p| {
            let mut entry = json!({
                "sequence": p.sequence,
                "procedureCodeableConcept": concept(ICD10PCS_SYSTEM, &p.code, &p.display),
            });
            if let Some(date) = &p.date {
                entry["date"] = json!(date);
            }
            entry
        })
        .collect();
    let insurance: Vec<Value> = if coverages.is_empty() {
        vec![json!({"sequence": 1, "focal": true,
            "coverage": {"display": "no active Coverage on file (self-pay)"}})]
    } else {
        coverages
            .iter()
            .enumerate()
            .map(|(i, c)| {
                json!({"sequence": i + 1, "focal": i == 0,
                    "coverage": {"reference": format!("Coverage/{}", c["id"].as_str().unwrap_or_default())}})
            })
            .collect()
    };
    let mut team: Vec<Value> = attending.into_iter().collect();
    for performer in codes.procedures.iter().flat_map(|p| &p.performers) {
        if !team
            .iter()
            .any(|t| t["reference"] == performer["reference"])
        {
            team.push(performer.clone());
        }
    }
    let care_team: Vec<Value> = team
        .into_iter()
        .enumerate()
        .map(|(i, provider)| {
            let role = if i == 0 { "primary" } else { "assist" };
            json!({"sequence": i + 1, "provider": provider, "role": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/claimcareteamrole", "code": role}]}})
        })
        .collect();
    let mut claim = json!({
        "resourceType": "Claim",
        "status": "draft",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "use": "claim",
        "patient": {"reference": format!("Patient/{patient}")},
        "created": created,
        "provider": provider,
        "priority": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/processpriority", "code": "normal"}]},
        "insurance": insurance,
        "item": [{
            "sequence": 1,
            "productOrService": {"text": "Institutional stay"},
            "diagnosisSequence": codes.diagnoses.iter().map(|d| d.sequence).collect::<Vec<_>>(),
            "procedureSequence": codes.procedures.iter().map(|p| p.sequence).collect::<Vec<_>>(),
            "encounter": [{"reference": format!("Encounter/{id}")}],
        }],
    });
    if enc["period"].is_object() {
        claim["billablePeriod"] = enc["period"].clone();
    }
    for (key, list) in [
        ("careTeam", care_team),
        ("diagnosis", diagnosis),
        ("procedure", procedure),
    ] {
        if !list.is_empty() {
            claim[key] = Value::Array(list);
        }
    }
    if let Some(item) = claim["item"][0].as_object_mut() {
        // FHIR JSON forbids empty arrays
        item.retain(|_, v| v.as_array().is_none_or(|a| !a.is_empty()));
    }
    Ok(claim)
}

/// Builds and stores the draft Claim of final Encounter `id` (one transaction).
pub fn build_claim(store: &Store, who: &Who, id: &str) -> AppResult<Saved> {
    let coding = store.coding_validation();
    store.db.transaction(|conn| {
        let codes = billing_codes_in(conn, id)?;
        let coverages = match &codes.patient {
            Some(p) => coverages(conn, p)?,
            None => Vec::new(),
        };
        let claim = draft_claim(&codes, &coverages, &instant(now_ms()))?;
        write(conn, who, &claim_id(id), claim, coding)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::billing::{BilledDx, BilledPx};

    fn codes(encounter: Value) -> BillingCodes {
        BillingCodes {
            encounter,
            patient: Some("p1".into()),
            diagnoses: vec![
                BilledDx {
                    sequence: 1,
                    condition_id: "c1".into(),
                    code: "E85.9".into(),
                    display: None,
                    poa: Some("Y".into()),
                },
                BilledDx {
                    sequence: 2,
                    condition_id: "c2".into(),
                    code: "G63".into(),
                    display: None,
                    poa: Some("1".into()),
                },
            ],
            procedures: vec![BilledPx {
                sequence: 1,
                procedure_id: "x1".into(),
                code: "0DTJ4ZZ".into(),
                display: None,
                date: Some("2026-01-12".into()),
                performers: vec![json!({"reference": "Practitioner/surgeon"})],
            }],
        }
    }

    #[test]
    fn draft_claim_sequences_codes_and_team() {
        let enc = json!({"resourceType": "Encounter", "id": "e1",
            "participant": [{"individual": {"reference": "Practitioner/att"}}]});
        let claim = draft_claim(
            &codes(enc),
            &[json!({"id": "cov1", "order": 1})],
            "2026-02-01",
        )
        .unwrap();
        assert_eq!(claim["provider"]["reference"], "Practitioner/att");
        assert_eq!(
            claim["diagnosis"][0]["type"][0]["coding"][0]["code"],
            "principal"
        );
        assert_eq!(
            claim["diagnosis"][0]["onAdmission"]["coding"][0]["code"],
            "y"
        );
        assert!(claim["diagnosis"][1]["onAdmission"]["text"]
            .as_str()
            .unwrap()
            .contains("exempt"));
        assert_eq!(claim["procedure"][0]["date"], "2026-01-12");
        assert_eq!(
            claim["careTeam"][1]["provider"]["reference"],
            "Practitioner/surgeon"
        );
        assert_eq!(
            claim["insurance"][0]["coverage"]["reference"],
            "Coverage/cov1"
        );
        assert_eq!(claim["item"][0]["diagnosisSequence"], json!([1, 2]));
    }

    #[test]
    fn a_claim_needs_a_provider() {
        let enc = json!({"resourceType": "Encounter", "id": "e1"});
        let err = draft_claim(&codes(enc), &[], "2026-02-01").unwrap_err();
        assert_eq!(err.status(), 422);
    }
}
