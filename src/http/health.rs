//! `/health/live` (the process answers) and `/health/ready` (the database answers).

use super::op_doc::{OperationDoc, ResponseDoc};
use super::request::blocking;
use super::AppState;
use crate::db::resources;
use crate::error::AppResult;
use actix_web::{web, HttpResponse};
use serde_json::json;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "live" }))
}

pub async fn ready(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let db = state.store.db.clone();
    blocking(move || {
        let mut conn = db.read()?;
        resources::ping(&mut conn)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "status": "ready" })))
}

pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/health/live",
        summary: "Liveness",
        description: "200 while the process answers (Kubernetes livenessProbe).",
        tag: "admin",
        scopes: &[],
        params: &[],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Health",
            description: "`{\"status\": \"live\"}`",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/health/ready",
        summary: "Readiness",
        description: "200 when the database answers, 503 OperationOutcome otherwise \
                      (Kubernetes readinessProbe).",
        tag: "admin",
        scopes: &[],
        params: &[],
        body: None,
        responses: &[
            ResponseDoc {
                status: 200,
                body: "Health",
                description: "`{\"status\": \"ready\"}`",
            },
            ResponseDoc {
                status: 503,
                body: "OperationOutcome",
                description: "The database does not answer",
            },
        ],
    },
];
