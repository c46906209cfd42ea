//! Terminology operations (FHIR terminology-service.html) on ICD-10-CM and ICD-10-PCS:
//! `CodeSystem/$lookup`, `CodeSystem/$validate-code`, `CodeSystem/$subsumes`,
//! `ValueSet/$expand`, `ValueSet/$validate-code`; GET with query parameters or POST
//! with a Parameters body.

use super::request::{blocking, query_pairs, read_body, require_json_body};
use super::response::{fhir, format_of};
use super::AppState;
use crate::coding::ops::{self, OpParams};
use crate::coding::shared::terminology;
use crate::error::AppResult;
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// Which operation a route serves.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Lookup,
    ValidateCode,
    Subsumes,
    Expand,
    ValueSetValidateCode,
}

async fn run(req: &HttpRequest, op: Op, params: OpParams) -> AppResult<HttpResponse> {
    let format = format_of(req)?;
    let body = blocking(move || {
        let terms = terminology()?;
        match op {
            Op::Lookup => ops::lookup(&terms, &params),
            Op::ValidateCode => ops::validate_code(&terms, &params),
            Op::Subsumes => ops::subsumes(&terms, &params),
            Op::Expand => ops::expand(&terms, &params),
            Op::ValueSetValidateCode => ops::vs_validate_code(&terms, &params),
        }
    })
    .await?;
    Ok(fhir(StatusCode::OK, &body, format))
}

/// `GET [base]/CodeSystem/$lookup?system=..&code=..` and the other operations by GET.
pub async fn get(req: HttpRequest, op: Op) -> AppResult<HttpResponse> {
    let params = OpParams::from_pairs(query_pairs(&req));
    run(&req, op, params).await
}

/// The operations by POST with a Parameters body.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    op: Op,
) -> AppResult<HttpResponse> {
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let params = OpParams::from_parameters(&parse_json(&body)?)?;
    run(&req, op, params).await
}

/// Registers the five operations (before the generic `/{type}/{id}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    let ops = [
        ("/CodeSystem/$lookup", Op::Lookup),
        ("/CodeSystem/$validate-code", Op::ValidateCode),
        ("/CodeSystem/$subsumes", Op::Subsumes),
        ("/ValueSet/$expand", Op::Expand),
        ("/ValueSet/$validate-code", Op::ValueSetValidateCode),
    ];
    ops.into_iter().fold(scope, |scope, (path, op)| {
        scope.service(
            super::resource(path)
                .route(web::get().to(move |req: HttpRequest| get(req, op)))
                .route(web::post().to(
                    move |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| {
                        post(req, payload, state, op)
                    },
                )),
        )
    })
}
