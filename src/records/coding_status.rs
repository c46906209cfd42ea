//! The coding status of an encounter (`uncoded → coded → audited → final`): its values, the
//! transitions a coder may make, and the server-owned Encounter extension that mirrors the
//! encounter's coding Task on every write of the Encounter.

use serde_json::{json, Value};

use super::coding_task::{coding_task_id, current, status_of_task};
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::chartroom_params::CODING_STATUS_EXTENSION;
use crate::fhir::index::{self, IndexEntry};
use crate::fhir::outcome::Issue;

/// Code system of the coding-status codes (`Task.businessStatus`).
pub const STATUS_SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/coding-status";

/// Where an encounter is in the coding workflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodingStatus {
    Uncoded,
    Coded,
    Audited,
    Final,
}

impl CodingStatus {
    /// Every status, in workflow order.
    pub const ALL: [CodingStatus; 4] = [
        CodingStatus::Uncoded,
        CodingStatus::Coded,
        CodingStatus::Audited,
        CodingStatus::Final,
    ];

    /// The status named by `code`.
    pub fn parse(code: &str) -> Option<CodingStatus> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// The code (`uncoded`, `coded`, `audited`, `final`).
    pub fn code(self) -> &'static str {
        match self {
            CodingStatus::Uncoded => "uncoded",
            CodingStatus::Coded => "coded",
            CodingStatus::Audited => "audited",
            CodingStatus::Final => "final",
        }
    }

    /// `Task.status` of the coding Task in this status.
    pub fn task_status(self) -> &'static str {
        match self {
            CodingStatus::Uncoded => "requested",
            CodingStatus::Coded | CodingStatus::Audited => "in-progress",
            CodingStatus::Final => "completed",
        }
    }

    /// Whether a coder may move an encounter from `self` to `to`: forward one step at a
    /// time, a re-audit, back to `coded` from `audited` or `final` (a correction), and back
    /// to `uncoded` from `coded`.
    pub fn may_move_to(self, to: CodingStatus) -> bool {
        use CodingStatus::*;
        matches!(
            (self, to),
            (Uncoded, Coded)
                | (Coded, Uncoded)
                | (Coded, Audited)
                | (Audited, Audited)
                | (Audited, Final)
                | (Audited, Coded)
                | (Final, Coded)
        )
    }

    /// The statuses reachable from `self`.
    pub fn next(self) -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|to| self.may_move_to(*to))
            .map(CodingStatus::code)
            .collect()
    }
}

/// The coding status an Encounter's extension carries.
pub fn extension_of(encounter: &Value) -> Option<&str> {
    encounter["extension"]
        .as_array()?
        .iter()
        .find(|e| e["url"] == CODING_STATUS_EXTENSION)?["valueCode"]
        .as_str()
}

/// Sets (or, with None, removes) the coding-status extension of an Encounter.
pub fn set_extension(encounter: &mut Value, status: Option<&str>) {
    let Some(object) = encounter.as_object_mut() else {
        return;
    };
    let mut list: Vec<Value> = match object.remove("extension") {
        Some(Value::Array(list)) => list,
        _ => Vec::new(),
    };
    list.retain(|e| e["url"] != CODING_STATUS_EXTENSION);
    if let Some(code) = status {
        list.push(json!({"url": CODING_STATUS_EXTENSION, "valueCode": code}));
    }
    if !list.is_empty() {
        object.insert("extension".into(), Value::Array(list));
    }
}

/// The write hook for every Encounter write: the coding-status extension is owned by the
/// server, so whatever the client sent, the stored Encounter carries the status of its
/// coding Task (none when there is no Task). Re-extracts the index values when it changes.
/// The diagnoses of a `final` encounter are what billing was given: changing them is
/// refused (422) until a coder moves the encounter back to `coded`. `fresh`: the id was
/// just assigned to a POST, so no coding Task can name it (none is looked up).
pub fn carry_over(
    conn: &mut Conn,
    id: &str,
    fresh: bool,
    encounter: &mut Value,
    entries: &mut Vec<IndexEntry>,
) -> AppResult<()> {
    let task = if fresh {
        None
    } else {
        current(conn, "Task", &coding_task_id(id))?
    };
    let status = task.as_ref().and_then(status_of_task);
    if status == Some(CodingStatus::Final) {
        let stored = current(conn, "Encounter", id)?;
        if stored.is_some_and(|s| s["diagnosis"] != encounter["diagnosis"]) {
            return Err(AppError::Unprocessable(vec![Issue::error(
                "business-rule",
                format!(
                    "Encounter/{id} is coded final: its diagnoses cannot change until it is moved back to coded ($set-coding-status)"
                ),
            )
            .at("Encounter.diagnosis")]));
        }
    }
    let owned = status.map(CodingStatus::code);
    if extension_of(encounter) == owned {
        return Ok(());
    }
    set_extension(encounter, owned);
    *entries = index::extract(encounter)
        .map_err(|e| AppError::internal(format!("index extraction failed for Encounter: {e}")))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transitions() {
        use CodingStatus::*;
        assert!(Uncoded.may_move_to(Coded));
        assert!(!Uncoded.may_move_to(Final));
        assert!(!Coded.may_move_to(Final));
        assert!(Audited.may_move_to(Final) && Final.may_move_to(Coded));
        assert!(!Final.may_move_to(Final) && !Final.may_move_to(Uncoded));
        assert_eq!(Audited.next(), ["coded", "audited", "final"]);
        assert_eq!(CodingStatus::parse("final"), Some(Final));
        assert_eq!(CodingStatus::parse("billed"), None);
    }

    #[test]
    fn extension_is_set_and_removed() {
        let mut enc = json!({"resourceType": "Encounter", "status": "finished",
            "extension": [{"url": "http://example.org/other", "valueString": "x"}]});
        set_extension(&mut enc, Some("coded"));
        assert_eq!(extension_of(&enc), Some("coded"));
        set_extension(&mut enc, Some("final"));
        assert_eq!(enc["extension"].as_array().map(Vec::len), Some(2));
        assert_eq!(extension_of(&enc), Some("final"));
        set_extension(&mut enc, None);
        assert_eq!(extension_of(&enc), None);
        assert_eq!(enc["extension"].as_array().map(Vec::len), Some(1));
    }

    #[test]
    fn search_index_says_uncoded_for_a_finished_encounter_without_status() {
        let codes = |enc: &Value| -> Vec<String> {
            index::extract(enc)
                .unwrap()
                .into_iter()
                .filter(|e| e.param == "coding-status")
                .filter_map(|e| match e.value {
                    index::IndexValue::Token { code, .. } => code,
                    _ => None,
                })
                .collect()
        };
        let mut enc = json!({"resourceType": "Encounter", "status": "finished",
            "class": {"code": "IMP"}});
        assert_eq!(codes(&enc), ["uncoded"]);
        set_extension(&mut enc, Some("final"));
        assert_eq!(codes(&enc), ["final"]);
        let open = json!({"resourceType": "Encounter", "status": "in-progress",
            "class": {"code": "IMP"}});
        assert!(codes(&open).is_empty());
    }
}
