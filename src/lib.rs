//! chartroom: a FHIR R4 server for the health-information-management room.
//! `start` builds the HTTP server on a listener; `main.rs` and the tests both use it.

pub mod auth;
pub mod bench;
pub mod coding;
pub mod config;
pub mod db;
pub mod doctor;
pub mod error;
pub mod fhir;
pub mod http;
pub mod import;
pub mod records;
pub mod reporting;
pub mod search;
pub mod store;
pub mod synth;
pub mod telemetry;
pub mod tls;

use actix_web::{web, App, HttpServer};
use config::Config;
use db::{Db, DbOptions};
use std::net::TcpListener;
use std::sync::Arc;
use store::Store;

/// mimalloc instead of the system allocator: request threads allocate what the audit
/// writer and the blocking pool free, and glibc's per-arena locks made those frees contend.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Opens the database named in `config` and applies pending migrations.
pub fn open_store(config: Config) -> Result<Store, String> {
    let db = Db::connect(
        &config.database_url,
        &DbOptions {
            pool_size: config.pool_size,
            sqlite_synchronous: config.sqlite_synchronous.clone(),
        },
    )?;
    let db = if config.deficiency_rules_on() {
        db.with_hook(Arc::new(records::deficiency::OnWrite))
    } else {
        db
    };
    let applied = db::migrate::run(&db)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    let audit = store::audit::AuditSink::start(db.clone(), config.sqlite_synchronous.clone());
    Ok(Store {
        db,
        config: Arc::new(config),
        audit,
        consents: Default::default(),
    })
}

/// Builds the HTTP server on `listener` (not yet awaited). Graceful shutdown on SIGTERM/SIGINT
/// lets in-flight requests finish.
pub fn start(store: Store, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
    start_traced(store, listener, None)
}

/// [`start`], with the server's spans and logs sent to `dispatch` instead of the
/// process-wide subscriber (tests capture them this way).
pub fn start_traced(
    store: Store,
    listener: TcpListener,
    dispatch: Option<tracing::Dispatch>,
) -> std::io::Result<actix_web::dev::Server> {
    let verifier = verifier(&store.config).map_err(std::io::Error::other)?;
    let exports = store::export::worker::start(&store);
    // the worker threads stop when the server's system drops this task
    actix_web::rt::spawn(async move {
        let _exports = exports;
        std::future::pending::<()>().await
    });
    let http_metrics = prometheus::Registry::new();
    let request_metrics = actix_web_prom::PrometheusMetricsBuilder::new("chartroom")
        .registry(http_metrics.clone())
        // the docs UI's asset paths are not route patterns
        .exclude_regex("^/docs")
        .exclude("/metrics")
        .mask_unmatched_patterns("unmatched")
        .build()
        .map_err(std::io::Error::other)?;
    let state = web::Data::new(http::AppState {
        store,
        verifier,
        http_metrics,
    });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(request_metrics.clone())
            .wrap(telemetry::RequestTracing::new(dispatch.clone()))
            .configure(http::configure)
    })
    .shutdown_timeout(30)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The token verifier the configuration asks for (None when `auth = off`).
pub fn verifier(config: &Config) -> Result<Option<Arc<auth::Verifier>>, String> {
    if config.auth_disabled() {
        return Ok(None);
    }
    auth::Verifier::from_config(config).map(|v| Some(Arc::new(v)))
}
