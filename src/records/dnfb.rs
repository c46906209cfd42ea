//! DNFB (discharged, not final billed): `GET /fhir/$dnfb?days=N` — encounters discharged N
//! or more days ago whose coding status is not `final`, oldest first, with counts per
//! status and the days each has been outstanding. Read from the encounter projection and
//! the coding-status index rows; answered as a Parameters or as CSV.

use chrono::NaiveDate;
use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use serde_json::{json, Value};

use super::coding_status::CodingStatus;
use crate::auth::Access;
use crate::db::sql::Sql;
use crate::error::{AppError, AppResult};
use crate::store::Store;

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = Text)]
    res_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    patient_id: Option<String>,
    #[diesel(sql_type = Text)]
    discharge_date: String,
    #[diesel(sql_type = Nullable<Text>)]
    attending_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    security: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    coding_status: Option<String>,
}

/// Age buckets of days outstanding: label, first day, last day.
const BUCKETS: [(&str, i64, i64); 5] = [
    ("0-3", 0, 3),
    ("4-7", 4, 7),
    ("8-14", 8, 14),
    ("15-30", 15, 30),
    (">30", 31, i64::MAX),
];

/// One encounter on the DNFB list.
#[derive(Debug, Clone)]
pub struct DnfbRow {
    pub encounter: String,
    pub patient: Option<String>,
    pub discharged: NaiveDate,
    pub days_outstanding: i64,
    pub coding_status: String,
    pub attending: Option<String>,
}

/// The DNFB list as of a day.
#[derive(Debug, Clone)]
pub struct Dnfb {
    pub days: i64,
    pub as_of: NaiveDate,
    pub rows: Vec<DnfbRow>,
}

/// Reads `days` (a whole number ≥ 0; default 0: every discharged encounter not final).
pub fn days_param(value: Option<&str>) -> AppResult<i64> {
    match value {
        None => Ok(0),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| *d >= 0)
            .ok_or_else(|| {
                AppError::invalid_at(
                    format!("days={text} is not a whole number of days (0 or more)"),
                    "days",
                )
            }),
    }
}

/// The DNFB list as of `as_of`, limited to what `access` may see.
pub fn dnfb(store: &Store, access: &Access, days: i64, as_of: NaiveDate) -> AppResult<Dnfb> {
    let cutoff = as_of - chrono::Duration::days(days);
    let denied = store.denied_patients(access, &["Encounter", "Patient"])?;
    let mut conn = store.db.read()?;
    let mut sql = Sql::new(
        "SELECT e.res_id, e.patient_id, e.discharge_date, e.attending_id, e.security, \
         t.code AS coding_status FROM encounter e LEFT JOIN idx_token t ON t.rk = e.rk \
         AND t.res_type = 'Encounter' AND t.param = 'coding-status' \
         WHERE e.status = 'finished' AND e.discharge_date IS NOT NULL AND e.discharge_date <= ",
    );
    sql.bind(cutoff.to_string())
        .push(" AND (t.code IS NULL OR t.code <> 'final')");
    if let Some(patient) = &access.patient {
        sql.push(" AND e.patient_id = ").bind(patient.as_str());
    }
    sql.push(" ORDER BY e.discharge_date, e.res_id");
    let rows = conn
        .load::<Row>(&sql)?
        .into_iter()
        .filter(|r| {
            let labels: Vec<String> = r
                .security
                .as_deref()
                .unwrap_or("")
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            access.label_allows(&labels)
                && !r.patient_id.as_ref().is_some_and(|p| denied.contains(p))
        })
        .filter_map(|r| {
            let day = r.discharge_date.get(..10).unwrap_or(&r.discharge_date);
            let discharged = NaiveDate::parse_from_str(day, "%Y-%m-%d").ok()?;
            Some(DnfbRow {
                encounter: r.res_id,
                patient: r.patient_id,
                discharged,
                days_outstanding: (as_of - discharged).num_days(),
                coding_status: r
                    .coding_status
                    .unwrap_or_else(|| CodingStatus::Uncoded.code().to_string()),
                attending: r.attending_id,
            })
        })
        .collect();
    Ok(Dnfb { days, as_of, rows })
}

impl Dnfb {
    /// Encounters per coding status (every status but final, in workflow order).
    pub fn counts(&self) -> Vec<(&'static str, usize)> {
        CodingStatus::ALL
            .into_iter()
            .filter(|s| *s != CodingStatus::Final)
            .map(|s| {
                let n = self
                    .rows
                    .iter()
                    .filter(|r| r.coding_status == s.code())
                    .count();
                (s.code(), n)
            })
            .collect()
    }

    /// Encounters per age bucket of days outstanding (0–3, 4–7, 8–14, 15–30, >30).
    pub fn buckets(&self) -> Vec<(&'static str, usize)> {
        BUCKETS
            .iter()
            .map(|(label, low, high)| {
                let n = self
                    .rows
                    .iter()
                    .filter(|r| (*low..=*high).contains(&r.days_outstanding))
                    .count();
                (*label, n)
            })
            .collect()
    }

    /// As a Parameters: `days`, `asOf`, `total`, `averageDaysOutstanding`, one `count` per
    /// status, one `age` per bucket of days outstanding, one `encounter` per row (encounter,
    /// patient, discharged, daysOutstanding, codingStatus, attending).
    pub fn to_parameters(&self) -> Value {
        let total = self.rows.len();
        let sum: i64 = self.rows.iter().map(|r| r.days_outstanding).sum();
        let average = if total == 0 {
            0.0
        } else {
            sum as f64 / total as f64
        };
        let mut parameter = vec![
            json!({"name": "days", "valueInteger": self.days}),
            json!({"name": "asOf", "valueDate": self.as_of.to_string()}),
            json!({"name": "total", "valueInteger": total}),
            json!({"name": "averageDaysOutstanding", "valueDecimal": (average * 10.0).round() / 10.0}),
        ];
        for (status, n) in self.counts() {
            parameter.push(json!({"name": "count", "part": [
                {"name": "codingStatus", "valueCode": status},
                {"name": "encounters", "valueInteger": n},
            ]}));
        }
        for (bucket, n) in self.buckets() {
            parameter.push(json!({"name": "age", "part": [
                {"name": "daysOutstanding", "valueString": bucket},
                {"name": "encounters", "valueInteger": n},
            ]}));
        }
        for r in &self.rows {
            let mut part = vec![
                json!({"name": "encounter", "valueReference": {"reference": format!("Encounter/{}", r.encounter)}}),
            ];
            if let Some(p) = &r.patient {
                part.push(json!({"name": "patient", "valueReference": {"reference": format!("Patient/{p}")}}));
            }
            part.push(json!({"name": "discharged", "valueDate": r.discharged.to_string()}));
            part.push(json!({"name": "daysOutstanding", "valueInteger": r.days_outstanding}));
            part.push(json!({"name": "codingStatus", "valueCode": r.coding_status}));
            if let Some(a) = &r.attending {
                part.push(json!({"name": "attending", "valueReference": {"reference": format!("Practitioner/{a}")}}));
            }
            parameter.push(json!({"name": "encounter", "part": part}));
        }
        json!({"resourceType": "Parameters", "parameter": parameter})
    }

    /// As CSV, one line per encounter after a header line.
    pub fn to_csv(&self) -> String {
        let mut out =
            String::from("encounter,patient,discharged,days_outstanding,coding_status,attending\n");
        for r in &self.rows {
            let fields = [
                csv_field(&r.encounter),
                csv_field(r.patient.as_deref().unwrap_or("")),
                r.discharged.to_string(),
                r.days_outstanding.to_string(),
                csv_field(&r.coding_status),
                csv_field(r.attending.as_deref().unwrap_or("")),
            ];
            out.push_str(&fields.join(","));
            out.push('\n');
        }
        out
    }
}

/// A CSV field, quoted when it holds a comma, quote or line break.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(encounter: &str, days: i64, status: &str) -> DnfbRow {
        DnfbRow {
            encounter: encounter.into(),
            patient: Some("p".into()),
            discharged: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            days_outstanding: days,
            coding_status: status.into(),
            attending: None,
        }
    }

    #[test]
    fn counts_buckets_and_csv() {
        let list = Dnfb {
            days: 0,
            as_of: NaiveDate::from_ymd_opt(2026, 2, 1).unwrap(),
            rows: vec![
                row("a", 0, "uncoded"),
                row("b,1", 9, "coded"),
                row("c", 45, "uncoded"),
            ],
        };
        assert_eq!(
            list.counts(),
            [("uncoded", 2), ("coded", 1), ("audited", 0)]
        );
        assert_eq!(
            list.buckets(),
            [
                ("0-3", 1),
                ("4-7", 0),
                ("8-14", 1),
                ("15-30", 0),
                (">30", 1)
            ]
        );
        let csv = list.to_csv();
        assert_eq!(csv.lines().nth(2), Some("\"b,1\",p,2026-01-01,9,coded,"));
        let p = list.to_parameters();
        assert_eq!(p["parameter"][2]["valueInteger"], 3);
        assert_eq!(p["parameter"][3]["valueDecimal"], 18.0);
        assert!(days_param(Some("-2")).is_err() && days_param(Some("x")).is_err());
        assert_eq!(days_param(None).unwrap(), 0);
    }
}
