//! The coding Task of an encounter (records-room Task contract): one per Encounter, code
//! `records-task|coding`, `businessStatus` = the coding status, one new version per status
//! change (so its history holds every step, with who and when). Also the one helper that
//! writes a server-built resource through the ordinary store path.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use super::coding_status::{CodingStatus, STATUS_SYSTEM};
use crate::auth::audit::Who;
use crate::coding::on_write::CodingValidation;
use crate::db::{resources, Conn};
use crate::error::AppResult;
use crate::fhir::json::instant;
use crate::store::write::{audit_write, prepare, put_in, put_kind};
use crate::store::Saved;

/// Code system of the records-room work-item kinds (`Task.code`).
pub const TASK_SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/records-task";

/// A Task id derived from the encounter id (`{prefix}-{id}`, hashed when that would pass
/// the 64 characters FHIR allows), so the Task of an encounter is found without a search.
pub fn task_id(prefix: &str, encounter_id: &str) -> String {
    let plain = format!("{prefix}-{encounter_id}");
    if plain.len() <= 64 {
        return plain;
    }
    let digest = Sha256::digest(encounter_id.as_bytes());
    let hex: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    format!("{prefix}-{hex}")
}

/// The id of the coding Task of `encounter_id`.
pub fn coding_task_id(encounter_id: &str) -> String {
    task_id("coding", encounter_id)
}

/// The coding status a coding Task records (None for any other resource).
pub fn status_of_task(task: &Value) -> Option<CodingStatus> {
    let is_coding = task["code"]["coding"].as_array().is_some_and(|c| {
        c.iter()
            .any(|c| c["system"] == TASK_SYSTEM && c["code"] == "coding")
    });
    if !is_coding || task["resourceType"] != "Task" {
        return None;
    }
    task["businessStatus"]["coding"]
        .as_array()?
        .iter()
        .find(|c| c["system"] == STATUS_SYSTEM)?["code"]
        .as_str()
        .and_then(CodingStatus::parse)
}

/// The reference a Task's `owner` (or a note's author) gets for the caller: the `fhirUser`
/// when the token names one, else the token subject as display text.
pub fn actor_reference(fhir_user: Option<&str>, subject: &str) -> Value {
    match fhir_user {
        Some(user) => json!({"reference": user, "display": subject}),
        None => json!({"display": subject}),
    }
}

/// One status change to record on the coding Task.
pub struct StatusChange<'a> {
    pub encounter_id: &'a str,
    pub patient: Option<&'a str>,
    pub status: CodingStatus,
    /// Who made the change (`Task.owner`).
    pub actor: Value,
    pub note: Option<&'a str>,
    /// Epoch milliseconds of the change.
    pub at: i64,
}

/// The coding Task after `change`: `previous` (the current Task, if any) carried forward
/// with its notes, or a new one.
pub fn coding_task(previous: Option<&Value>, change: &StatusChange<'_>) -> Value {
    let at = instant(change.at);
    let encounter = json!({"reference": format!("Encounter/{}", change.encounter_id)});
    let mut notes: Vec<Value> = previous
        .and_then(|t| t["note"].as_array().cloned())
        .unwrap_or_default();
    let mut text = format!("coding status set to {}", change.status.code());
    if let Some(note) = change.note.filter(|n| !n.trim().is_empty()) {
        text.push_str(": ");
        text.push_str(note.trim());
    }
    let mut note = json!({"time": at, "text": text});
    match change.actor.get("reference") {
        Some(_) => note["authorReference"] = change.actor.clone(),
        None => note["authorString"] = change.actor["display"].clone(),
    }
    notes.push(note);
    let authored = previous
        .and_then(|t| t["authoredOn"].as_str())
        .map(str::to_string)
        .unwrap_or_else(|| at.clone());
    let mut task = json!({
        "resourceType": "Task",
        "status": change.status.task_status(),
        "businessStatus": {"coding": [{"system": STATUS_SYSTEM, "code": change.status.code()}]},
        "intent": "order",
        "code": {"coding": [{"system": TASK_SYSTEM, "code": "coding", "display": "Code the encounter"}]},
        "focus": encounter,
        "encounter": encounter,
        "authoredOn": authored,
        "lastModified": at,
        "owner": change.actor,
        "note": notes,
    });
    if let Some(patient) = change.patient {
        task["for"] = json!({"reference": format!("Patient/{patient}")});
    }
    task
}

/// The current content of `res_type/id` (None when absent or deleted).
pub fn current(conn: &mut Conn, res_type: &str, id: &str) -> AppResult<Option<Value>> {
    Ok(resources::read_current(conn, res_type, id)?
        .filter(|row| row.deleted == 0)
        .and_then(|row| row.content)
        .and_then(|text| serde_json::from_str(&text).ok()))
}

/// Writes a server-built resource as `res_type/id` inside the caller's transaction:
/// validated, indexed, versioned and audited like a client's PUT.
pub fn write(
    conn: &mut Conn,
    who: &Who,
    id: &str,
    mut resource: Value,
    coding: CodingValidation,
) -> AppResult<Saved> {
    resource["id"] = Value::String(id.to_string());
    let res_type = resource["resourceType"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let prepared = prepare(&res_type, Some(id), resource, coding)?;
    let saved = put_in(conn, prepared, id, None, "PUT")?;
    audit_write(conn, who, put_kind(&saved), &saved)?;
    Ok(saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_fit_fhir() {
        assert_eq!(coding_task_id("enc-1"), "coding-enc-1");
        let long = "x".repeat(64);
        let id = coding_task_id(&long);
        assert!(id.len() <= 64 && id.starts_with("coding-"));
        assert_ne!(id, coding_task_id(&"y".repeat(64)));
    }

    #[test]
    fn task_carries_status_owner_and_notes() {
        let change = StatusChange {
            encounter_id: "e1",
            patient: Some("p1"),
            status: CodingStatus::Coded,
            actor: actor_reference(Some("Practitioner/c1"), "coder"),
            note: Some("principal set"),
            at: 0,
        };
        let first = coding_task(None, &change);
        assert_eq!(status_of_task(&first), Some(CodingStatus::Coded));
        assert_eq!(first["status"], "in-progress");
        assert_eq!(first["for"]["reference"], "Patient/p1");
        let later = coding_task(
            Some(&first),
            &StatusChange {
                status: CodingStatus::Final,
                note: None,
                actor: actor_reference(None, "auditor"),
                at: 1000,
                ..change
            },
        );
        assert_eq!(later["status"], "completed");
        assert_eq!(later["authoredOn"], first["authoredOn"]);
        assert_eq!(later["note"].as_array().map(Vec::len), Some(2));
        assert_eq!(later["note"][1]["authorString"], "auditor");
        assert_eq!(later["owner"]["display"], "auditor");
    }
}
