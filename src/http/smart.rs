//! `GET /fhir/.well-known/smart-configuration` — SMART App Launch discovery (public).

use super::op_doc::{OperationDoc, ResponseDoc};
use super::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;

pub async fn configuration(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let base = state.base_url(&req);
    HttpResponse::Ok().content_type("application/json").body(
        json!({
            "issuer": state.store.config.jwt_issuer,
            "capabilities": ["permission-v1", "permission-v2", "permission-patient", "permission-user", "client-confidential-asymmetric"],
            "scopes_supported": ["patient/*.cruds", "user/*.cruds", "system/*.cruds", "patient/*.read", "user/*.read", "system/*.read"],
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["private_key_jwt"],
            "code_challenge_methods_supported": ["S256"],
            "fhir_base": base,
        })
        .to_string(),
    )
}

pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "get",
    path: "/fhir/.well-known/smart-configuration",
    summary: "SMART App Launch discovery",
    description: "Capabilities, supported scopes and grant types (public).",
    tag: "security",
    scopes: &[],
    params: &[],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "SmartConfiguration",
        description: "SMART configuration document",
    }],
}];
