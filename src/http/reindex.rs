//! `POST /fhir/$reindex` — rebuilds every search index and projection (resumable job;
//! the CLI `chartroom reindex` does the same with a progress bar).

use super::op_doc::{OperationDoc, ResponseDoc};
use super::request::blocking;
use super::response::{fhir, format_of};
use super::AppState;
use crate::error::AppResult;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

pub async fn reindex(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let store = state.store.clone();
    let report = blocking(move || store.reindex(true, 500, |_, _| {})).await?;
    let parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            { "name": "resources", "valueInteger": report.resources },
        ]
    });
    Ok(fhir(StatusCode::OK, &parameters, format))
}

pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "post",
    path: "/fhir/$reindex",
    summary: "Rebuild every search index and projection",
    description: "Re-extracts the index rows and typed projections of every current resource \
                  from its stored JSON, in batches (as `chartroom reindex --restart`).",
    tag: "admin",
    scopes: &["user/*.cruds", "system/*.cruds"],
    params: &[],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "Parameters",
        description: "`resources`: how many were reindexed",
    }],
}];
