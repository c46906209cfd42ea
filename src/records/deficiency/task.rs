//! Deficiency Tasks (records-room Task contract): one per (deficient resource, kind), with
//! a deterministic id so the rules find it by primary key. Opened, closed, re-opened and
//! cancelled through the normal write path (versioned, indexed, audited).

use super::kind::{Kind, SYSTEM};
use super::rules::Verdict;
use crate::auth::audit::Who;
use crate::coding::on_write::CodingValidation;
use crate::db::resources;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{instant, now_ms, str_at};
use crate::store::write::{audit_write, prepare, put_in, put_kind, write_in, Slot};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// `Task.statusReason` system for Tasks the rules cancelled (they re-open when the rule
/// applies again; a Task a person cancelled stays cancelled).
pub const REASON_SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/deficiency-status-reason";

/// Task statuses that count as open work.
pub const OPEN: &[&str] = &[
    "draft",
    "requested",
    "received",
    "accepted",
    "ready",
    "in-progress",
    "on-hold",
];

/// The audit agent of the rules' writes.
pub fn rules_agent() -> Who {
    Who {
        agent: "chartroom/deficiency-rules".into(),
        ..Who::default()
    }
}

/// A resource the rules look at.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Focus {
    pub res_type: String,
    pub id: String,
}

impl Focus {
    pub fn new(res_type: &str, id: &str) -> Focus {
        Focus {
            res_type: res_type.to_string(),
            id: id.to_string(),
        }
    }

    pub fn reference(&self) -> String {
        format!("{}/{}", self.res_type, self.id)
    }
}

/// The Task id of (focus, kind): `def-` and 40 hex digits of a SHA-256.
pub fn task_id(focus: &Focus, kind: Kind) -> String {
    let digest = Sha256::digest(format!("{}|{}", focus.reference(), kind.code()).as_bytes());
    let hex: String = digest.iter().take(20).map(|b| format!("{b:02x}")).collect();
    format!("def-{hex}")
}

/// Who and what a new Task is about.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// `Practitioner` id.
    pub owner: Option<String>,
    pub patient: Option<String>,
    pub encounter: Option<String>,
}

/// What reconciling did, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub opened: usize,
    pub reopened: usize,
    pub closed: usize,
    pub cancelled: usize,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.opened += other.opened;
        self.reopened += other.reopened;
        self.closed += other.closed;
        self.cancelled += other.cancelled;
    }
}

fn reference(res_type: &str, id: &Option<String>) -> Option<Value> {
    id.as_ref()
        .map(|id| json!({"reference": format!("{res_type}/{id}")}))
}

fn new_task(id: &str, focus: &Focus, kind: Kind, ctx: &Context, now: &str) -> Value {
    let mut task = json!({
        "resourceType": "Task",
        "id": id,
        "status": "requested",
        "intent": "order",
        "code": {"coding": [{"system": SYSTEM, "code": kind.code(), "display": kind.display()}]},
        "description": kind.display(),
        "focus": {"reference": focus.reference()},
        "authoredOn": now,
        "lastModified": now,
        "executionPeriod": {"start": now},
    });
    let fields = [
        ("for", reference("Patient", &ctx.patient)),
        ("encounter", reference("Encounter", &ctx.encounter)),
        ("owner", reference("Practitioner", &ctx.owner)),
    ];
    for (key, value) in fields {
        if let Some(value) = value {
            task[key] = value;
        }
    }
    task
}

fn cancelled_by_rules(task: &Value) -> bool {
    task.pointer("/statusReason/coding/0/system")
        .and_then(Value::as_str)
        == Some(REASON_SYSTEM)
}

fn set_status(task: &mut Value, status: &str, now: &str) {
    task["status"] = json!(status);
    task["lastModified"] = json!(now);
    if let Some(obj) = task.as_object_mut() {
        obj.remove("statusReason");
    }
}

/// The context of a new or re-opened Task, looked up on demand.
pub type ContextFn<'a> = &'a mut dyn FnMut(&mut Conn) -> AppResult<Context>;

/// One Task slot: which Task, and the time of the change.
struct TaskSlot<'a> {
    id: &'a str,
    focus: &'a Focus,
    kind: Kind,
    now: &'a str,
}

/// The changed Task for `verdict`, or None when the current one already says it.
fn next(
    conn: &mut Conn,
    existing: Option<Value>,
    slot: &TaskSlot<'_>,
    verdict: Verdict,
    context: ContextFn<'_>,
    tally: &mut Tally,
) -> AppResult<Option<Value>> {
    let now = slot.now;
    let Some(mut task) = existing else {
        if verdict != Verdict::Gap {
            return Ok(None);
        }
        tally.opened += 1;
        let ctx = context(conn)?;
        return Ok(Some(new_task(slot.id, slot.focus, slot.kind, &ctx, now)));
    };
    let status = str_at(&task, &["status"]).unwrap_or_default();
    let open = OPEN.contains(&status.as_str());
    match verdict {
        Verdict::Gap if open => {
            if task.get("owner").is_some() {
                return Ok(None);
            }
            // an owner became known (e.g. the encounter arrived after the patient)
            let Some(owner) = reference("Practitioner", &context(conn)?.owner) else {
                return Ok(None);
            };
            task["owner"] = owner;
            task["lastModified"] = json!(now);
        }
        Verdict::Gap if status == "completed" || cancelled_by_rules(&task) => {
            set_status(&mut task, "requested", now);
            task["executionPeriod"] = json!({"start": now});
            if let Some(owner) = reference("Practitioner", &context(conn)?.owner) {
                task["owner"] = owner;
            }
            tally.reopened += 1;
        }
        Verdict::Met if open => {
            set_status(&mut task, "completed", now);
            task["executionPeriod"]["end"] = json!(now);
            tally.closed += 1;
        }
        Verdict::NotApplicable if open => {
            set_status(&mut task, "cancelled", now);
            task["statusReason"] = json!({
                "coding": [{"system": REASON_SYSTEM, "code": "not-applicable"}],
                "text": "The rule no longer applies to the record"
            });
            task["executionPeriod"]["end"] = json!(now);
            tally.cancelled += 1;
        }
        _ => return Ok(None),
    }
    Ok(Some(task))
}

/// The current (not deleted) Tasks of the given ids, by Task id.
pub fn existing(conn: &mut Conn, ids: &[String]) -> AppResult<HashMap<String, Value>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(512) {
        out.extend(
            resources::read_current_ids(conn, "Task", chunk)?
                .into_iter()
                .filter(|row| row.deleted == 0)
                .filter_map(|row| {
                    let task = serde_json::from_str(row.content.as_deref()?).ok()?;
                    Some((row.res_id, task))
                }),
        );
    }
    Ok(out)
}

/// A Task to write: `new` when no current Task had its id (its id is claimed, not looked up).
pub struct Change {
    task: Value,
    new: bool,
}

/// The change that brings the Task of (focus, kind) — `existing`, as read by [`existing`]
/// — in line with the rule's verdict, counted in `tally`; None when it already is.
/// `context` is asked only when a Task is created or re-opened (its lookups cost nothing
/// otherwise).
pub fn reconcile(
    conn: &mut Conn,
    (focus, kind): (&Focus, Kind),
    existing: Option<Value>,
    verdict: Verdict,
    context: ContextFn<'_>,
    now_ms: i64,
    tally: &mut Tally,
) -> AppResult<Option<Change>> {
    let id = task_id(focus, kind);
    let now = instant(now_ms);
    let slot = TaskSlot {
        id: &id,
        focus,
        kind,
        now: &now,
    };
    let new = existing.is_none();
    Ok(next(conn, existing, &slot, verdict, context, tally)?.map(|task| Change { task, new }))
}

/// Writes the changed Tasks; the new ones' ids are claimed together.
pub fn write_changes(conn: &mut Conn, changes: Vec<Change>) -> AppResult<()> {
    let now = now_ms();
    let ids: Vec<String> = changes
        .iter()
        .filter(|change| change.new)
        .filter_map(|change| str_at(&change.task, &["id"]))
        .collect();
    let wanted: Vec<(&str, &str)> = ids.iter().map(|id| ("Task", id.as_str())).collect();
    let mut claimed = resources::claim_ids(conn, &wanted, now)?;
    let who = rules_agent();
    for Change { task, .. } in changes {
        let id = str_at(&task, &["id"]).unwrap_or_default();
        let prepared = prepare("Task", Some(&id), task, CodingValidation::Off)?;
        let saved = match claimed.remove(&("Task".to_string(), id.clone())) {
            Some(rk) => write_in(conn, prepared, &id, Slot::claimed(rk, now), "PUT")?,
            // a deleted Task of that id, or one a concurrent writer created
            None => put_in(conn, prepared, &id, None, "PUT")?,
        };
        audit_write(conn, &who, put_kind(&saved), &saved)?;
    }
    Ok(())
}

/// Writes a resource the records room generated (its id set), audited as `who`.
pub fn write(conn: &mut Conn, who: &Who, resource: Value) -> AppResult<crate::store::Saved> {
    let res_type = str_at(&resource, &["resourceType"]).unwrap_or_default();
    let id = str_at(&resource, &["id"]).unwrap_or_default();
    let prepared = prepare(&res_type, Some(&id), resource, CodingValidation::Off)?;
    let saved = put_in(conn, prepared, &id, None, "PUT")?;
    audit_write(conn, who, put_kind(&saved), &saved)?;
    Ok(saved)
}

/// The encounter's attending changed from `old` to `new`: its open deficiency Tasks still
/// owned by `old` move to `new` (a Task a person gave to someone else stays theirs).
pub fn hand_over(
    conn: &mut Conn,
    encounter: &str,
    old: &str,
    new: &str,
    now_ms: i64,
) -> AppResult<()> {
    let old_ref = format!("Practitioner/{old}");
    for facts in super::open_tasks::of_encounters(conn, &[encounter.to_string()])? {
        if !facts.is_open() || facts.owner.as_deref() != Some(old_ref.as_str()) {
            continue;
        }
        let Some(mut task) = super::facts::current(conn, "Task", &facts.id)? else {
            continue;
        };
        task["owner"] = json!({"reference": format!("Practitioner/{new}")});
        task["lastModified"] = json!(instant(now_ms));
        write(conn, &rules_agent(), task)?;
    }
    Ok(())
}
