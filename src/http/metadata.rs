//! `GET /metadata` — the CapabilityStatement (FHIR http.html#capabilities).

use super::response::{fhir, format_of};
use super::AppState;
use crate::error::AppResult;
use crate::fhir::capability::{
    capability_statement, operation_of_path, CapabilityInputs, ParamList,
};
use crate::fhir::search_params::registry;
use crate::fhir::validate;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn capabilities(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let base = state.base_url(&req);
    let params = |res_type: &str| -> ParamList {
        let mut list: ParamList = vec![
            (
                "_id".into(),
                "token".into(),
                "http://hl7.org/fhir/SearchParameter/Resource-id".into(),
            ),
            (
                "_lastUpdated".into(),
                "date".into(),
                "http://hl7.org/fhir/SearchParameter/Resource-lastUpdated".into(),
            ),
        ];
        for def in registry().params_for(res_type) {
            if def.code.starts_with("_id") || def.code == "_lastUpdated" || def.expression.is_none()
            {
                continue;
            }
            let kind = format!("{:?}", def.kind).to_lowercase();
            list.push((def.code.clone(), kind, def.url.clone()));
        }
        list
    };
    let mut operations: Vec<(Option<String>, String)> = super::openapi::OPERATION_TABLES
        .iter()
        .flat_map(|table| table.iter())
        .filter_map(|doc| operation_of_path(doc.path))
        .collect();
    operations.sort();
    operations.dedup();
    let statement = capability_statement(&CapabilityInputs {
        base_url: &base,
        resource_types: validate::resource_types(),
        search_params: &params,
        version: env!("CARGO_PKG_VERSION"),
        operations: &operations,
    });
    Ok(fhir(StatusCode::OK, &statement, format))
}
