//! `GET /metadata` — the CapabilityStatement (FHIR http.html#capabilities).

use super::response::{fhir, format_of};
use super::AppState;
use crate::error::AppResult;
use crate::fhir::capability::{capability_statement, CapabilityInputs, ParamList};
use crate::fhir::validate;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn capabilities(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let base = state.base_url(&req);
    let no_params = |_: &str| -> ParamList { Vec::new() };
    let statement = capability_statement(&CapabilityInputs {
        base_url: &base,
        resource_types: validate::resource_types(),
        search_params: &no_params,
        version: env!("CARGO_PKG_VERSION"),
    });
    Ok(fhir(StatusCode::OK, &statement, format))
}
