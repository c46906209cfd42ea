//! Master patient index: matching (`Patient/$match`), the duplicate-candidate report
//! (`Patient/$duplicates`) and merging (`Patient/$merge`, `$unmerge`). Blocking keys live
//! in `mpi_key`, written with the patient projection; scoring is documented in [`score`].

pub mod demographics;
pub mod duplicates;
pub mod keys;
pub mod matching;
pub mod merge;
pub mod nicknames;
pub mod phonetic;
pub mod score;

use crate::auth::Access;
use crate::db::resources::read_many;
use crate::db::rows::{KeyRow, VersionRow};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::security_codes;
use crate::store::Store;
use serde_json::Value;

/// Most candidates one lookup reads (a safety valve for very common keys).
pub const MAX_CANDIDATES: i64 = 5000;

/// Current Patient versions sharing at least one of `keys`.
pub fn candidates_by_keys(conn: &mut Conn, keys: &[String]) -> AppResult<Vec<VersionRow>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT DISTINCT k.rk AS rk FROM mpi_key k WHERE k.match_key IN ");
    sql.bind_list(keys.iter().map(String::as_str))
        .push(" ORDER BY k.rk LIMIT ")
        .bind(MAX_CANDIDATES);
    let rks: Vec<i64> = conn
        .load::<KeyRow>(&sql)?
        .into_iter()
        .map(|k| k.rk)
        .collect();
    Ok(read_many(conn, &rks)?
        .into_iter()
        .map(|(_, row)| row)
        .collect())
}

/// The rows the caller may see, parsed: sealed patients (security labels), patients
/// outside a patient-scoped token's compartment, Consent-denied and merged-away patients
/// are left out.
pub fn visible_patients(
    store: &Store,
    access: &Access,
    rows: Vec<VersionRow>,
) -> AppResult<Vec<(VersionRow, Value)>> {
    let denied = store.denied_patients(access, &["Patient"])?;
    Ok(rows
        .into_iter()
        .filter(|row| row.deleted == 0 && row.res_type == "Patient")
        .filter(|row| access.patient.as_ref().is_none_or(|p| *p == row.res_id))
        .filter(|row| !denied.contains(&row.res_id))
        .filter_map(|row| {
            let resource: Value = serde_json::from_str(row.content.as_deref()?).ok()?;
            (access.label_allows(&security_codes(&resource)) && !keys::is_merged_away(&resource))
                .then_some((row, resource))
        })
        .collect())
}
