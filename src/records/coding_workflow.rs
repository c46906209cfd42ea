//! `Encounter/{id}/$set-coding-status`: moves an encounter through the coding workflow.
//! The transition is checked, `audited` and `final` run the coding audit (its findings
//! become the review Task; `final` is refused while an error is open), and the coding
//! Task, the review Task and the Encounter's new version are written in one transaction.

use serde_json::{json, Value};

use super::coding_review;
use super::coding_status::{set_extension, CodingStatus};
use super::coding_task::{
    coding_task, coding_task_id, current, status_of_task, write, StatusChange,
};
use crate::auth::audit::Who;
use crate::coding::encounter::{encounter_findings, finding_issues, findings_outcome};
use crate::coding::on_write::CodingValidation;
use crate::coding::{Severity, Terminology};
use crate::db::{resources, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::json::{now_ms, patient_of};
use crate::fhir::outcome::Issue;
use crate::store::Store;

/// The operation's input.
#[derive(Debug, Clone)]
pub struct SetStatusParams {
    pub status: CodingStatus,
    pub note: Option<String>,
}

fn parameter_text<'a>(parameters: &'a Value, name: &str) -> Option<&'a str> {
    parameters["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
        .and_then(|p| {
            ["valueCode", "valueString", "valueCoding"]
                .iter()
                .find_map(|k| match k {
                    &"valueCoding" => p[*k]["code"].as_str(),
                    _ => p[*k].as_str(),
                })
        })
}

impl SetStatusParams {
    /// Reads a Parameters body (`status` required, `note` optional); 400 otherwise.
    pub fn from_parameters(parameters: &Value) -> AppResult<SetStatusParams> {
        if parameters["resourceType"] != "Parameters" {
            return Err(AppError::invalid_at(
                "$set-coding-status takes a Parameters resource",
                "resourceType",
            ));
        }
        let at = "Parameters.parameter.where(name='status')";
        let code = parameter_text(parameters, "status")
            .ok_or_else(|| AppError::invalid_at("the status parameter is required", at))?;
        let status = CodingStatus::parse(code).ok_or_else(|| {
            AppError::invalid_at(
                format!("'{code}' is not a coding status; use uncoded, coded, audited or final"),
                at,
            )
        })?;
        Ok(SetStatusParams {
            status,
            note: parameter_text(parameters, "note").map(str::to_string),
        })
    }
}

fn refused(message: String) -> AppError {
    AppError::Unprocessable(vec![Issue::error("business-rule", message)])
}

/// Sets the coding status of Encounter `id`, recording `actor` (a Reference) as the Task
/// owner. Answers a Parameters: `status`, `previous`, the coding `task`, the `encounter`
/// version written and, when the audit ran, its `audit` OperationOutcome.
pub fn set_coding_status(
    store: &Store,
    terms: &Terminology,
    who: &Who,
    actor: Value,
    id: &str,
    params: &SetStatusParams,
) -> AppResult<Value> {
    store
        .db
        .transaction(|conn| set_in(conn, terms, who, actor, (id, params)))
}

fn set_in(
    conn: &mut Conn,
    terms: &Terminology,
    who: &Who,
    actor: Value,
    (id, params): (&str, &SetStatusParams),
) -> AppResult<Value> {
    let to = params.status;
    // one status change per encounter at a time: the row lock serialises them (PostgreSQL)
    resources::lock_current(conn, "Encounter", id)?;
    let mut encounter = current(conn, "Encounter", id)?
        .ok_or_else(|| AppError::NotFound(format!("Encounter/{id} is not known")))?;
    let state = encounter["status"]
        .as_str()
        .unwrap_or("unknown")
        .to_string();
    if state != "finished" {
        return Err(refused(format!(
            "Encounter/{id} is {state}; only a finished (discharged) encounter is coded"
        )));
    }
    let task_id = coding_task_id(id);
    let previous = current(conn, "Task", &task_id)?;
    let from = previous
        .as_ref()
        .and_then(status_of_task)
        .unwrap_or(CodingStatus::Uncoded);
    if !from.may_move_to(to) {
        return Err(refused(format!(
            "Encounter/{id} is {}; it cannot move to {} (allowed from {}: {})",
            from.code(),
            to.code(),
            from.code(),
            from.next().join(", ")
        )));
    }
    let patient = patient_of(&encounter);
    let mut audit = None;
    if matches!(to, CodingStatus::Audited | CodingStatus::Final) {
        let findings = encounter_findings(conn, terms, id)?;
        let errors: Vec<_> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .cloned()
            .collect();
        if to == CodingStatus::Final && !errors.is_empty() {
            let mut issues = vec![Issue::error(
                "business-rule",
                format!(
                    "Encounter/{id} cannot be final while {} error finding(s) of the coding audit are open",
                    errors.len()
                ),
            )];
            issues.extend(finding_issues(&errors));
            return Err(AppError::Unprocessable(issues));
        }
        let signed_off = to == CodingStatus::Final;
        coding_review::upsert(conn, who, id, patient.as_deref(), &findings, signed_off)?;
        audit = Some(findings_outcome(
            &format!("Encounter/{id}"),
            &findings,
            Vec::new(),
        ));
    }
    let task = coding_task(
        previous.as_ref(),
        &StatusChange {
            encounter_id: id,
            patient: patient.as_deref(),
            status: to,
            actor,
            note: params.note.as_deref(),
            at: now_ms(),
        },
    );
    let task = write(conn, who, &task_id, task, CodingValidation::Off)?;
    set_extension(&mut encounter, Some(to.code()));
    let encounter = write(conn, who, id, encounter, CodingValidation::Off)?;
    let task_json: Value = task
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str(c).ok())
        .unwrap_or(Value::Null);
    let mut parameter = vec![
        json!({"name": "status", "valueCode": to.code()}),
        json!({"name": "previous", "valueCode": from.code()}),
        json!({"name": "task", "resource": task_json}),
        json!({"name": "encounter", "valueReference": {
            "reference": format!("Encounter/{id}/_history/{}", encounter.version)}}),
    ];
    if let Some(outcome) = audit {
        parameter.push(json!({"name": "audit", "resource": outcome}));
    }
    Ok(json!({"resourceType": "Parameters", "parameter": parameter}))
}
