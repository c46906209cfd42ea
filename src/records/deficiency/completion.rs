//! `GET /fhir/$record-completion?period-start=&period-end=`: of the encounters discharged
//! (finished, `period.end` day) in the period, the share with no open deficiency, and the
//! median days from discharge until the last deficiency of a complete record closed
//! (0 for a record that never had one; a record completed before discharge counts 0).

use super::open_tasks;
use crate::db::sql::Sql;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use chrono::NaiveDate;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use serde_json::{json, Value};
use std::collections::HashMap;

const DAY_MS: f64 = 86_400_000.0;

/// The measured period, inclusive days.
#[derive(Debug, Clone, Copy)]
pub struct Period {
    pub start: NaiveDate,
    pub end: NaiveDate,
}

impl Period {
    /// From the `period-start` and `period-end` query parameters (400 when missing,
    /// not `YYYY-MM-DD`, or reversed).
    pub fn from_pairs(pairs: &[(String, String)]) -> AppResult<Period> {
        let day = |name: &str| -> AppResult<NaiveDate> {
            let value = pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
                .ok_or_else(|| AppError::invalid(format!("parameter '{name}' is required")))?;
            NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| {
                AppError::invalid(format!("{name} '{value}' is not a date like 2026-01-31"))
            })
        };
        let period = Period {
            start: day("period-start")?,
            end: day("period-end")?,
        };
        if period.end < period.start {
            return Err(AppError::invalid("period-end is before period-start"));
        }
        Ok(period)
    }
}

/// The completion figures of one period.
#[derive(Debug, Clone)]
pub struct Completion {
    pub period: Period,
    pub discharged: usize,
    pub complete: usize,
    pub median_days: Option<f64>,
}

#[derive(QueryableByName)]
struct DischargeRow {
    #[diesel(sql_type = Text)]
    res_id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    period_end: Option<i64>,
}

/// The median of `values` (None when empty).
pub fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] + values[mid]) / 2.0
    } else {
        values[mid]
    })
}

/// Computes the record-completion rate of `period`.
pub fn record_completion(store: &Store, period: Period) -> AppResult<Completion> {
    let mut conn = store.db.read()?;
    let mut sql = Sql::new(
        "SELECT res_id, period_end FROM encounter WHERE status = 'finished' AND discharge_date >= ",
    );
    sql.bind(period.start.to_string())
        .push(" AND discharge_date <= ")
        .bind(period.end.to_string());
    let encounters = conn.load::<DischargeRow>(&sql)?;
    let ids: Vec<String> = encounters.iter().map(|e| e.res_id.clone()).collect();
    let mut tasks: HashMap<String, Vec<open_tasks::TaskFacts>> = HashMap::new();
    for task in open_tasks::of_encounters(&mut conn, &ids)? {
        if let Some(enc) = task.encounter.clone() {
            tasks.entry(enc).or_default().push(task);
        }
    }
    let mut days = Vec::new();
    for enc in &encounters {
        let own = tasks.get(&enc.res_id).map(Vec::as_slice).unwrap_or(&[]);
        if own.iter().any(|t| t.is_open()) {
            continue;
        }
        let done = own.iter().filter_map(|t| t.closed).max();
        let waited = match (done, enc.period_end) {
            (Some(done), Some(discharged)) => ((done - discharged) as f64 / DAY_MS).max(0.0),
            _ => 0.0,
        };
        days.push(waited);
    }
    Ok(Completion {
        period,
        discharged: encounters.len(),
        complete: days.len(),
        median_days: median(days),
    })
}

impl Completion {
    /// As a FHIR `Parameters` resource.
    pub fn to_parameters(&self) -> Value {
        let rate = if self.discharged == 0 {
            0.0
        } else {
            self.complete as f64 / self.discharged as f64
        };
        let round = |v: f64| (v * 10_000.0).round() / 10_000.0;
        let mut parameter = vec![
            json!({"name": "period-start", "valueDate": self.period.start.to_string()}),
            json!({"name": "period-end", "valueDate": self.period.end.to_string()}),
            json!({"name": "discharged", "valueInteger": self.discharged}),
            json!({"name": "complete", "valueInteger": self.complete}),
            json!({"name": "incomplete", "valueInteger": self.discharged - self.complete}),
            json!({"name": "completion-rate", "valueDecimal": round(rate)}),
        ];
        if let Some(median) = self.median_days {
            parameter
                .push(json!({"name": "median-days-to-complete", "valueDecimal": round(median)}));
        }
        json!({"resourceType": "Parameters", "parameter": parameter})
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_of_odd_and_even() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![3.0, 1.0, 2.0]), Some(2.0));
        assert_eq!(median(vec![4.0, 1.0, 2.0, 3.0]), Some(2.5));
    }

    #[test]
    fn period_is_checked() {
        let pairs = |a: &str, b: &str| {
            vec![
                ("period-start".to_string(), a.to_string()),
                ("period-end".to_string(), b.to_string()),
            ]
        };
        assert!(Period::from_pairs(&pairs("2026-01-01", "2026-01-31")).is_ok());
        assert!(Period::from_pairs(&pairs("2026-02-01", "2026-01-31")).is_err());
        assert!(Period::from_pairs(&pairs("01/02/2026", "2026-01-31")).is_err());
        assert!(Period::from_pairs(&[]).is_err());
    }
}
