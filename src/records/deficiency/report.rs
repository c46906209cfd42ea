//! `GET /fhir/$deficiency-report`: open deficiencies per responsible practitioner in age
//! buckets (days since `executionPeriod.start`: 0–7, 8–14, 15–30, over 30 = delinquent),
//! with the open count per deficiency kind, as a FHIR `Parameters` resource or CSV.

use super::open_tasks::{self, TaskFacts};
use crate::error::AppResult;
use crate::fhir::json::instant;
use crate::store::Store;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const DAY_MS: i64 = 86_400_000;

/// Open deficiencies of one owner (None: unassigned).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row {
    pub owner: Option<String>,
    pub open: usize,
    /// 0–7, 8–14, 15–30 days, and over 30 days (delinquent).
    pub buckets: [usize; 4],
    pub oldest_days: i64,
    /// Open deficiencies per kind code.
    pub by_kind: BTreeMap<String, usize>,
}

/// The report: one row per owner (unassigned last) and the total.
#[derive(Debug, Clone, Default)]
pub struct DeficiencyReport {
    pub generated: i64,
    pub rows: Vec<Row>,
    pub total: Row,
}

/// Bucket index of an age in whole days.
pub fn bucket(days: i64) -> usize {
    match days {
        i64::MIN..=7 => 0,
        8..=14 => 1,
        15..=30 => 2,
        _ => 3,
    }
}

impl Row {
    fn count(&mut self, days: i64, kind: &str) {
        self.open += 1;
        *self.by_kind.entry(kind.to_string()).or_default() += 1;
        self.buckets[bucket(days)] += 1;
        self.oldest_days = self.oldest_days.max(days);
    }
}

/// Groups open deficiency Tasks by owner as of `now`.
pub fn build(tasks: &[TaskFacts], now: i64) -> DeficiencyReport {
    let mut by_owner: BTreeMap<(bool, String), Row> = BTreeMap::new();
    let mut total = Row::default();
    for task in tasks.iter().filter(|t| t.is_open()) {
        let days = task.opened.map_or(0, |start| (now - start).max(0) / DAY_MS);
        let key = (task.owner.is_none(), task.owner.clone().unwrap_or_default());
        let row = by_owner.entry(key).or_insert_with(|| Row {
            owner: task.owner.clone(),
            ..Row::default()
        });
        row.count(days, &task.kind);
        total.count(days, &task.kind);
    }
    DeficiencyReport {
        generated: now,
        rows: by_owner.into_values().collect(),
        total,
    }
}

/// The report over the store's open deficiency Tasks.
pub fn deficiency_report(store: &Store, now: i64) -> AppResult<DeficiencyReport> {
    let tasks = open_tasks::open(&mut store.db.read()?)?;
    Ok(build(&tasks, now))
}

const BUCKET_NAMES: [&str; 4] = ["days-0-7", "days-8-14", "days-15-30", "delinquent"];

fn parts(row: &Row) -> Vec<Value> {
    let mut parts = vec![match &row.owner {
        Some(owner) => json!({"name": "owner", "valueReference": {"reference": owner}}),
        None => json!({"name": "owner", "valueString": "unassigned"}),
    }];
    parts.push(json!({"name": "open", "valueInteger": row.open}));
    for (name, n) in BUCKET_NAMES.iter().zip(row.buckets) {
        parts.push(json!({"name": name, "valueInteger": n}));
    }
    parts.push(json!({"name": "oldest-days", "valueInteger": row.oldest_days}));
    for (kind, n) in &row.by_kind {
        parts.push(json!({"name": "kind", "part": [
            {"name": "code", "valueCoding": {"system": super::kind::SYSTEM, "code": kind}},
            {"name": "open", "valueInteger": n}
        ]}));
    }
    parts
}

impl DeficiencyReport {
    /// As a FHIR `Parameters` resource: `generated`, one `practitioner` per owner, `total`.
    pub fn to_parameters(&self) -> Value {
        let mut parameter =
            vec![json!({"name": "generated", "valueDateTime": instant(self.generated)})];
        for row in &self.rows {
            parameter.push(json!({"name": "practitioner", "part": parts(row)}));
        }
        let mut total = parts(&self.total);
        total.remove(0);
        parameter.push(json!({"name": "total", "part": total}));
        json!({"resourceType": "Parameters", "parameter": parameter})
    }

    /// As CSV: one line per owner (`unassigned` for none), then `TOTAL`.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "owner,open,days_0_7,days_8_14,days_15_30,delinquent_over_30,oldest_days\n",
        );
        let line = |out: &mut String, owner: &str, row: &Row| {
            let [a, b, c, d] = row.buckets;
            out.push_str(&format!(
                "{owner},{},{a},{b},{c},{d},{}\n",
                row.open, row.oldest_days
            ));
        };
        for row in &self.rows {
            line(&mut out, row.owner.as_deref().unwrap_or("unassigned"), row);
        }
        line(&mut out, "TOTAL", &self.total);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(owner: Option<&str>, days_old: i64, status: &str, now: i64) -> TaskFacts {
        TaskFacts {
            id: "t".into(),
            kind: "missing-principal".into(),
            status: status.into(),
            owner: owner.map(str::to_string),
            focus: None,
            encounter: None,
            opened: Some(now - days_old * DAY_MS - 1000),
            closed: None,
        }
    }

    #[test]
    fn buckets_edges() {
        assert_eq!(
            [0, 7, 8, 14, 15, 30, 31, 400].map(bucket),
            [0, 0, 1, 1, 2, 2, 3, 3]
        );
    }

    #[test]
    fn groups_by_owner_and_skips_closed() {
        let now = 1_800_000_000_000;
        let tasks = vec![
            task(Some("Practitioner/a"), 1, "requested", now),
            task(Some("Practitioner/a"), 40, "in-progress", now),
            task(Some("Practitioner/b"), 10, "requested", now),
            task(None, 20, "requested", now),
            task(Some("Practitioner/b"), 90, "completed", now),
        ];
        let report = build(&tasks, now);
        assert_eq!(report.rows.len(), 3);
        assert_eq!(report.rows[0].buckets, [1, 0, 0, 1]);
        assert_eq!(report.rows[0].oldest_days, 40);
        assert_eq!(report.rows[2].owner, None);
        assert_eq!(report.total.buckets, [1, 1, 1, 1]);
        assert_eq!(report.total.by_kind["missing-principal"], 4);
        let csv = report.to_csv();
        assert!(csv.contains("Practitioner/b,1,0,1,0,0,10\n"));
        assert!(csv.ends_with("TOTAL,4,1,1,1,1,40\n"));
    }
}
