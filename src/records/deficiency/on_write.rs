//! The rules on write. The store reports every version it writes or deletes
//! ([`touched`]); while a write transaction is open the affected records are collected
//! (per thread: diesel runs a transaction on one thread), and [`OnWrite`] — the store's
//! transaction hook, registered when `deficiency_rules = on` — judges each of them once,
//! after all of the transaction's entries are written and before it commits. A Bundle
//! that carries an Encounter with its Conditions is therefore judged as a whole.

use super::evaluate::{evaluate, Foci};
use super::facts;
use super::query;
use super::task::{self, Focus};
use crate::db::{resources, Conn, TxHook};
use crate::error::AppResult;
use crate::fhir::json::now_ms;
use serde_json::Value;
use std::cell::RefCell;
use std::collections::BTreeSet;

/// Resource types whose writes can open or close a deficiency (or answer a query).
const WATCHED: &[&str] = &[
    "Patient",
    "Encounter",
    "Condition",
    "Procedure",
    "DocumentReference",
    "Communication",
];

#[derive(Default)]
struct Pending {
    /// Records to re-judge, with their content when this transaction wrote it (None:
    /// read it when judging; a deletion reads as gone).
    foci: Foci,
    /// Encounters whose documents changed: the encounter and its records are re-judged.
    documented: BTreeSet<String>,
    /// CommunicationRequests a Communication answered.
    answered: BTreeSet<String>,
    /// Encounters whose attending changed: (encounter, previous, new Practitioner id).
    handoffs: BTreeSet<(String, String, String)>,
}

thread_local! {
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// Notes a written (`content` Some) or deleted version of `res_type/id` for the open
/// transaction's judgement. Costs nothing outside a hooked transaction or for other types.
pub fn touched(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    version: i64,
    content: Option<&Value>,
) -> AppResult<()> {
    if !WATCHED.contains(&res_type) || !PENDING.with(|p| p.borrow().is_some()) {
        return Ok(());
    }
    let mut add = Pending::default();
    match res_type {
        "Encounter" => {
            add.foci.insert(Focus::new(res_type, id), content.cloned());
            // the patient's demographic Tasks may now get an owner
            if let Some(patient) = content.and_then(|c| facts::context_of(c).1) {
                add.foci.insert(Focus::new("Patient", &patient), None);
            }
            if let Some(handoff) = handoff(conn, id, version, content)? {
                add.handoffs.insert(handoff);
            }
        }
        "DocumentReference" => {
            let mut versions: Vec<Value> = content.into_iter().cloned().collect();
            // the version before this one may have pointed elsewhere (or been deleted now)
            if version > 1 {
                if let Some(previous) = resources::read_version(conn, res_type, id, version - 1)?
                    .and_then(|row| row.content)
                    .and_then(|c| serde_json::from_str(&c).ok())
                {
                    versions.push(previous);
                }
            }
            for doc in &versions {
                let context = doc.get("context");
                let refs = |key: &str| -> Vec<Value> {
                    context
                        .and_then(|c| c.get(key))
                        .and_then(Value::as_array)
                        .cloned()
                        .unwrap_or_default()
                };
                for enc in refs("encounter") {
                    if let Some(e) = facts::reference_of(Some(&enc), "Encounter") {
                        add.documented.insert(e);
                    }
                }
                for related in refs("related") {
                    if let Some(p) = facts::reference_of(Some(&related), "Procedure") {
                        add.foci.insert(Focus::new("Procedure", &p), None);
                    }
                }
            }
        }
        "Communication" => {
            for based in content
                .and_then(|c| c.get("basedOn"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                if let Some(cr) = facts::reference_of(Some(based), "CommunicationRequest") {
                    add.answered.insert(cr);
                }
            }
        }
        _ => {
            add.foci.insert(Focus::new(res_type, id), content.cloned());
        }
    }
    // written content is kept only for the record written; the latest write wins, and a
    // record reached indirectly never hides content already known
    let direct = Focus::new(res_type, id);
    PENDING.with(|p| {
        if let Some(pending) = p.borrow_mut().as_mut() {
            for (focus, known) in add.foci {
                if focus == direct {
                    pending.foci.insert(focus, known);
                } else {
                    pending.foci.entry(focus).or_insert(None);
                }
            }
            pending.documented.extend(add.documented);
            pending.answered.extend(add.answered);
            pending.handoffs.extend(add.handoffs);
        }
    });
    Ok(())
}

/// (encounter, previous attending, new attending) when this version changed the attending.
fn handoff(
    conn: &mut Conn,
    id: &str,
    version: i64,
    content: Option<&Value>,
) -> AppResult<Option<(String, String, String)>> {
    let Some(new) = content.and_then(facts::attending) else {
        return Ok(None);
    };
    if version < 2 {
        return Ok(None);
    }
    let previous = resources::read_version(conn, "Encounter", id, version - 1)?
        .and_then(|row| row.content)
        .and_then(|c| serde_json::from_str::<Value>(&c).ok())
        .and_then(|enc| facts::attending(&enc));
    Ok(previous
        .filter(|old| *old != new)
        .map(|old| (id.to_string(), old, new)))
}

/// Collecting for one transaction; restores the previous state when dropped.
struct Scope {
    previous: Option<Option<Pending>>,
}

impl Scope {
    fn open() -> Scope {
        let previous = PENDING.with(|p| p.replace(Some(Pending::default())));
        Scope {
            previous: Some(previous),
        }
    }

    /// Stops collecting and returns what was collected.
    fn close(mut self) -> Pending {
        let previous = self.previous.take().flatten();
        PENDING.with(|p| p.replace(previous)).unwrap_or_default()
    }
}

impl Drop for Scope {
    fn drop(&mut self) {
        if let Some(previous) = self.previous.take() {
            PENDING.with(|p| *p.borrow_mut() = previous);
        }
    }
}

/// The store's transaction hook: collect during the work, judge before commit.
pub struct OnWrite;

impl TxHook for OnWrite {
    fn around(
        &self,
        conn: &mut Conn,
        work: &mut dyn FnMut(&mut Conn) -> AppResult<()>,
    ) -> AppResult<()> {
        let scope = Scope::open();
        work(conn)?;
        let pending = scope.close();
        judge(conn, pending)
    }
}

fn judge(conn: &mut Conn, pending: Pending) -> AppResult<()> {
    if pending.foci.is_empty()
        && pending.documented.is_empty()
        && pending.answered.is_empty()
        && pending.handoffs.is_empty()
    {
        return Ok(());
    }
    let now = now_ms();
    let mut foci = pending.foci;
    for enc in &pending.documented {
        foci.entry(Focus::new("Encounter", enc)).or_insert(None);
        for (res_type, id) in facts::records_of_encounter(conn, enc)? {
            foci.entry(Focus::new(res_type, &id)).or_insert(None);
        }
    }
    evaluate(conn, &foci, now)?;
    for cr in &pending.answered {
        query::answered(conn, cr)?;
    }
    for (encounter, old, new) in &pending.handoffs {
        task::hand_over(conn, encounter, old, new, now)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::auth::audit::Who;
    use crate::auth::Access;
    use crate::config::Config;
    use crate::store::Store;
    use serde_json::json;
    use std::time::Instant;

    fn store(rules: &str) -> (Store, std::path::PathBuf) {
        let path = std::env::temp_dir().join(format!("deficiency-{}.db", uuid::Uuid::new_v4()));
        let config = Config {
            database_url: format!("sqlite://{}", path.display()),
            sqlite_synchronous: "NORMAL".into(),
            deficiency_rules: rules.into(),
            ..Config::default()
        };
        (crate::open_store(config).unwrap(), path)
    }

    /// In-process Condition creates, rules on vs off alternating one by one (no HTTP).
    /// `cargo test --lib records::deficiency::on_write -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn create_overhead_in_process() {
        let who = Who::default();
        let (on, p_on) = store("on");
        let (off, p_off) = store("off");
        for s in [&on, &off] {
            s.update(
                &who,
                &Access::default(),
                "Practitioner",
                "dr1",
                json!({"resourceType": "Practitioner", "id": "dr1"}),
                None,
            )
            .unwrap();
            s.update(
                &who,
                &Access::default(),
                "Encounter",
                "e1",
                json!({"resourceType": "Encounter", "id": "e1",
                "status": "in-progress", "class": {"code": "AMB"},
                "subject": {"reference": "Patient/p1"},
                "participant": [{"individual": {"reference": "Practitioner/dr1"}}]}),
                None,
            )
            .unwrap();
        }
        let condition = |complete: bool| {
            let mut c = json!({"resourceType": "Condition",
                "subject": {"reference": "Patient/p1"},
                "encounter": {"reference": "Encounter/e1"},
                "verificationStatus": {"coding": [{"code": "confirmed"}]},
                "evidence": [{"detail": [{"reference": "DocumentReference/d"}]}],
                "code": {"text": "x"}});
            if complete {
                c["onsetDateTime"] = json!("2026-01-01");
            }
            c
        };
        for complete in [true, false] {
            let (mut t_on, mut t_off) = (0.0, 0.0);
            let n = 400;
            for i in 0..n + 40 {
                let started = Instant::now();
                on.create(&who, &Access::default(), "Condition", condition(complete))
                    .unwrap();
                let a = started.elapsed().as_secs_f64();
                let started = Instant::now();
                off.create(&who, &Access::default(), "Condition", condition(complete))
                    .unwrap();
                let b = started.elapsed().as_secs_f64();
                if i >= 40 {
                    t_on += a;
                    t_off += b;
                }
            }
            println!(
                "SQLite in-process, {}: {:.3} ms off / {:.3} ms on = {:.2}x",
                if complete {
                    "complete Condition"
                } else {
                    "Condition missing onset (opens a Task)"
                },
                t_off * 1000.0 / n as f64,
                t_on * 1000.0 / n as f64,
                t_on / t_off
            );
        }
        for p in [p_on, p_off] {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", p.display()));
            }
        }
    }
}
