//! Evaluating records: their rules' verdicts, then each kind's Task reconciled. The same
//! code serves the on-write hook and the sweep.

use super::facts;
use super::kind::Kind;
use super::rules::{self, Verdict, PROCEDURE_NOTES};
use super::task::{self, Context, Focus, Tally};
use crate::db::Conn;
use crate::error::AppResult;
use serde_json::Value;
use std::borrow::Cow;
use std::collections::BTreeMap;

/// Records to judge, with their current content when the caller has it (just written;
/// None: read it, a deleted or unknown record reads as gone).
pub type Foci = BTreeMap<Focus, Option<Value>>;

/// Re-judges every focus (Patients, Encounters, Conditions and Procedures; other types are
/// ignored) and opens, closes, re-opens or cancels their deficiency Tasks. All of their
/// Tasks are read first and the changed ones written last, so that the writes' queued rows
/// are not sent piecemeal ahead of the next record's reads.
pub fn evaluate(conn: &mut Conn, foci: &Foci, now_ms: i64) -> AppResult<Tally> {
    let judged: Vec<(&Focus, Vec<Kind>)> = foci
        .keys()
        .map(|focus| (focus, Kind::of_type(&focus.res_type)))
        .filter(|(_, kinds)| !kinds.is_empty())
        .collect();
    let ids: Vec<String> = judged
        .iter()
        .flat_map(|(focus, kinds)| kinds.iter().map(|kind| task::task_id(focus, *kind)))
        .collect();
    let mut existing = task::existing(conn, &ids)?;
    let mut tally = Tally::default();
    let mut changes = Vec::new();
    for (focus, kinds) in judged {
        let resource = current(conn, foci, &focus.res_type, &focus.id)?;
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
                Some(r) => context_of(conn, foci, focus, r)?,
                None => Context::default(),
            };
            cached = Some(ctx.clone());
            Ok(ctx)
        };
        for (kind, verdict) in verdicts {
            let current = existing.remove(&task::task_id(focus, kind));
            changes.extend(task::reconcile(
                conn,
                (focus, kind),
                current,
                verdict,
                &mut context,
                now_ms,
                &mut tally,
            )?);
        }
    }
    task::write_changes(conn, changes)?;
    Ok(tally)
}

/// The current content of `res_type/id`: the caller's, else read.
fn current<'a>(
    conn: &mut Conn,
    foci: &'a Foci,
    res_type: &str,
    id: &str,
) -> AppResult<Option<Cow<'a, Value>>> {
    if let Some(Some(known)) = foci.get(&Focus::new(res_type, id)) {
        return Ok(Some(Cow::Borrowed(known)));
    }
    Ok(facts::current(conn, res_type, id)?.map(Cow::Owned))
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
fn context_of(conn: &mut Conn, foci: &Foci, focus: &Focus, r: &Value) -> AppResult<Context> {
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
                Some(id) => current(conn, foci, "Encounter", id)?
                    .as_deref()
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
