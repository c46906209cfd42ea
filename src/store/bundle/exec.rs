//! Executing planned entries inside the database transaction, in processing order.

use super::plan::{Action, Step};
use crate::coding::on_write::CodingValidation;
use crate::db::rows::VersionRow;
use crate::db::Conn;
use crate::db::{audit, resources};
use crate::error::{AppError, AppResult};
use crate::fhir::json::now_ms;
use crate::fhir::transaction::{at_entry, EntryResponse};
use crate::store::entry_access::EntryGuard;
use crate::store::patch::patch_in;
use crate::store::write::{delete_in, put_in, write_in, Slot};
use crate::store::Saved;
use serde_json::Value;
use std::collections::HashMap;

/// Runs every step; the first failure (located at its entry) aborts the lot.
/// `guard` checks each step before and after it runs; the entries' audit records are
/// appended together at the end (on PostgreSQL the audit chain's lock is then held only
/// from there to the commit, not across the whole Bundle).
pub fn execute(
    conn: &mut Conn,
    steps: Vec<Step>,
    minimal: bool,
    coding: CodingValidation,
    guard: &EntryGuard,
) -> AppResult<Vec<(usize, EntryResponse)>> {
    let mut out = Vec::with_capacity(steps.len());
    let mut records = Vec::new();
    let mut claims = claim_creates(conn, &steps)?;
    for step in steps {
        let index = step.index;
        let response = guard
            .before(conn, &step)
            .and_then(|checked| {
                let response = run(conn, step, minimal, coding, &mut claims)?;
                records.extend(guard.after(conn, checked, &response)?);
                Ok(response)
            })
            .map_err(|e| at_entry(e, index))?;
        out.push((index, response));
    }
    audit::append(conn, records, now_ms())?;
    Ok(out)
}

/// The new ids of the Bundle's creates, claimed in a few statements rather than one per
/// entry: (type, id) → row key, and the time the claims stamp on the first versions.
struct Claims {
    rks: HashMap<(String, String), i64>,
    at: i64,
}

fn claim_creates(conn: &mut Conn, steps: &[Step]) -> AppResult<Claims> {
    let creates: Vec<(&str, &str)> = steps
        .iter()
        .filter_map(|step| match &step.action {
            Action::Write {
                id, method: "POST", ..
            } => Some((step.res_type.as_str(), id.as_str())),
            _ => None,
        })
        .collect();
    let at = now_ms();
    let rks = resources::claim_ids(conn, &creates, at)?;
    Ok(Claims { rks, at })
}

fn run(
    conn: &mut Conn,
    step: Step,
    minimal: bool,
    coding: CodingValidation,
    claims: &mut Claims,
) -> AppResult<EntryResponse> {
    let t = step.res_type;
    match step.action {
        Action::Write {
            prepared,
            id,
            method,
        } => {
            let key = (t, id);
            let saved = match claims.rks.remove(&key) {
                Some(rk) => write_in(conn, prepared, &key.1, Slot::claimed(rk, claims.at), method)?,
                None => put_in(conn, prepared, &key.1, step.if_match, method)?,
            };
            let status = if saved.created { 201 } else { 200 };
            Ok(written(status, &saved, minimal))
        }
        Action::Patch { id, patch } => {
            let saved = patch_in(conn, &t, &id, &patch, step.if_match, &|_| Ok(()), coding)?;
            Ok(written(200, &saved, minimal))
        }
        Action::Exists { id } => {
            let row = current(conn, &t, &id)?;
            Ok(read(row, minimal))
        }
        Action::Read { id, version: None } => Ok(read(current(conn, &t, &id)?, false)),
        Action::Read {
            id,
            version: Some(v),
        } => match resources::read_version(conn, &t, &id, v)? {
            Some(row) if row.deleted == 0 => Ok(read(row, false)),
            Some(_) => Err(AppError::Gone(format!(
                "version {v} of {t}/{id} records its deletion"
            ))),
            None => Err(AppError::NotFound(format!("{t}/{id} has no version {v}"))),
        },
        Action::Delete { id: None } => Ok(EntryResponse {
            status: 204,
            ..Default::default()
        }),
        Action::Delete { id: Some(id) } => {
            let saved = delete_in(conn, &t, &id, step.if_match)?;
            Ok(EntryResponse {
                status: 204,
                version: saved.as_ref().map(|s| s.version),
                last_modified: saved.as_ref().map(|s| s.last_updated),
                target: Some(format!("{t}/{id}")),
                ..Default::default()
            })
        }
    }
}

fn current(conn: &mut Conn, t: &str, id: &str) -> AppResult<VersionRow> {
    match resources::read_current(conn, t, id)? {
        None => Err(AppError::NotFound(format!("{t}/{id} is not known"))),
        Some(row) if row.deleted != 0 => Err(AppError::Gone(format!("{t}/{id} was deleted"))),
        Some(row) => Ok(row),
    }
}

fn parse(content: Option<&str>) -> Option<Value> {
    content.and_then(|c| serde_json::from_str(c).ok())
}

fn written(status: u16, saved: &Saved, minimal: bool) -> EntryResponse {
    EntryResponse {
        status,
        location: Some(format!(
            "{}/{}/_history/{}",
            saved.res_type, saved.id, saved.version
        )),
        version: Some(saved.version),
        last_modified: Some(saved.last_updated),
        resource: if minimal {
            None
        } else {
            parse(saved.content.as_deref())
        },
        outcome: None,
        target: Some(format!("{}/{}", saved.res_type, saved.id)),
    }
}

fn read(row: VersionRow, minimal: bool) -> EntryResponse {
    EntryResponse {
        status: 200,
        location: Some(format!(
            "{}/{}/_history/{}",
            row.res_type, row.res_id, row.version
        )),
        version: Some(row.version),
        last_modified: Some(row.last_updated),
        resource: if minimal {
            None
        } else {
            parse(row.content.as_deref())
        },
        outcome: None,
        target: Some(format!("{}/{}", row.res_type, row.res_id)),
    }
}
