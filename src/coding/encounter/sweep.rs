//! `chartroom audit --since DATE`: the audit over every encounter discharged on or after a
//! day, counted by edit id; each encounter's findings go to a caller's function (the
//! records room writes them as work items).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;

use super::stored::{facts_of, EncounterRow, ENCOUNTER_COLUMNS};
use crate::coding::{audit, Finding, Severity, Terminology};
use crate::error::AppResult;
use crate::store::Store;

/// Totals of a sweep.
#[derive(Debug, Clone, Default)]
pub struct SweepReport {
    /// Encounters audited.
    pub encounters: usize,
    /// Encounters with at least one error finding.
    pub with_errors: usize,
    /// Encounters the audit could not run on (e.g. no patient birth date).
    pub skipped: usize,
    /// Findings per edit id: (severity, count).
    pub by_edit: BTreeMap<&'static str, (Severity, usize)>,
    /// Wall time in seconds.
    pub seconds: f64,
}

/// One audited encounter, as handed to the caller of [`sweep_with`].
#[derive(Debug, Clone)]
pub struct SweptEncounter {
    pub id: String,
    pub patient_id: Option<String>,
}

/// Audits every encounter discharged on or after `since`.
pub fn sweep(store: &Store, terms: &Terminology, since: NaiveDate) -> AppResult<SweepReport> {
    sweep_with(store, terms, since, |_, _| Ok(()))
}

/// [`sweep`], handing every audited encounter's findings to `each`.
pub fn sweep_with(
    store: &Store,
    terms: &Terminology,
    since: NaiveDate,
    mut each: impl FnMut(&SweptEncounter, &[Finding]) -> AppResult<()>,
) -> AppResult<SweepReport> {
    let started = Instant::now();
    let mut conn = store.db.read()?;
    let mut sql = crate::db::sql::Sql::new(ENCOUNTER_COLUMNS);
    sql.push("WHERE discharge_date >= ")
        .bind(since.to_string())
        .push(" ORDER BY discharge_date, rk");
    let encounters = conn.load::<EncounterRow>(&sql)?;
    let mut report = SweepReport::default();
    for enc in &encounters {
        let facts = facts_of(&mut conn, enc)?;
        let Ok((input, _)) = facts.to_input() else {
            report.skipped += 1;
            continue;
        };
        let findings = audit(&input, terms);
        report.encounters += 1;
        if findings.iter().any(|f| f.severity == Severity::Error) {
            report.with_errors += 1;
        }
        for f in &findings {
            report.by_edit.entry(f.edit).or_insert((f.severity, 0)).1 += 1;
        }
        let swept = SweptEncounter {
            id: enc.res_id.clone(),
            patient_id: enc.patient_id.clone(),
        };
        each(&swept, &findings)?;
    }
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}
