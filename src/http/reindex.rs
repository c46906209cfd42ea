//! `POST /fhir/$reindex` — rebuilds every search index and projection (resumable job;
//! the CLI `chartroom reindex` does the same with a progress bar).

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
