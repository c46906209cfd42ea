//! Master patient index operations: `POST Patient/$match` (FHIR R4), `GET
//! Patient/$duplicates` (the duplicate-candidate report, JSON Parameters or CSV),
//! `POST Patient/$merge` (the R5 operation's shape) and `POST Patient/$unmerge`.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::record_indexes::{csv_response, wants_csv, COUNT, FORMAT, OFFSET};
use super::request::{blocking, query_pairs, read_body, require_json_body};
use super::response::{fhir, format_of};
use super::AppState;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::fhir::resource::parse_json;
use crate::records::mpi::duplicates::{report, DuplicatesRequest};
use crate::records::mpi::matching::{run_match, MatchRequest};
use crate::records::mpi::merge::{merge, patient_by_identifier, unmerge, MergeRequest};
use crate::records::mpi::score::Grade;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

async fn json_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> AppResult<serde_json::Value> {
    require_json_body(req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    parse_json(&body)
}

/// `POST Patient/$match`
pub async fn match_patient(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let request = MatchRequest::from_body(json_body(&req, payload, &state).await?)?;
    let access = super::auth::access(&req, "Patient", Action::Search);
    let store = state.store.clone();
    let base = state.base_url(&req);
    let bundle = blocking(move || run_match(&store, &access, &request, &base)).await?;
    Ok(fhir(StatusCode::OK, &bundle, format))
}

fn duplicates_request(
    req: &HttpRequest,
    state: &AppState,
    csv: bool,
) -> AppResult<DuplicatesRequest> {
    let config = &state.store.config;
    let mut out = DuplicatesRequest {
        threshold: 0.0,
        grade: Grade::Possible,
        count: if csv {
            usize::MAX
        } else {
            config.default_count
        },
        offset: 0,
    };
    for (name, value) in query_pairs(req) {
        let bad = || AppError::invalid(format!("{name}={value} is not valid"));
        match name.as_str() {
            "threshold" => out.threshold = value.parse().map_err(|_| bad())?,
            "grade" => out.grade = Grade::parse(&value).ok_or_else(bad)?,
            "_count" => {
                out.count = value
                    .parse::<usize>()
                    .map_err(|_| bad())?
                    .min(config.max_count)
            }
            "_offset" => out.offset = value.parse().map_err(|_| bad())?,
            _ => {}
        }
    }
    Ok(out)
}

fn next_link(req: &HttpRequest, base: &str, offset: usize) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in query_pairs(req).into_iter().filter(|(n, _)| n != "_offset") {
        query.append_pair(&name, &value);
    }
    query.append_pair("_offset", &offset.to_string());
    format!("{base}/Patient/$duplicates?{}", query.finish())
}

/// `GET Patient/$duplicates?threshold=&grade=&_count=&_offset=&_format=csv`
pub async fn duplicates(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req);
    let format = if csv {
        Default::default()
    } else {
        format_of(&req)?
    };
    let request = duplicates_request(&req, &state, csv)?;
    let access = super::auth::access(&req, "Patient", Action::Search);
    let store = state.store.clone();
    let page = blocking(move || report(&store, &access, &request)).await?;
    if csv {
        return Ok(csv_response("patient-duplicates", page.to_csv()));
    }
    let next = page
        .has_next()
        .then(|| next_link(&req, &state.base_url(&req), page.offset + page.pairs.len()));
    Ok(fhir(StatusCode::OK, &page.to_parameters(next), format))
}

async fn merge_op(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    undo: bool,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let body = json_body(&req, payload, &state).await?;
    let principal = super::auth::principal(&req);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let summary = blocking(move || {
        let request =
            MergeRequest::from_parameters(&body, |s, v| patient_by_identifier(&store, s, v))?;
        if undo {
            unmerge(&store, &who, &principal, &request)
        } else {
            merge(&store, &who, &principal, &request)
        }
    })
    .await?;
    Ok(fhir(StatusCode::OK, &summary.to_parameters(), format))
}

/// Registers the MPI operations (before the generic `/{type}/{id}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(super::resource("/Patient/$match").route(web::post().to(match_patient)))
        .service(super::resource("/Patient/$duplicates").route(web::get().to(duplicates)))
        .service(super::resource("/Patient/$merge").route(web::post().to(
            |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| {
                merge_op(req, payload, state, false)
            },
        )))
        .service(super::resource("/Patient/$unmerge").route(web::post().to(
            |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| {
                merge_op(req, payload, state, true)
            },
        )))
}

const MERGE_RESPONSES: &[ResponseDoc] = &[ResponseDoc {
    status: 200,
    body: "Parameters",
    description: "outcome (OperationOutcome), merge-id, preview, result (the target Patient), one changed part per resource with version-before/version-after",
}];

/// OpenAPI descriptions of the MPI operations.
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "post",
        path: "/fhir/Patient/$match",
        summary: "Find records of the same person (FHIR R4 Patient/$match)",
        description: "Parameters with resource (a Patient), onlyCertainMatches, count. Candidates come from blocking keys (birth date, phonetic names, identifiers, phones) and are scored on name (Soundex, Jaro-Winkler, nicknames, swapped names), birth date (transposition and typo tolerant), sex, address, phone and identifiers.",
        tag: "records",
        scopes: &["user/Patient.r", "system/Patient.r"],
        params: &[],
        body: Some("Parameters"),
        responses: &[ResponseDoc {
            status: 200,
            body: "Bundle",
            description: "searchset of Patients, best first, with search.score and the match-grade extension",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/Patient/$duplicates",
        summary: "Duplicate-candidate report across the whole patient index",
        description: "Pairs of patients that share a blocking key and score at least possible, best first.",
        tag: "records",
        scopes: &["user/Patient.r", "system/Patient.r"],
        params: &[
            ParamDoc {
                name: "threshold",
                location: ParamIn::Query,
                required: false,
                kind: "number",
                description: "lowest score listed (0..1)",
            },
            ParamDoc {
                name: "grade",
                location: ParamIn::Query,
                required: false,
                kind: "string",
                description: "lowest grade listed: possible (default), probable, certain",
            },
            COUNT,
            OFFSET,
            FORMAT,
        ],
        body: None,
        responses: &[
            ResponseDoc {
                status: 200,
                body: "Parameters",
                description: "total, one pair part per candidate pair (two patient references, score, grade, reasons), next",
            },
            ResponseDoc {
                status: 200,
                body: "text/csv",
                description: "one line per pair (with _format=csv)",
            },
        ],
    },
    OperationDoc {
        method: "post",
        path: "/fhir/Patient/$merge",
        summary: "Merge a duplicate patient into the surviving one",
        description: "Parameters source-patient, target-patient (references) or source-patient-identifier, target-patient-identifier, and preview. In one transaction every resource referencing the source is repointed to the target (new versions, audited), the source becomes active=false with link replaced-by, the target gets link replaces.",
        tag: "records",
        scopes: &["user/Patient.u", "system/Patient.u"],
        params: &[],
        body: Some("Parameters"),
        responses: MERGE_RESPONSES,
    },
    OperationDoc {
        method: "post",
        path: "/fhir/Patient/$unmerge",
        summary: "Undo a merge from history",
        description: "Parameters source-patient, target-patient. Restores every resource the merge changed to its pre-merge content (new versions), atomically; 409 when any changed since.",
        tag: "records",
        scopes: &["user/Patient.u", "system/Patient.u"],
        params: &[],
        body: Some("Parameters"),
        responses: MERGE_RESPONSES,
    },
];
