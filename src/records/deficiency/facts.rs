//! What the rules need from outside the record itself, by index lookups: documents filed
//! for an encounter or a procedure, the responsible practitioner, the records of an
//! encounter. Reads see the open transaction's own writes.

use super::rules::DISCHARGE_SUMMARY;
use crate::db::resources;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{codeable_first, reference_parts};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde_json::Value;

const LOINC: &str = "http://loinc.org";

/// DocumentReferences whose `param` reference names `target_type/target_id`, optionally of
/// LOINC `types`, not entered in error.
fn documents(
    target_type: &str,
    target_id: &str,
    param: &str,
    types: Option<&[&str]>,
    limit: Option<i64>,
) -> Sql {
    let mut sql = Sql::new(
        "SELECT x.rk AS rk FROM idx_reference x WHERE x.res_type = 'DocumentReference' AND x.param = ",
    );
    sql.bind(param)
        .push(" AND x.target_id = ")
        .bind(target_id)
        .push(" AND x.target_type = ")
        .bind(target_type);
    if let Some(types) = types {
        sql.push(
            " AND EXISTS (SELECT 1 FROM idx_token t WHERE t.rk = x.rk AND t.param = 'type' AND t.system = ",
        )
        .bind(LOINC)
        .push(" AND t.code IN ")
        .bind_list(types.iter().copied())
        .push(")");
    }
    sql.push(
        " AND NOT EXISTS (SELECT 1 FROM idx_token s WHERE s.rk = x.rk AND s.param = 'status' \
         AND s.code = 'entered-in-error')",
    );
    if let Some(limit) = limit {
        // a literal: a bound LIMIT makes SQLite prepare the statement again at every run
        sql.push(&format!(" LIMIT {limit}"));
    }
    // one text per caller: the types and limits are constants
    sql.keep_prepared();
    sql
}

/// True when a DocumentReference (of LOINC `types`, when given) is filed for the encounter.
pub fn encounter_documented(
    conn: &mut Conn,
    encounter_id: &str,
    types: Option<&[&str]>,
) -> AppResult<bool> {
    let sql = documents("Encounter", encounter_id, "encounter", types, Some(1));
    Ok(conn.first::<KeyRow>(&sql)?.is_some())
}

/// True when a DocumentReference names the procedure in `context.related`.
pub fn procedure_related(conn: &mut Conn, procedure_id: &str) -> AppResult<bool> {
    let sql = documents("Procedure", procedure_id, "related", None, Some(1));
    Ok(conn.first::<KeyRow>(&sql)?.is_some())
}

/// The discharge-summary DocumentReferences (LOINC 18842-5) filed for the encounter.
pub fn discharge_summaries(conn: &mut Conn, encounter_id: &str) -> AppResult<Vec<Value>> {
    let sql = documents(
        "Encounter",
        encounter_id,
        "encounter",
        Some(&[DISCHARGE_SUMMARY]),
        None,
    );
    let rks: Vec<i64> = conn
        .load::<KeyRow>(&sql)?
        .into_iter()
        .map(|r| r.rk)
        .collect();
    Ok(resources::read_many(conn, &rks)?
        .into_iter()
        .filter_map(|(_, row)| row.content.and_then(|c| serde_json::from_str(&c).ok()))
        .collect())
}

/// The current content of `res_type/id`; None when unknown or deleted.
pub fn current(conn: &mut Conn, res_type: &str, id: &str) -> AppResult<Option<Value>> {
    Ok(resources::read_current(conn, res_type, id)?
        .filter(|row| row.deleted == 0)
        .and_then(|row| row.content)
        .and_then(|c| serde_json::from_str(&c).ok()))
}

/// `(type, id)` of a Reference element.
pub fn reference(value: Option<&Value>) -> Option<(String, String)> {
    value
        .and_then(|r| r.get("reference"))
        .and_then(Value::as_str)
        .and_then(reference_parts)
}

/// The id a reference element names when it is of `res_type`.
pub fn reference_of(value: Option<&Value>, res_type: &str) -> Option<String> {
    reference(value)
        .filter(|(t, _)| t == res_type)
        .map(|(_, id)| id)
}

/// The encounter's responsible practitioner: the attending (`participant.type` ATND), else
/// the first participant, counting only participants that are Practitioners.
pub fn attending(encounter: &Value) -> Option<String> {
    let participants: Vec<(bool, String)> = encounter
        .get("participant")
        .and_then(Value::as_array)?
        .iter()
        .filter_map(|p| {
            let id = reference_of(p.get("individual"), "Practitioner")?;
            let atnd = p.get("type").and_then(Value::as_array).is_some_and(|ts| {
                ts.iter()
                    .any(|t| codeable_first(t, None).is_some_and(|(_, c, _)| c == "ATND"))
            });
            Some((atnd, id))
        })
        .collect();
    participants
        .iter()
        .find(|(atnd, _)| *atnd)
        .or_else(|| participants.first())
        .map(|(_, id)| id.clone())
}

#[derive(QueryableByName)]
struct IdRow {
    #[diesel(sql_type = Text)]
    res_id: String,
}

/// Ids of the Conditions and Procedures recorded for an encounter (typed projections).
pub fn records_of_encounter(
    conn: &mut Conn,
    encounter_id: &str,
) -> AppResult<Vec<(&'static str, String)>> {
    let mut out = Vec::new();
    for (res_type, table) in [("Condition", "condition"), ("Procedure", "procedure_")] {
        let mut sql = Sql::new(&format!("SELECT res_id FROM {table} WHERE encounter_id = "));
        sql.bind(encounter_id);
        out.extend(
            conn.load::<IdRow>(sql.keep_prepared())?
                .into_iter()
                .map(|r| (res_type, r.res_id)),
        );
    }
    Ok(out)
}

/// The patient's most recent encounter that names a responsible practitioner.
pub fn latest_attended_encounter(conn: &mut Conn, patient_id: &str) -> AppResult<Option<Value>> {
    let mut sql =
        Sql::new("SELECT res_id FROM encounter WHERE attending_id IS NOT NULL AND patient_id = ");
    sql.bind(patient_id)
        .push(" ORDER BY (period_start IS NULL), period_start DESC, rk DESC LIMIT 5");
    for row in conn.load::<IdRow>(sql.keep_prepared())? {
        if let Some(enc) = current(conn, "Encounter", &row.res_id)? {
            if attending(&enc).is_some() {
                return Ok(Some(enc));
            }
        }
    }
    Ok(None)
}

/// The `Encounter` id a record names, and its patient.
pub fn context_of(resource: &Value) -> (Option<String>, Option<String>) {
    let encounter = reference_of(resource.get("encounter"), "Encounter");
    let patient = reference_of(resource.get("subject"), "Patient");
    (encounter, patient)
}
