//! `DELETE [type]/[id]` — FHIR http.html#delete. Logical: the resource reads as 410 after.

use super::request::{blocking, if_match};
use super::response::{etag, format_of, json_body, return_pref, ReturnPref, FHIR_JSON};
use super::{known_type, AppState};
use crate::error::AppResult;
use crate::fhir::outcome::{operation_outcome, Issue, Severity};
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn delete(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (res_type, id) = path.into_inner();
    known_type(&res_type)?;
    let expected = if_match(&req)?;
    let what = format!("{res_type}/{id}");
    let access = super::auth::access(&req, &res_type, crate::auth::Action::Delete);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || {
        store.check_current_visible(&access, &res_type, &id)?;
        store.delete(&who, &res_type, &id, expected)
    })
    .await?;
    deleted_response(&req, saved, &what, format)
}

/// `DELETE [type]?criteria` — conditional delete (at most one match).
pub async fn conditional_delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let res_type = path.into_inner();
    known_type(&res_type)?;
    let criteria = req.query_string().to_string();
    let what = format!("{res_type}?{criteria}");
    if !super::auth::access(&req, &res_type, crate::auth::Action::Delete).is_unlimited() {
        return Err(crate::error::AppError::Forbidden(
            "conditional delete needs an unrestricted user or system scope".into(),
        ));
    }
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || store.delete_conditional(&who, &res_type, &criteria)).await?;
    deleted_response(&req, saved, &what, format)
}

fn deleted_response(
    req: &HttpRequest,
    saved: Option<crate::store::Saved>,
    what: &str,
    format: super::response::Format,
) -> AppResult<HttpResponse> {
    let message = match &saved {
        Some(s) => format!("{what} deleted (version {})", s.version),
        None => format!("{what}: nothing to delete"),
    };
    let mut response = match return_pref(req) {
        ReturnPref::OperationOutcome => HttpResponse::Ok(),
        _ => HttpResponse::NoContent(),
    };
    if let Some(saved) = &saved {
        response.insert_header(("ETag", etag(saved.version)));
    }
    if return_pref(req) == ReturnPref::OperationOutcome {
        let outcome =
            operation_outcome(&[Issue::new(Severity::Information, "informational", message)]);
        return Ok(response
            .content_type(FHIR_JSON)
            .body(json_body(&outcome, format)));
    }
    Ok(response.finish())
}
