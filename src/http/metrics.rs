//! `GET /metrics`: Prometheus text — HTTP requests and latencies by route pattern and
//! status, database pool, transactions, imports, export jobs, coding-audit findings and
//! authentication failures (see `telemetry::metrics`).

use super::op_doc::{OperationDoc, ResponseDoc};
use super::AppState;
use crate::telemetry::metrics;
use actix_web::{web, HttpResponse};

pub async fn metrics(state: web::Data<AppState>) -> HttpResponse {
    let text = metrics::render(&[&state.http_metrics], state.store.db.pool_state());
    HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(text)
}

pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "get",
    path: "/metrics",
    summary: "Prometheus metrics",
    description: "Request counts and latency histograms by route pattern and status, database \
                  pool use, transaction and import throughput, export jobs, coding-audit \
                  findings by edit id and authentication failures by reason class.",
    tag: "admin",
    scopes: &[],
    params: &[],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "text/plain",
        description: "Prometheus text exposition format",
    }],
}];
