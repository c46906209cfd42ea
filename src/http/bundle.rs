//! `POST [base]` with a transaction or batch Bundle — FHIR http.html#transaction.

use super::request::{blocking, read_body, require_json_body};
use super::response::{fhir, format_of, return_pref, ReturnPref};
use super::AppState;
use crate::error::{AppError, AppResult};
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn process(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    // entries are not yet checked one by one against labels and compartments
    if !super::auth::access(&req, "Bundle", crate::auth::Action::Read).is_unlimited() {
        return Err(AppError::Forbidden(
            "transaction and batch Bundles need a token cleared for every sensitivity label".into(),
        ));
    }
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let bundle = parse_json(&body)?;
    let minimal = return_pref(&req) == ReturnPref::Minimal;
    let base = state.base_url(&req);
    let store = state.store.clone();
    let reply = blocking(move || store.process_bundle(bundle, &base, minimal)).await?;
    Ok(fhir(StatusCode::OK, &reply, format))
}
