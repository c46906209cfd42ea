//! SQL fragments every report shares: code-set membership, sealed-record exclusion, the
//! population seen in a period, patient strata (sex, age band, region). The only
//! backend-specific SQL of the reports (day differences, months of instants) is here too.

use super::caller::Caller;
use super::params::{CodeSet, Key, RegionLevel, ReportParams};
use crate::db::sql::Sql;
use crate::db::Backend;
use chrono::{Datelike, NaiveDate};

/// ICD-10-CM system URI.
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";

/// Encounter and resource statuses that never count.
pub const VOID_STATUSES: &str = "('entered-in-error', 'cancelled', 'not-done')";

/// Appends ` AND (<column> in spec)`: each item is a range of undotted keys compared on
/// the length of each end, exactly like `CodeSpec::contains`.
pub fn code_in(sql: &mut Sql, column: &str, spec: &CodeSet) {
    sql.push(" AND ");
    code_test(sql, column, spec);
}

/// `(<column> in spec)` without a leading AND: in a range, an exact key or a nested set,
/// and in no excluded set.
pub fn code_test(sql: &mut Sql, column: &str, spec: &CodeSet) {
    sql.push("((");
    let mut first = true;
    let mut or = |sql: &mut Sql| {
        if !std::mem::take(&mut first) {
            sql.push(" OR ");
        }
    };
    if !spec.ranges.is_empty() {
        or(sql);
        sql.key_in_ranges(column, &spec.ranges);
    }
    if !spec.exact.is_empty() {
        or(sql);
        sql.push(&format!("UPPER(REPLACE({column}, '.', '')) IN "))
            .bind_list(spec.exact.iter().map(String::as_str));
    }
    for nested in &spec.nested {
        or(sql);
        code_test(sql, column, nested);
    }
    if first {
        sql.push("1 = 0");
    }
    sql.push(")");
    for excluded in &spec.exclude {
        sql.push(" AND NOT ");
        code_test(sql, column, excluded);
    }
    sql.push(")");
}

/// Appends ` AND <alias>.rk NOT IN (<rows with a hidden label>)`.
pub fn unsealed(sql: &mut Sql, alias: &str, res_type: &str, caller: &Caller) {
    labelled(sql, alias, res_type, caller, "NOT IN");
}

/// Appends ` AND <alias>.rk IN (<rows with a hidden label>)` (nothing when none is hidden).
pub fn sealed(sql: &mut Sql, alias: &str, res_type: &str, caller: &Caller) {
    labelled(sql, alias, res_type, caller, "IN");
}

fn labelled(sql: &mut Sql, alias: &str, res_type: &str, caller: &Caller, op: &str) {
    if caller.hidden_labels.is_empty() {
        return;
    }
    sql.push(&format!(
        " AND {alias}.rk {op} (SELECT sl.rk FROM idx_token sl WHERE sl.res_type = '{res_type}' \
         AND sl.param = '_security' AND sl.code IN "
    ));
    sql.bind_list(caller.hidden_labels.iter().map(String::as_str))
        .push(")");
}

/// Appends ` AND <column> NOT IN (<consent-denied patients>)`.
pub fn not_denied(sql: &mut Sql, column: &str, caller: &Caller) {
    if caller.denied_patients.is_empty() {
        return;
    }
    sql.push(&format!(" AND {column} NOT IN "))
        .bind_list(caller.denied_patients.iter().map(String::as_str));
}

/// `seen AS (...)`: patients with a (not cancelled, visible) encounter overlapping the
/// period — the population seen, every rate's denominator.
pub fn seen_cte(sql: &mut Sql, p: &ReportParams, caller: &Caller) {
    sql.push(
        "seen AS (SELECT DISTINCT e.patient_id AS pid FROM encounter e \
         WHERE e.patient_id IS NOT NULL AND e.admit_date <= ",
    )
    .bind(p.end.to_string())
    .push(" AND COALESCE(e.discharge_date, e.admit_date) >= ")
    .bind(p.start.to_string())
    .push(&format!(
        " AND COALESCE(e.status, '') NOT IN {VOID_STATUSES}"
    ));
    unsealed(sql, "e", "Encounter", caller);
    sql.push(")");
}

/// The patient columns strata are made of: `pid, sex, age, region` (age in completed
/// years on `on`).
pub fn patient_columns(alias: &str, on: NaiveDate, region: RegionLevel) -> String {
    let year = on.year();
    let mmdd = format!("{:02}-{:02}", on.month(), on.day());
    let region = match region {
        RegionLevel::State => format!("COALESCE({alias}.state, 'unknown')"),
        RegionLevel::Zip3 => format!("COALESCE(SUBSTR({alias}.postal_code, 1, 3), 'unknown')"),
    };
    format!(
        "{alias}.res_id AS pid, COALESCE({alias}.gender, 'unknown') AS sex, \
         CASE WHEN {alias}.birth_date IS NULL THEN NULL ELSE \
         {year} - CAST(SUBSTR({alias}.birth_date, 1, 4) AS INTEGER) \
         - CASE WHEN SUBSTR({alias}.birth_date, 6, 5) > '{mmdd}' THEN 1 ELSE 0 END END AS age, \
         {region} AS region"
    )
}

/// `pop AS (...)`: the visible patients of `seen` with their strata columns.
pub fn pop_cte(sql: &mut Sql, p: &ReportParams, caller: &Caller) {
    sql.push(&format!(
        "pop AS (SELECT {} FROM patient p WHERE p.res_id IN (SELECT pid FROM seen)",
        patient_columns("p", p.end, p.region)
    ));
    unsealed(sql, "p", "Patient", caller);
    not_denied(sql, "p.res_id", caller);
    sql.push(")");
}

/// The SQL expression of one stratum key over a row with columns `sex`, `age`, `region`,
/// `month`, `practitioner`, `kind`.
fn key_expr(key: Key, p: &ReportParams) -> String {
    match key {
        Key::Sex => "COALESCE(sex, 'unknown')".into(),
        Key::Region => "COALESCE(region, 'unknown')".into(),
        Key::Month => "COALESCE(month, 'unknown')".into(),
        Key::Practitioner => "COALESCE(practitioner, 'unknown')".into(),
        Key::Kind => "kind".into(),
        Key::Chapter => "chapter".into(),
        Key::AgeBand => {
            let mut case = String::from("CASE WHEN age IS NULL THEN 'unknown'");
            for ((lo, hi), label) in p.age_bands.0.iter().zip(p.age_bands.labels()) {
                match hi {
                    Some(hi) => {
                        case.push_str(&format!(" WHEN age >= {lo} AND age <= {hi} THEN '{label}'"))
                    }
                    None => case.push_str(&format!(" WHEN age >= {lo} THEN '{label}'")),
                }
            }
            case.push_str(" ELSE 'other' END");
            case
        }
    }
}

/// The stratum of a row as one text column: the key values joined by `|` (empty with no keys).
pub fn stratum_expr(keys: &[Key], p: &ReportParams) -> String {
    if keys.is_empty() {
        return "''".into();
    }
    keys.iter()
        .map(|k| format!("REPLACE({}, '|', '/')", key_expr(*k, p)))
        .collect::<Vec<_>>()
        .join(" || '|' || ")
}

/// Whole days from date text `a` to date text `b` (`YYYY-MM-DD`).
pub fn day_diff(backend: Backend, a: &str, b: &str) -> String {
    match backend {
        Backend::Sqlite => format!("CAST(julianday({b}) - julianday({a}) AS BIGINT)"),
        Backend::Postgres => format!("CAST(CAST({b} AS DATE) - CAST({a} AS DATE) AS BIGINT)"),
    }
}

/// `YYYY-MM` (UTC) of an epoch-milliseconds column.
pub fn month_of_ms(backend: Backend, column: &str) -> String {
    match backend {
        Backend::Sqlite => format!("strftime('%Y-%m', {column} / 1000, 'unixepoch')"),
        Backend::Postgres => {
            format!("to_char(to_timestamp({column} / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM')")
        }
    }
}

/// Epoch milliseconds of the start of a day (UTC).
pub fn day_ms(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc().timestamp_millis())
        .unwrap_or_default()
}
