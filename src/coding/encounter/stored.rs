//! Audit input of a stored encounter, read from the typed projections (encounter,
//! encounter_diagnosis → condition, procedure_, patient).

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;
use serde_json::Value;

use super::facts::{day, DxFact, EncounterFacts, PxFact};
use crate::coding::{audit, Finding, Terminology};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::store::Store;

#[derive(QueryableByName)]
pub(super) struct EncounterRow {
    #[diesel(sql_type = BigInt)]
    pub rk: i64,
    #[diesel(sql_type = Text)]
    pub res_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub patient_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub class_code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub admit_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub discharge_date: Option<String>,
}

/// The columns [`EncounterRow`] reads.
pub(super) const ENCOUNTER_COLUMNS: &str =
    "SELECT rk, res_id, patient_id, class_code, admit_date, discharge_date FROM encounter ";

#[derive(QueryableByName)]
struct DxRow {
    #[diesel(sql_type = BigInt)]
    ordinal: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    rank: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    poa: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    code_system: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    code: Option<String>,
}

#[derive(QueryableByName)]
struct PxRow {
    #[diesel(sql_type = Text)]
    res_id: String,
    #[diesel(sql_type = Nullable<Text>)]
    code_system: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    code: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    performed_date: Option<String>,
}

#[derive(QueryableByName)]
struct PatientRow {
    #[diesel(sql_type = Nullable<Text>)]
    birth_date: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    gender: Option<String>,
}

/// Reads the facts of one encounter row.
pub(super) fn facts_of(conn: &mut Conn, enc: &EncounterRow) -> AppResult<EncounterFacts> {
    let mut sql = Sql::new(
        "SELECT CAST(d.ordinal AS BIGINT) AS ordinal, CAST(d.rank AS BIGINT) AS rank, d.poa, \
         c.code_system, c.code FROM encounter_diagnosis d \
         LEFT JOIN condition c ON c.res_id = d.condition_id WHERE d.enc_rk = ",
    );
    sql.bind(enc.rk).push(" ORDER BY d.ordinal");
    let diagnoses = conn
        .load::<DxRow>(&sql)?
        .into_iter()
        .map(|d| DxFact {
            expression: format!("Encounter.diagnosis[{}]", d.ordinal),
            rank: d.rank,
            poa: d.poa,
            coding: d.code_system.zip(d.code),
        })
        .collect();
    let mut sql = Sql::new(
        "SELECT res_id, code_system, code, performed_date FROM procedure_ \
         WHERE (status IS NULL OR status NOT IN ('not-done', 'entered-in-error')) AND encounter_id = ",
    );
    sql.bind(enc.res_id.as_str())
        .push(" ORDER BY performed_start, res_id");
    let procedures = conn
        .load::<PxRow>(&sql)?
        .into_iter()
        .map(|p| PxFact {
            expression: format!("Procedure.where(id = '{}').code", p.res_id),
            coding: p.code_system.zip(p.code),
            date: day(p.performed_date.as_deref()),
        })
        .collect();
    let patient = match &enc.patient_id {
        Some(id) => {
            let mut sql = Sql::new("SELECT birth_date, gender FROM patient WHERE res_id = ");
            sql.bind(id.as_str());
            conn.first::<PatientRow>(&sql)?
        }
        None => None,
    };
    Ok(EncounterFacts {
        label: format!("Encounter/{}", enc.res_id),
        class: enc.class_code.clone(),
        admit: day(enc.admit_date.as_deref()),
        discharge: day(enc.discharge_date.as_deref()),
        birth_date: patient.as_ref().and_then(|p| day(p.birth_date.as_deref())),
        gender: patient.and_then(|p| p.gender),
        diagnoses,
        procedures,
    })
}

/// The encounter row of `id` (404 for an unknown or deleted encounter).
fn encounter_row(conn: &mut Conn, id: &str) -> AppResult<EncounterRow> {
    let mut sql = Sql::new(ENCOUNTER_COLUMNS);
    sql.push("WHERE res_id = ").bind(id);
    conn.first::<EncounterRow>(&sql)?
        .ok_or_else(|| AppError::NotFound(format!("Encounter/{id} is not known")))
}

/// The audit findings of stored encounter `id`, read on `conn` (so a caller's transaction
/// sees its own writes). 404 for an unknown encounter, 422 when the age is unknown.
pub fn encounter_findings(
    conn: &mut Conn,
    terms: &Terminology,
    id: &str,
) -> AppResult<Vec<Finding>> {
    let enc = encounter_row(conn, id)?;
    let (input, _) = facts_of(conn, &enc)?.to_input()?;
    Ok(audit(&input, terms))
}

/// `Encounter/{id}/$audit-coding`: the OperationOutcome of the audit (404 for an unknown
/// or deleted encounter).
pub fn audit_encounter(store: &Store, terms: &Terminology, id: &str) -> AppResult<Value> {
    let mut conn = store.db.read()?;
    let enc = encounter_row(&mut conn, id)?;
    let facts = facts_of(&mut conn, &enc)?;
    let (input, notes) = facts.to_input()?;
    let findings = audit(&input, terms);
    Ok(super::findings_outcome(&facts.label, &findings, notes))
}
