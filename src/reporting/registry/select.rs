//! The SQL of an extract, over the typed projections: one page of qualifying patients at a
//! time (keyset on the patient id), then the row keys of each page's resources. The SQL
//! pre-filters by ICD-10-CM category; the exact code test runs on the loaded resources.

use super::definition::{Definition, PeriodRule};
use crate::db::rows::{KeyRow, VersionRow};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::ICD10CM;
use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde_json::Value;

/// The reporting period as calendar dates (`YYYY-MM-DD`, both ends inclusive).
#[derive(Debug, Clone, Default)]
pub struct Period {
    pub start: Option<String>,
    pub end: Option<String>,
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Appends the qualifying-condition test on alias `c`.
fn qualifying(sql: &mut Sql, definition: &Definition, period: &Period) {
    sql.push(" c.code_system = ").bind(ICD10CM).push(" AND (");
    for (i, (lo, hi)) in definition.category_bounds().into_iter().enumerate() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("UPPER(SUBSTR(c.code, 1, 3)) BETWEEN ")
            .bind(lo)
            .push(" AND ")
            .bind(hi);
    }
    sql.push(") AND (c.verification_status IS NULL OR c.verification_status NOT IN ('refuted', 'entered-in-error'))");
    let diagnosed = "COALESCE(c.onset_date, c.recorded_date)";
    match definition.period_rule {
        PeriodRule::Diagnosed => {
            if let Some(start) = &period.start {
                sql.push(&format!(" AND {diagnosed} >= "))
                    .bind(start.as_str());
            }
            if let Some(end) = &period.end {
                sql.push(&format!(" AND {diagnosed} <= "))
                    .bind(end.as_str());
            }
        }
        PeriodRule::Active => {
            if let Some(end) = &period.end {
                sql.push(&format!(" AND ({diagnosed} IS NULL OR {diagnosed} <= "))
                    .bind(end.as_str())
                    .push(")");
            }
            if let Some(start) = &period.start {
                sql.push(" AND (c.abatement_date IS NULL OR c.abatement_date >= ")
                    .bind(start.as_str())
                    .push(")");
            }
        }
    }
}

/// The next `limit` candidate patient ids after `after`, in id order.
pub fn patient_page(
    conn: &mut Conn,
    definition: &Definition,
    period: &Period,
    after: &str,
    limit: usize,
) -> AppResult<Vec<String>> {
    let mut sql = Sql::new(
        "SELECT DISTINCT c.patient_id AS id FROM condition c WHERE c.patient_id IS NOT NULL AND c.patient_id > ",
    );
    sql.bind(after).push(" AND");
    qualifying(&mut sql, definition, period);
    sql.push(" ORDER BY c.patient_id LIMIT ").bind(limit as i64);
    Ok(conn
        .load::<IdRow>(&sql)?
        .into_iter()
        .map(|r| r.id)
        .collect())
}

/// Current resources of one page: (type, JSON) per resource, deleted ones left out.
pub struct PageResources {
    pub patients: Vec<Value>,
    pub conditions: Vec<Value>,
    pub observations: Vec<Value>,
    pub procedures: Vec<Value>,
    pub medications: Vec<Value>,
}

fn rks(conn: &mut Conn, mut sql: Sql, column: &str, patients: &[String]) -> AppResult<Vec<i64>> {
    sql.push(&format!(" AND {column} IN "))
        .bind_list(patients.iter().map(String::as_str));
    Ok(conn
        .load::<KeyRow>(&sql)?
        .into_iter()
        .map(|r| r.rk)
        .collect())
}

fn contents(conn: &mut Conn, rks: &[i64]) -> AppResult<Vec<Value>> {
    let mut rows: Vec<(i64, VersionRow)> = crate::db::resources::read_many(conn, rks)?;
    rows.sort_by_key(|(rk, _)| *rk);
    Ok(rows
        .into_iter()
        .filter(|(_, row)| row.deleted == 0)
        .filter_map(|(_, row)| row.content.and_then(|c| serde_json::from_str(&c).ok()))
        .collect())
}

/// Loads what the registry sends for these patients.
pub fn page_resources(
    conn: &mut Conn,
    definition: &Definition,
    period: &Period,
    patients: &[String],
) -> AppResult<PageResources> {
    let patient_rks = rks(
        conn,
        Sql::new("SELECT p.rk AS rk FROM patient p WHERE 1 = 1"),
        "p.res_id",
        patients,
    )?;
    let mut conditions = Sql::new("SELECT c.rk AS rk FROM condition c WHERE");
    qualifying(&mut conditions, definition, period);
    let condition_rks = rks(conn, conditions, "c.patient_id", patients)?;
    let codes = definition.observation_codes();
    let observation_rks = if codes.is_empty() {
        Vec::new()
    } else {
        let mut sql = Sql::new("SELECT DISTINCT o.rk AS rk FROM observation o WHERE o.code IN ");
        sql.bind_list(codes);
        rks(conn, sql, "o.patient_id", patients)?
    };
    let procedure_rks = if definition.treatment.procedures {
        rks(
            conn,
            Sql::new("SELECT x.rk AS rk FROM procedure_ x WHERE 1 = 1"),
            "x.patient_id",
            patients,
        )?
    } else {
        Vec::new()
    };
    let medication_rks = if definition.treatment.medications {
        rks(
            conn,
            Sql::new("SELECT m.rk AS rk FROM medication_request m WHERE 1 = 1"),
            "m.patient_id",
            patients,
        )?
    } else {
        Vec::new()
    };
    Ok(PageResources {
        patients: contents(conn, &patient_rks)?,
        conditions: contents(conn, &condition_rks)?,
        observations: contents(conn, &observation_rks)?,
        procedures: contents(conn, &procedure_rks)?,
        medications: contents(conn, &medication_rks)?,
    })
}
