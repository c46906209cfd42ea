//! `GET [type]/[id]` (read) and `GET [type]/[id]/_history/[vid]` (vread) — FHIR http.html#read.

use super::request::{blocking, etag_version, header};
use super::response::{etag, format_of, version_response};
use super::{known_type, AppState};
use crate::auth::Action;
use crate::db::rows::VersionRow;
use crate::error::{AppError, AppResult};
use crate::fhir::json::parse_http_date;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn read(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (res_type, id) = path.into_inner();
    known_type(&res_type)?;
    let access = super::auth::access(&req, &res_type, Action::Read);
    let store = state.store.clone();
    let row = blocking(move || {
        let row = store.read(&res_type, &id)?;
        store.check_visible(&access, &row)?;
        Ok(row)
    })
    .await?;
    if not_modified(&req, &row) {
        return Ok(HttpResponse::NotModified()
            .insert_header(("ETag", etag(row.version)))
            .finish());
    }
    Ok(with_audit_patient(
        version_response(StatusCode::OK, &row, format),
        &row,
        &state,
    ))
}

/// Tells the audit trail whose record was read (when reads are audited).
fn with_audit_patient(
    mut response: HttpResponse,
    row: &VersionRow,
    state: &AppState,
) -> HttpResponse {
    if !state.store.config.audit_reads {
        return response;
    }
    let patient = row.content.as_deref().and_then(|content| {
        crate::fhir::json::patient_of_stored(&row.res_type, &row.res_id, content)
    });
    if let Some(patient) = patient {
        response
            .extensions_mut()
            .insert(super::audit_trail::AuditPatient(patient));
    }
    response
}

pub async fn vread(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (res_type, id, vid) = path.into_inner();
    known_type(&res_type)?;
    let version: i64 = vid
        .parse()
        .map_err(|_| AppError::NotFound(format!("'{vid}' is not a version of {res_type}/{id}")))?;
    let access = super::auth::access(&req, &res_type, Action::Read);
    let store = state.store.clone();
    let row = blocking(move || {
        let row = store.vread(&res_type, &id, version)?;
        store.check_visible(&access, &row)?;
        Ok(row)
    })
    .await?;
    Ok(with_audit_patient(
        version_response(StatusCode::OK, &row, format),
        &row,
        &state,
    ))
}

/// `If-None-Match` names the current version, or `If-Modified-Since` is not older than it.
fn not_modified(req: &HttpRequest, row: &VersionRow) -> bool {
    if let Some(tags) = header(req, "If-None-Match") {
        return tags
            .split(',')
            .any(|t| t.trim() == "*" || etag_version(t) == Some(row.version));
    }
    if let Some(since) = header(req, "If-Modified-Since").and_then(parse_http_date) {
        // HTTP dates have whole seconds
        return row.last_updated / 1000 <= since / 1000;
    }
    false
}
