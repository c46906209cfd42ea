//! Queries to the responsible practitioner about a deficiency: a `CommunicationRequest`
//! (`basedOn` and `about` = the Task, `recipient` = the Task's owner); the answer is a
//! plain `Communication` whose `basedOn` names the request, which marks it completed.

use super::facts;
use super::kind::SYSTEM;
use super::task::{rules_agent, write};
use crate::auth::audit::Who;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{instant, now_ms, str_at};
use crate::fhir::resource::new_id;
use crate::store::{Saved, Store};
use serde_json::{json, Value};

/// The `text` of a `$query-practitioner` Parameters body (400 when missing or empty).
pub fn query_text(parameters: &Value) -> AppResult<String> {
    if str_at(parameters, &["resourceType"]).as_deref() != Some("Parameters") {
        return Err(AppError::invalid("the body must be a Parameters resource"));
    }
    parameters
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .find(|p| str_at(p, &["name"]).as_deref() == Some("text"))
        .and_then(|p| str_at(p, &["valueString"]))
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            AppError::invalid_at(
                "parameter 'text' (valueString) is required",
                "Parameters.parameter",
            )
        })
}

/// `POST Task/{id}/$query-practitioner`: writes the CommunicationRequest to the Task's
/// owner (404 unknown Task, 422 not a deficiency Task or no owner).
pub fn query_practitioner(store: &Store, who: &Who, task_id: &str, text: &str) -> AppResult<Saved> {
    store.db.transaction(|conn| {
        let task = facts::current(conn, "Task", task_id)?
            .ok_or_else(|| AppError::NotFound(format!("Task/{task_id} is not known")))?;
        if task
            .pointer("/code/coding/0/system")
            .and_then(Value::as_str)
            != Some(SYSTEM)
        {
            return Err(unprocessable(format!(
                "Task/{task_id} is not a deficiency work item"
            )));
        }
        let owner = task
            .get("owner")
            .cloned()
            .ok_or_else(|| unprocessable(format!("Task/{task_id} has no owner to ask")))?;
        let anchor = json!({"reference": format!("Task/{task_id}")});
        let mut request = json!({
            "resourceType": "CommunicationRequest",
            "id": new_id(),
            "status": "active",
            "basedOn": [anchor.clone()],
            "about": [anchor],
            "recipient": [owner],
            "payload": [{"contentString": text}],
            "authoredOn": instant(now_ms()),
        });
        for (from, to) in [("for", "subject"), ("encounter", "encounter")] {
            if let Some(value) = task.get(from) {
                request[to] = value.clone();
            }
        }
        if let (Some(focus), Some(about)) = (task.get("focus"), request["about"].as_array_mut()) {
            about.push(focus.clone());
        }
        write(conn, who, request)
    })
}

fn unprocessable(message: String) -> AppError {
    AppError::Unprocessable(vec![crate::fhir::outcome::Issue::error(
        "business-rule",
        message,
    )])
}

/// A Communication answered CommunicationRequest `id`: an active request about a Task
/// becomes `completed`.
pub fn answered(conn: &mut Conn, id: &str) -> AppResult<()> {
    let Some(mut request) = facts::current(conn, "CommunicationRequest", id)? else {
        return Ok(());
    };
    let about_task = request
        .get("basedOn")
        .and_then(Value::as_array)
        .is_some_and(|b| {
            b.iter()
                .any(|r| facts::reference_of(Some(r), "Task").is_some())
        });
    if !about_task || str_at(&request, &["status"]).as_deref() != Some("active") {
        return Ok(());
    }
    request["status"] = json!("completed");
    write(conn, &rules_agent(), request)?;
    Ok(())
}
