//! `chartroom sweep` and `POST /fhir/$sweep-deficiencies`: every Patient, Encounter,
//! Condition and Procedure judged again (finds gaps written with the on-write rules off,
//! and deficiencies whose record was deleted), in batches of one transaction each.

use super::evaluate::{evaluate, Foci};
use super::open_tasks;
use super::task::{Focus, Tally};
use crate::db::sql::Sql;
use crate::error::AppResult;
use crate::fhir::json::now_ms;
use crate::fhir::json::reference_parts;
use crate::store::Store;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use std::time::Instant;

/// What a sweep did.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    /// Records judged.
    pub records: usize,
    pub tally: Tally,
    pub seconds: f64,
}

#[derive(QueryableByName)]
struct FocusRow {
    #[diesel(sql_type = BigInt)]
    rk: i64,
    #[diesel(sql_type = Text)]
    res_type: String,
    #[diesel(sql_type = Text)]
    res_id: String,
}

/// Judges every current record, `batch` per transaction, then the records of open
/// deficiency Tasks that no longer exist.
pub fn sweep(store: &Store, batch: usize) -> AppResult<SweepReport> {
    let started = Instant::now();
    let batch = batch.max(1);
    let mut report = SweepReport::default();
    let mut after = 0i64;
    loop {
        let mut sql = Sql::new(
            "SELECT rk, res_type, res_id FROM resources WHERE deleted = 0 \
             AND res_type IN ('Patient', 'Encounter', 'Condition', 'Procedure') AND rk > ",
        );
        sql.bind(after)
            .push(" ORDER BY rk LIMIT ")
            .bind(batch as i64);
        let rows = store.db.read()?.load::<FocusRow>(&sql)?;
        let Some(last) = rows.last() else { break };
        after = last.rk;
        let now = now_ms();
        let foci: Foci = rows
            .iter()
            .map(|row| (Focus::new(&row.res_type, &row.res_id), None))
            .collect();
        let tally = store.db.transaction(|conn| evaluate(conn, &foci, now))?;
        report.records += rows.len();
        report.tally.add(tally);
    }
    let orphans: Vec<Focus> = {
        let mut conn = store.db.read()?;
        let mut out = Vec::new();
        for task in open_tasks::open(&mut conn)? {
            let Some((t, id)) = task.focus.as_deref().and_then(reference_parts) else {
                continue;
            };
            if super::facts::current(&mut conn, &t, &id)?.is_none() {
                out.push(Focus::new(&t, &id));
            }
        }
        out.sort();
        out.dedup();
        out
    };
    for chunk in orphans.chunks(batch) {
        let now = now_ms();
        let foci: Foci = chunk.iter().map(|focus| (focus.clone(), None)).collect();
        let tally = store.db.transaction(|conn| evaluate(conn, &foci, now))?;
        report.records += chunk.len();
        report.tally.add(tally);
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
