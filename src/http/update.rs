//! `PUT [type]/[id]` (update, and update-as-create) — FHIR http.html#update.

use super::request::{blocking, if_match, resource_body};
use super::response::{etag, format_of, return_pref, write_body, Format, ReturnPref, FHIR_JSON};
use super::{known_type, AppState};
use crate::error::AppResult;
use crate::fhir::json::http_date;
use crate::store::Saved;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn update(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (res_type, id) = path.into_inner();
    known_type(&res_type)?;
    let expected = if_match(&req)?;
    let resource = resource_body(&req, payload, state.store.config.max_body_bytes).await?;
    let access = super::auth::access(&req, &res_type, crate::auth::Action::Update);
    crate::store::access::check_write(&access, &res_type, Some(&id), &resource)?;
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || {
        // like delete: no caller overwrites a record it may not read
        store.check_current_visible(&access, &res_type, &id)?;
        store.update(&who, &access, &res_type, &id, resource, expected)
    })
    .await?;
    Ok(updated_response(&req, &state, &saved, format))
}

/// `PUT [type]?criteria` — conditional update.
pub async fn conditional_update(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let res_type = path.into_inner();
    known_type(&res_type)?;
    let expected = if_match(&req)?;
    let criteria = req.query_string().to_string();
    let resource = resource_body(&req, payload, state.store.config.max_body_bytes).await?;
    if !super::auth::access(&req, &res_type, crate::auth::Action::Update).is_unlimited() {
        return Err(crate::error::AppError::Forbidden(
            "conditional update needs an unrestricted user or system scope".into(),
        ));
    }
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved =
        blocking(move || store.update_conditional(&who, &res_type, resource, &criteria, expected))
            .await?;
    Ok(updated_response(&req, &state, &saved, format))
}

/// 201 when the update created the resource, else 200.
fn updated_response(
    req: &HttpRequest,
    state: &AppState,
    saved: &Saved,
    format: Format,
) -> HttpResponse {
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    write_response(
        saved,
        status,
        &state.base_url(req),
        return_pref(req),
        format,
    )
}

/// The answer to a successful create or update: version headers, `Location`, and the body `Prefer` asks for.
pub fn write_response(
    saved: &Saved,
    status: StatusCode,
    base: &str,
    pref: ReturnPref,
    format: Format,
) -> HttpResponse {
    let location = format!(
        "{base}/{}/{}/_history/{}",
        saved.res_type, saved.id, saved.version
    );
    let message = format!(
        "{}/{} stored as version {}",
        saved.res_type, saved.id, saved.version
    );
    let mut response = HttpResponse::build(status);
    response
        .insert_header(("ETag", etag(saved.version)))
        .insert_header(("Last-Modified", http_date(saved.last_updated)))
        .insert_header(("Location", location.clone()))
        .insert_header(("Content-Location", location));
    match write_body(
        pref,
        saved.content.as_deref(),
        &message,
        &saved.warnings,
        format,
    ) {
        Some(body) => response.content_type(FHIR_JSON).body(body),
        None => response.finish(),
    }
}
