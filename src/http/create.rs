//! `POST [type]` (create) — FHIR http.html#create.

use super::request::{blocking, read_body, require_json_body};
use super::response::{format_of, return_pref};
use super::{known_type, update::write_response, AppState};
use crate::error::AppResult;
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let res_type = path.into_inner();
    known_type(&res_type)?;
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let resource = parse_json(&body)?;
    let store = state.store.clone();
    let saved = blocking(move || store.create(&res_type, resource)).await?;
    Ok(write_response(
        &saved,
        StatusCode::CREATED,
        &state.base_url(&req),
        return_pref(&req),
        format,
    ))
}
