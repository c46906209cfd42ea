//! Coding-audit findings as a work item (records-room Task contract): one `coding-review`
//! Task per encounter with findings, `input` = one entry per finding. Written when a coder
//! moves an encounter to `audited` or `final` and by the sweep (`chartroom audit`). The
//! Task is `requested` while findings are open and `completed` when the encounter is clean
//! or was signed off as `final` (warnings reviewed).

use serde_json::{json, Value};

use super::coding_status::CodingStatus;
use super::coding_task::{coding_task_id, current, status_of_task, task_id, write, TASK_SYSTEM};
use crate::auth::audit::Who;
use crate::coding::encounter::{sweep_with, SweepReport};
use crate::coding::on_write::CodingValidation;
use crate::coding::{Finding, Terminology};
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{instant, now_ms};
use crate::store::Store;

/// The id of the coding-review Task of `encounter_id`.
pub fn review_task_id(encounter_id: &str) -> String {
    task_id("coding-review", encounter_id)
}

/// What an upsert did to the review Task.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewOutcome {
    /// No findings and no Task: nothing written.
    None,
    Opened,
    Updated,
    Completed,
    Unchanged,
}

fn inputs(findings: &[Finding]) -> Vec<Value> {
    findings
        .iter()
        .map(|f| {
            json!({
                "type": {"text": f.edit},
                "valueString": format!("{} [{}] {}", severity(f), f.codes.join(", "), f.text),
            })
        })
        .collect()
}

fn severity(f: &Finding) -> String {
    format!("{:?}", f.severity).to_lowercase()
}

/// Writes the review Task of an encounter for `findings` (inside the caller's
/// transaction). `signed_off` completes it even with findings left (a `final` status).
pub fn upsert(
    conn: &mut Conn,
    who: &Who,
    encounter_id: &str,
    patient: Option<&str>,
    findings: &[Finding],
    signed_off: bool,
) -> AppResult<ReviewOutcome> {
    let id = review_task_id(encounter_id);
    let previous = current(conn, "Task", &id)?;
    if findings.is_empty() && previous.is_none() {
        return Ok(ReviewOutcome::None);
    }
    let done = signed_off || findings.is_empty();
    let status = if done { "completed" } else { "requested" };
    let input = inputs(findings);
    if let Some(prev) = &previous {
        let same_input = prev["input"].as_array().cloned().unwrap_or_default() == input;
        if prev["status"] == status && same_input {
            return Ok(ReviewOutcome::Unchanged);
        }
    }
    let now = instant(now_ms());
    let encounter = json!({"reference": format!("Encounter/{encounter_id}")});
    let mut task = json!({
        "resourceType": "Task",
        "status": status,
        "intent": "order",
        "code": {"coding": [{"system": TASK_SYSTEM, "code": "coding-review", "display": "Review the coding-audit findings"}]},
        "focus": encounter,
        "encounter": encounter,
        "authoredOn": previous.as_ref().and_then(|p| p["authoredOn"].as_str()).unwrap_or(&now),
        "lastModified": now,
        "description": format!("{} coding-audit finding(s)", findings.len()),
    });
    if !input.is_empty() {
        task["input"] = Value::Array(input);
    }
    if let Some(patient) = patient {
        task["for"] = json!({"reference": format!("Patient/{patient}")});
    }
    write(conn, who, &id, task, CodingValidation::Off)?;
    Ok(match (previous.is_some(), done) {
        (false, _) => ReviewOutcome::Opened,
        (true, true) => ReviewOutcome::Completed,
        (true, false) => ReviewOutcome::Updated,
    })
}

/// Counts of what a sweep did to the review Tasks.
#[derive(Debug, Clone, Default)]
pub struct ReviewCounts {
    pub opened: usize,
    pub updated: usize,
    pub completed: usize,
    pub unchanged: usize,
}

/// `chartroom audit --since DATE`: the coding audit over every encounter discharged since
/// `since`, each encounter's findings written as its review Task (one transaction each).
pub fn sweep(
    store: &Store,
    terms: &Terminology,
    who: &Who,
    since: chrono::NaiveDate,
) -> AppResult<(SweepReport, ReviewCounts)> {
    let mut counts = ReviewCounts::default();
    let report = sweep_with(store, terms, since, |enc, findings| {
        let outcome = store.db.transaction(|conn| {
            // a final encounter's remaining warnings were signed off by the coder
            let coding = current(conn, "Task", &coding_task_id(&enc.id))?;
            let signed_off = coding.as_ref().and_then(status_of_task) == Some(CodingStatus::Final);
            upsert(
                conn,
                who,
                &enc.id,
                enc.patient_id.as_deref(),
                findings,
                signed_off,
            )
        })?;
        match outcome {
            ReviewOutcome::Opened => counts.opened += 1,
            ReviewOutcome::Updated => counts.updated += 1,
            ReviewOutcome::Completed => counts.completed += 1,
            ReviewOutcome::Unchanged => counts.unchanged += 1,
            ReviewOutcome::None => {}
        }
        Ok(())
    })?;
    Ok((report, counts))
}
