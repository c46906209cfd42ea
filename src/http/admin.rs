//! `GET /admin/doctor` (the `chartroom doctor` report as JSON) and `POST /admin/doctor/repair`
//! (the same with `--repair`). Admin routes need an unrestricted token.

use super::op_doc::{OperationDoc, ResponseDoc};
use super::request::blocking;
use super::AppState;
use crate::error::AppResult;
use actix_web::{web, HttpResponse};

async fn run(state: web::Data<AppState>, repair: bool) -> AppResult<HttpResponse> {
    let store = state.store.clone();
    let report =
        blocking(move || Ok(crate::doctor::run(&store.config, Ok(&store.db), repair))).await?;
    Ok(HttpResponse::Ok().json(report))
}

pub async fn doctor(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    run(state, false).await
}

pub async fn repair(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    run(state, true).await
}

/// The admin routes (wrapped in authentication by the caller).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope
        .service(super::resource("/doctor").route(web::get().to(doctor)))
        .service(super::resource("/doctor/repair").route(web::post().to(repair)))
}

const ADMIN: &[&str] = &["system/*.cruds", "user/*.cruds"];

const REPORT: &[ResponseDoc] = &[ResponseDoc {
    status: 200,
    body: "DoctorReport",
    description: "One entry per check (configuration, database, migrations, indexes, clock, \
                  terminology) with ok/warning/error; `ok` is false when any check is an error",
}];

pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/admin/doctor",
        summary: "Troubleshooting report",
        description: "Checks configuration, database connectivity and migrations, index \
                      consistency (every current resource has exactly the index rows and \
                      projections its JSON yields), the coding tables and clock skew against \
                      the database; the same report as `chartroom doctor --json`.",
        tag: "admin",
        scopes: ADMIN,
        params: &[],
        body: None,
        responses: REPORT,
    },
    OperationDoc {
        method: "post",
        path: "/admin/doctor/repair",
        summary: "Troubleshooting report, repairing index drift",
        description: "As GET /admin/doctor, and rewrites the index rows and projections of \
                      resources that drifted and deletes rows no current resource owns \
                      (`chartroom doctor --repair`).",
        tag: "admin",
        scopes: ADMIN,
        params: &[],
        body: None,
        responses: REPORT,
    },
];
