//! Evaluating one record: its rules' verdicts, then each kind's Task reconciled. The same
//! code serves the on-write hook and the sweep.

use super::facts;
use super::kind::Kind;
use super::rules::{self, Verdict, PROCEDURE_NOTES};
use super::task::{self, Context, Focus, Tally};
use crate::db::Conn;
use crate::error::AppResult;
use serde_json::Value;

/// Re-judges `focus` (a Patient, Encounter, Condition or Procedure; other types are
/// ignored) and opens, closes, re-opens or cancels its deficiency Tasks. `known` is its
/// current content when the caller has it (just written); else it is read.
pub fn evaluate(
    conn: &mut Conn,
    focus: &Focus,
    known: Option<Value>,
    now_ms: i64,
) -> AppResult<Tally> {
    let kinds = Kind::of_type(&focus.res_type);
    if kinds.is_empty() {
        return Ok(Tally::default());
    }
    let resource = match known {
        Some(content) => Some(content),
        None => facts::current(conn, &focus.res_type, &focus.id)?,
    };
    let mut existing = task::existing(conn, focus, &kinds)?;
    let verdicts = match &resource {
        None => kinds
            .into_iter()
            .map(|k| (k, Verdict::NotApplicable))
            .collect(),
        Some(r) => verdicts(conn, focus, r)?,
    };
    let mut cached: Option<Context> = None;
    let mut context = |conn: &mut Conn| -> AppResult<Context> {
        if let Some(ctx) = &cached {
            return Ok(ctx.clone());
        }
        let ctx = match &resource {
            Some(r) => context_of(conn, focus, r)?,
            None => Context::default(),
        };
        cached = Some(ctx.clone());
        Ok(ctx)
    };
    let mut tally = Tally::default();
    for (kind, verdict) in verdicts {
        let current = existing.remove(&task::task_id(focus, kind));
        tally.add(task::reconcile(
            conn,
            (focus, kind),
            current,
            verdict,
            &mut context,
            now_ms,
        )?);
    }
    Ok(tally)
}

fn verdicts(conn: &mut Conn, focus: &Focus, r: &Value) -> AppResult<Vec<(Kind, Verdict)>> {
    let (encounter, _) = facts::context_of(r);
    match focus.res_type.as_str() {
        "Encounter" => rules::encounter(r, || facts::discharge_summaries(conn, &focus.id)),
        "Procedure" => rules::procedure(r, || {
            if facts::procedure_related(conn, &focus.id)? {
                return Ok(true);
            }
            match &encounter {
                Some(enc) => facts::encounter_documented(conn, enc, Some(PROCEDURE_NOTES)),
                None => Ok(false),
            }
        }),
        "Condition" => rules::condition(r, || match &encounter {
            Some(enc) => facts::encounter_documented(conn, enc, None),
            None => Ok(false),
        }),
        "Patient" => Ok(rules::patient(r)),
        _ => Ok(Vec::new()),
    }
}

/// Owner, patient and encounter of a new Task about `r`.
fn context_of(conn: &mut Conn, focus: &Focus, r: &Value) -> AppResult<Context> {
    let (encounter, patient) = facts::context_of(r);
    match focus.res_type.as_str() {
        "Encounter" => Ok(Context {
            owner: facts::attending(r),
            patient,
            encounter: Some(focus.id.clone()),
        }),
        "Patient" => Ok(Context {
            owner: facts::latest_attended_encounter(conn, &focus.id)?
                .as_ref()
                .and_then(facts::attending),
            patient: Some(focus.id.clone()),
            encounter: None,
        }),
        _ => {
            let mut owner = match &encounter {
                Some(id) => facts::current(conn, "Encounter", id)?
                    .as_ref()
                    .and_then(facts::attending),
                None => None,
            };
            if owner.is_none() {
                owner = r.get("performer").and_then(Value::as_array).and_then(|ps| {
                    ps.iter()
                        .find_map(|p| facts::reference_of(p.get("actor"), "Practitioner"))
                });
            }
            Ok(Context {
                owner,
                patient,
                encounter,
            })
        }
    }
}
