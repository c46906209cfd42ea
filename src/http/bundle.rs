//! `POST [base]` with a transaction or batch Bundle — FHIR http.html#transaction.

use super::request::{blocking, read_body, require_json_body};
use super::response::{fhir, format_of, return_pref, ReturnPref};
use super::AppState;
use crate::error::{AppError, AppResult};
use crate::fhir::resource::parse_json;
use crate::store::entry_access::EntryGuard;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn process(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    require_json_body(&req)?;
    let config = &state.store.config;
    let body = read_body(payload, config.max_body_bytes).await?;
    let bundle = parse_json(&body)?;
    let entries = bundle["entry"].as_array().map_or(0, Vec::len);
    if entries > config.max_bundle_entries {
        return Err(AppError::too_costly(format!(
            "the Bundle has {entries} entries; at most {} are accepted (max_bundle_entries)",
            config.max_bundle_entries
        )));
    }
    let minimal = return_pref(&req) == ReturnPref::Minimal;
    let base = state.base_url(&req);
    let (principal, who) = (super::auth::principal(&req), super::auth::who(&req));
    let store = state.store.clone();
    let reply = blocking(move || {
        // each entry is checked against the caller's scopes, compartment, labels and Consents
        let consents = if principal.unrestricted {
            Default::default()
        } else {
            store.active_consents()?
        };
        let guard = EntryGuard::for_caller(principal, who, consents);
        store.process_bundle(bundle, &base, minimal, &guard)
    })
    .await?;
    Ok(fhir(StatusCode::OK, &reply, format))
}
