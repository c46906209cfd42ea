//! The index SQL: one SELECT per kind of row (diagnosis, procedure, encounter) over the
//! typed projections, wrapped so period, practitioner and paging apply to all alike.

use super::{IndexKind, IndexRequest};
use crate::auth::Access;
use crate::db::rows::CountRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{ICD10CM, ICD10PCS};
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

/// One line of an index.
#[derive(Debug, Clone, QueryableByName)]
pub struct IndexRow {
    /// `diagnosis`, `procedure` or `encounter`.
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = BigInt)]
    pub rk: i64,
    #[diesel(sql_type = Text)]
    pub res_type: String,
    #[diesel(sql_type = Text)]
    pub res_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub display: Option<String>,
    /// The row's date: admission (diagnoses, encounters) or performance (procedures).
    #[diesel(sql_type = Nullable<Text>)]
    pub event_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub patient_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub family: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub given: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub birth_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub gender: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub encounter_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub admit_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub discharge_date: Option<String>,
    /// Attending (diagnoses, encounters) or performer (procedures).
    #[diesel(sql_type = Nullable<Text>)]
    pub practitioner_id: Option<String>,
    /// `Encounter.diagnosis.rank` (1 = principal).
    #[diesel(sql_type = Nullable<BigInt>)]
    pub dx_rank: Option<i64>,
}

const PATIENT_COLUMNS: &str =
    "p.family AS family, p.given AS given, p.birth_date AS birth_date, p.gender AS gender";
const ENCOUNTER_COLUMNS: &str =
    "e.res_id AS encounter_id, e.admit_date AS admit_date, e.discharge_date AS discharge_date";

fn diagnoses() -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT 'diagnosis' AS kind, c.rk AS rk, 'Condition' AS res_type, c.res_id AS res_id, \
         c.code AS code, c.display AS display, \
         COALESCE(e.admit_date, c.recorded_date, c.onset_date) AS event_date, c.patient_id AS patient_id, \
         {PATIENT_COLUMNS}, {ENCOUNTER_COLUMNS}, e.attending_id AS practitioner_id, \
         CAST(d.rank AS BIGINT) AS dx_rank \
         FROM condition c LEFT JOIN encounter e ON e.res_id = c.encounter_id \
         LEFT JOIN encounter_diagnosis d ON d.enc_rk = e.rk AND d.condition_id = c.res_id \
         LEFT JOIN patient p ON p.res_id = c.patient_id WHERE c.code_system = "
    ));
    sql.bind(ICD10CM);
    sql
}

fn procedures() -> Sql {
    let mut sql = Sql::new(&format!(
        "SELECT 'procedure' AS kind, pr.rk AS rk, 'Procedure' AS res_type, pr.res_id AS res_id, \
         pr.code AS code, pr.display AS display, \
         COALESCE(pr.performed_date, e.admit_date) AS event_date, pr.patient_id AS patient_id, \
         {PATIENT_COLUMNS}, {ENCOUNTER_COLUMNS}, pr.performer_id AS practitioner_id, \
         CAST(NULL AS BIGINT) AS dx_rank \
         FROM procedure_ pr LEFT JOIN encounter e ON e.res_id = pr.encounter_id \
         LEFT JOIN patient p ON p.res_id = pr.patient_id WHERE pr.code_system = "
    ));
    sql.bind(ICD10PCS);
    sql
}

fn encounters() -> Sql {
    Sql::new(&format!(
        "SELECT 'encounter' AS kind, e.rk AS rk, 'Encounter' AS res_type, e.res_id AS res_id, \
         e.type_code AS code, CAST(NULL AS TEXT) AS display, \
         e.admit_date AS event_date, e.patient_id AS patient_id, \
         {PATIENT_COLUMNS}, {ENCOUNTER_COLUMNS}, e.attending_id AS practitioner_id, \
         CAST(NULL AS BIGINT) AS dx_rank \
         FROM encounter e LEFT JOIN patient p ON p.res_id = e.patient_id WHERE e.attending_id IS NOT NULL"
    ))
}

/// `AND (ranges)` on the undotted, upper-case form of `column`.
fn code_filter(sql: &mut Sql, column: &str, ranges: &[(String, String)]) {
    if !ranges.is_empty() {
        sql.push(" AND ").key_in_ranges(column, ranges);
    }
}

/// Hides rows whose own record, encounter or patient carries a label the caller lacks,
/// rows of Consent-denied patients, and other patients' rows for a patient-scoped caller.
fn access_filter(
    sql: &mut Sql,
    aliases: &[&str],
    patient_column: &str,
    access: &Access,
    denied: &[String],
) {
    for alias in aliases {
        for label in &access.hidden_labels {
            sql.push(&format!(
                " AND ({alias}.security IS NULL OR (',' || {alias}.security || ',') NOT LIKE "
            ))
            .bind(format!("%,{label},%"))
            .push(")");
        }
    }
    if let Some(patient) = &access.patient {
        sql.push(&format!(" AND {patient_column} = "))
            .bind(patient.as_str());
    }
    if !denied.is_empty() {
        sql.push(&format!(
            " AND ({patient_column} IS NULL OR {patient_column} NOT IN "
        ))
        .bind_list(denied.iter().map(String::as_str))
        .push(")");
    }
}

/// The UNION of the row kinds this index lists, every filter but period and practitioner applied.
fn branches(request: &IndexRequest, access: &Access, denied: &[String]) -> Sql {
    let mut parts: Vec<Sql> = Vec::new();
    if request.kind != IndexKind::Procedure {
        let mut sql = diagnoses();
        code_filter(&mut sql, "c.code", &request.code_ranges);
        access_filter(&mut sql, &["c", "e", "p"], "c.patient_id", access, denied);
        parts.push(sql);
    }
    if request.kind != IndexKind::Disease {
        let mut sql = procedures();
        code_filter(&mut sql, "pr.code", &request.code_ranges);
        access_filter(&mut sql, &["pr", "e", "p"], "pr.patient_id", access, denied);
        parts.push(sql);
    }
    if request.kind == IndexKind::Physician {
        let mut sql = encounters();
        access_filter(&mut sql, &["e", "p"], "e.patient_id", access, denied);
        parts.push(sql);
    }
    let mut out = Sql::new("");
    for (i, part) in parts.into_iter().enumerate() {
        if i > 0 {
            out.push(" UNION ALL ");
        }
        out.append(part);
    }
    out
}

fn outer_filter(sql: &mut Sql, request: &IndexRequest) {
    sql.push(" WHERE 1 = 1");
    if let Some(start) = &request.period_start {
        sql.push(" AND x.event_date >= ").bind(start.as_str());
    }
    if let Some(end) = &request.period_end {
        sql.push(" AND x.event_date <= ").bind(end.as_str());
    }
    if request.kind == IndexKind::Physician {
        sql.push(" AND x.practitioner_id IS NOT NULL");
    }
    if let Some(practitioner) = &request.practitioner {
        sql.push(" AND x.practitioner_id = ")
            .bind(practitioner.as_str());
    }
}

/// The total and one page of rows.
pub fn page(
    conn: &mut Conn,
    request: &IndexRequest,
    access: &Access,
    denied: &[String],
) -> AppResult<(i64, Vec<IndexRow>)> {
    let mut count = Sql::new("SELECT COUNT(*) AS n FROM (");
    count.append(branches(request, access, denied)).push(") x");
    outer_filter(&mut count, request);
    let total = conn.first::<CountRow>(&count)?.map_or(0, |r| r.n);
    let mut sql = Sql::new("SELECT x.* FROM (");
    sql.append(branches(request, access, denied)).push(") x");
    outer_filter(&mut sql, request);
    sql.push(match request.kind {
        IndexKind::Physician => {
            " ORDER BY x.practitioner_id, COALESCE(x.event_date, ''), x.kind, x.res_id"
        }
        _ => " ORDER BY x.code, COALESCE(x.event_date, ''), x.res_id",
    });
    sql.push(" LIMIT ")
        .bind(request.count as i64)
        .push(" OFFSET ")
        .bind(request.offset as i64);
    let rows = conn.load::<IndexRow>(&sql)?;
    Ok((total, rows))
}
