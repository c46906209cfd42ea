//! `Patient/$match` (FHIR R4 patient-mdm operation): blocking-key lookup for candidates,
//! then scoring (see [`super::score`]) and a searchset Bundle of the graded candidates,
//! best first.

use super::demographics::Demographics;
use super::score::{compare, Grade, MatchScore};
use super::{candidates_by_keys, keys::match_keys, visible_patients};
use crate::auth::Access;
use crate::db::rows::VersionRow;
use crate::error::{AppError, AppResult};
use crate::fhir::bundle::BundleBuilder;
use crate::store::Store;
use serde_json::{json, Value};

/// `http://hl7.org/fhir/StructureDefinition/match-grade`
pub const MATCH_GRADE: &str = "http://hl7.org/fhir/StructureDefinition/match-grade";

/// Most candidates returned when the request names no `count`.
pub const DEFAULT_COUNT: usize = 10;

/// The operation's input parameters.
#[derive(Debug, Clone)]
pub struct MatchRequest {
    pub patient: Value,
    pub only_certain: bool,
    pub count: usize,
}

impl MatchRequest {
    /// Reads a `Parameters` body (`resource`, `onlyCertainMatches`, `count`); a bare
    /// Patient body is taken as the `resource`.
    pub fn from_body(body: Value) -> AppResult<MatchRequest> {
        if body["resourceType"] == "Patient" {
            return Ok(MatchRequest {
                patient: body,
                only_certain: false,
                count: DEFAULT_COUNT,
            });
        }
        if body["resourceType"] != "Parameters" {
            return Err(AppError::invalid_at(
                "$match takes a Parameters resource with a 'resource' parameter holding a Patient",
                "resourceType",
            ));
        }
        let params = body["parameter"].as_array().cloned().unwrap_or_default();
        let named = |name: &str| params.iter().find(|p| p["name"] == name);
        let patient = named("resource")
            .map(|p| p["resource"].clone())
            .filter(|r| r["resourceType"] == "Patient")
            .ok_or_else(|| {
                AppError::invalid_at(
                    "the 'resource' parameter must hold a Patient",
                    "Parameters.parameter.where(name='resource')",
                )
            })?;
        let only_certain = match named("onlyCertainMatches").map(|p| &p["valueBoolean"]) {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => {
                return Err(AppError::invalid_at(
                    "onlyCertainMatches must be a valueBoolean",
                    "Parameters.parameter.where(name='onlyCertainMatches')",
                ))
            }
        };
        let count = match named("count").map(|p| &p["valueInteger"]) {
            None => DEFAULT_COUNT,
            Some(v) => v.as_u64().filter(|n| *n > 0).ok_or_else(|| {
                AppError::invalid_at(
                    "count must be a positive valueInteger",
                    "Parameters.parameter.where(name='count')",
                )
            })? as usize,
        };
        Ok(MatchRequest {
            patient,
            only_certain,
            count,
        })
    }
}

/// One scored candidate.
pub struct Candidate {
    pub row: VersionRow,
    pub resource: Value,
    pub score: MatchScore,
}

/// Candidates for `patient` graded possible or better, best first (the patient itself,
/// by id, excluded).
pub fn find_candidates(
    store: &Store,
    access: &Access,
    patient: &Demographics,
) -> AppResult<Vec<Candidate>> {
    let keys = match_keys(patient);
    let mut conn = store.db.read()?;
    let rows = candidates_by_keys(&mut conn, &keys)?;
    drop(conn);
    let mut out: Vec<Candidate> = visible_patients(store, access, rows)?
        .into_iter()
        .filter(|(row, _)| Some(&row.res_id) != patient.id.as_ref())
        .filter_map(|(row, resource)| {
            let score = compare(patient, &Demographics::of(&resource));
            (score.grade >= Grade::Possible).then_some(Candidate {
                row,
                resource,
                score,
            })
        })
        .collect();
    out.sort_by(|a, b| {
        a.score
            .better_first(&b.score)
            .then_with(|| a.row.res_id.cmp(&b.row.res_id))
    });
    Ok(out)
}

/// Runs `$match` and renders the searchset Bundle.
pub fn run_match(
    store: &Store,
    access: &Access,
    request: &MatchRequest,
    base: &str,
) -> AppResult<Value> {
    let patient = Demographics::of(&request.patient);
    if !patient.is_matchable() {
        return Err(AppError::invalid_at(
            "the Patient needs at least a name, birth date, identifier or phone to match on",
            "Parameters.parameter.where(name='resource').resource",
        ));
    }
    let mut candidates = find_candidates(store, access, &patient)?;
    if request.only_certain {
        candidates.retain(|c| c.score.grade == Grade::Certain);
    }
    candidates.truncate(request.count);
    let mut bundle = BundleBuilder::new("searchset");
    bundle.total(candidates.len() as i64);
    for c in candidates {
        bundle.entry(json!({
            "fullUrl": format!("{base}/Patient/{}", c.row.res_id),
            "resource": c.resource,
            "search": {
                "extension": [{"url": MATCH_GRADE, "valueCode": c.score.grade.code()}],
                "mode": "match",
                "score": c.score.score
            }
        }));
    }
    Ok(bundle.build())
}
