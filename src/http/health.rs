//! `/health/live` (the process answers) and `/health/ready` (the database answers).

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
