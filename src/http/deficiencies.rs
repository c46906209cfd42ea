//! Deficiency worklist endpoints: `GET [base]/$deficiency-report` (aging per practitioner,
//! FHIR Parameters or `_format=csv`), `GET [base]/$record-completion`,
//! `POST [base]/$sweep-deficiencies`, `POST [base]/Task/{id}/$query-practitioner`.
//! The worklist itself is plain FHIR search: `Task?code=<deficiency system>|&owner=...`.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs, read_body, require_json_body};
use super::response::{fhir, format_of};
use super::update::write_response;
use super::AppState;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::fhir::json::now_ms;
use crate::fhir::resource::parse_json;
use crate::records::deficiency::{completion, query, report, sweep};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

/// Resources per transaction of an HTTP-started sweep.
const SWEEP_BATCH: usize = 200;

fn wants_csv(req: &HttpRequest) -> bool {
    query_pairs(req)
        .iter()
        .any(|(k, v)| k == "_format" && matches!(v.as_str(), "csv" | "text/csv"))
}

async fn deficiency_report(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req);
    let format = if csv {
        Default::default()
    } else {
        format_of(&req)?
    };
    let store = state.store.clone();
    let report = blocking(move || report::deficiency_report(&store, now_ms())).await?;
    if csv {
        return Ok(HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(report.to_csv()));
    }
    Ok(fhir(StatusCode::OK, &report.to_parameters(), format))
}

async fn record_completion(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let period = completion::Period::from_pairs(&query_pairs(&req))?;
    let store = state.store.clone();
    let result = blocking(move || completion::record_completion(&store, period)).await?;
    Ok(fhir(StatusCode::OK, &result.to_parameters(), format))
}

async fn sweep_deficiencies(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let store = state.store.clone();
    let done = blocking(move || sweep::sweep(&store, SWEEP_BATCH)).await?;
    let t = done.tally;
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "records", "valueInteger": done.records},
        {"name": "opened", "valueInteger": t.opened},
        {"name": "reopened", "valueInteger": t.reopened},
        {"name": "closed", "valueInteger": t.closed},
        {"name": "cancelled", "valueInteger": t.cancelled},
    ]});
    Ok(fhir(StatusCode::OK, &body, format))
}

async fn query_practitioner(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    if !super::auth::principal(&req).may("CommunicationRequest", Action::Create) {
        return Err(AppError::Forbidden(
            "querying a practitioner needs CommunicationRequest create access".into(),
        ));
    }
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let text = query::query_text(&parse_json(&body)?)?;
    let id = path.into_inner();
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || query::query_practitioner(&store, &who, &id, &text)).await?;
    Ok(write_response(
        &saved,
        StatusCode::CREATED,
        &state.base_url(&req),
        super::response::return_pref(&req),
        format,
    ))
}

/// Registers the endpoints (before the generic `/{type}/{id}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(super::resource("/$deficiency-report").route(web::get().to(deficiency_report)))
        .service(super::resource("/$record-completion").route(web::get().to(record_completion)))
        .service(super::resource("/$sweep-deficiencies").route(web::post().to(sweep_deficiencies)))
        .service(
            super::resource("/Task/{id}/$query-practitioner")
                .route(web::post().to(query_practitioner)),
        )
}

const PERIOD: &[ParamDoc] = &[
    ParamDoc {
        name: "period-start",
        location: ParamIn::Query,
        required: true,
        kind: "date",
        description: "First discharge day counted (YYYY-MM-DD)",
    },
    ParamDoc {
        name: "period-end",
        location: ParamIn::Query,
        required: true,
        kind: "date",
        description: "Last discharge day counted (YYYY-MM-DD)",
    },
];

/// OpenAPI descriptions of these endpoints.
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/fhir/$deficiency-report",
        summary: "Open deficiencies per practitioner by age",
        description: "Open deficiency Tasks grouped by owner, aged from executionPeriod.start \
                      in buckets 0-7, 8-14, 15-30 and over 30 days (delinquent).",
        tag: "records",
        scopes: &["user/Task.s", "user/Task.read", "system/Task.s"],
        params: &[ParamDoc {
            name: "_format",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "`csv` for a CSV table instead of FHIR Parameters",
        }],
        body: None,
        responses: &[
            ResponseDoc {
                status: 200,
                body: "Parameters",
                description: "One `practitioner` part per owner and a `total`",
            },
            ResponseDoc {
                status: 200,
                body: "text/csv",
                description: "With `_format=csv`",
            },
        ],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$record-completion",
        summary: "Record-completion rate of a discharge period",
        description: "Share of encounters discharged in the period with no open deficiency, \
                      and the median days from discharge to completion.",
        tag: "records",
        scopes: &["user/Task.s", "user/Task.read", "system/Task.s"],
        params: PERIOD,
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Parameters",
            description:
                "discharged, complete, incomplete, completion-rate, median-days-to-complete",
        }],
    },
    OperationDoc {
        method: "post",
        path: "/fhir/$sweep-deficiencies",
        summary: "Judge every record's deficiencies again",
        description: "Runs the deficiency rules over every Patient, Encounter, Condition and \
                      Procedure (as `chartroom sweep` does); needs an unrestricted token.",
        tag: "records",
        scopes: &["system/*.cruds", "user/*.cruds"],
        params: &[],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Parameters",
            description: "records, opened, reopened, closed, cancelled",
        }],
    },
    OperationDoc {
        method: "post",
        path: "/fhir/Task/{id}/$query-practitioner",
        summary: "Ask the Task's owner about a deficiency",
        description: "Writes a CommunicationRequest (basedOn and about = the Task, recipient = \
                      its owner, payload = text). Answer with a Communication whose basedOn \
                      names the request; the request then becomes completed.",
        tag: "records",
        scopes: &[
            "user/CommunicationRequest.c",
            "user/CommunicationRequest.write",
        ],
        params: &[ParamDoc {
            name: "id",
            location: ParamIn::Path,
            required: true,
            kind: "string",
            description: "The deficiency Task",
        }],
        body: Some("Parameters"),
        responses: &[ResponseDoc {
            status: 201,
            body: "CommunicationRequest",
            description: "The query, with Location",
        }],
    },
];
