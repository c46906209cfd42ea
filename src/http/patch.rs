//! `PATCH [type]/[id]` with JSON Patch or FHIRPath Patch — FHIR http.html#patch.

use super::request::{blocking, header, if_match, read_body};
use super::response::{format_of, return_pref};
use super::{known_type, update::write_response, AppState};
use crate::error::AppResult;
use crate::fhir::patch::Patch;
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn patch(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (res_type, id) = path.into_inner();
    known_type(&res_type)?;
    let media = header(&req, "Content-Type")
        .and_then(|c| c.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let expected = if_match(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let patch = Patch::from_body(&media, parse_json(&body)?)?;
    let access = super::auth::access(&req, &res_type, crate::auth::Action::Update);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || {
        store.check_visible(&access, &store.read(&res_type, &id)?)?;
        let check = |patched: &serde_json::Value| {
            crate::store::access::check_write(&access, &res_type, Some(&id), patched)
        };
        store.patch(&who, &access, &res_type, &id, &patch, expected, &check)
    })
    .await?;
    Ok(write_response(
        &saved,
        StatusCode::OK,
        &state.base_url(&req),
        return_pref(&req),
        format,
    ))
}
