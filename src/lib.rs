//! chartroom: a FHIR R4 server for the health-information-management room.
//! `start` builds the HTTP server on a listener; `main.rs` and the tests both use it.

pub mod auth;
pub mod bench;
pub mod coding;
pub mod config;
pub mod db;
pub mod error;
pub mod fhir;
pub mod http;
pub mod import;
pub mod reporting;
pub mod search;
pub mod store;
pub mod synth;
pub mod telemetry;

use actix_web::{web, App, HttpServer};
use config::Config;
use db::{Db, DbOptions};
use std::net::TcpListener;
use std::sync::Arc;
use store::Store;

/// Opens the database named in `config` and applies pending migrations.
pub fn open_store(config: Config) -> Result<Store, String> {
    let db = Db::connect(
        &config.database_url,
        &DbOptions {
            pool_size: config.pool_size,
            sqlite_synchronous: config.sqlite_synchronous.clone(),
        },
    )?;
    let applied = db::migrate::run(&db)?;
    if !applied.is_empty() {
        tracing::info!(count = applied.len(), "applied database migrations");
    }
    let audit = store::audit::AuditSink::start(db.clone());
    Ok(Store {
        db,
        config: Arc::new(config),
        audit,
    })
}

/// Builds the HTTP server on `listener` (not yet awaited). Graceful shutdown on SIGTERM/SIGINT
/// lets in-flight requests finish.
pub fn start(store: Store, listener: TcpListener) -> std::io::Result<actix_web::dev::Server> {
    let verifier = verifier(&store.config).map_err(std::io::Error::other)?;
    let state = web::Data::new(http::AppState { store, verifier });
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .wrap(telemetry::RequestTracing)
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
    auth::Verifier::new(
        config.jwt_hs256_secret.as_deref(),
        config.jwt_jwks.as_deref(),
        config.jwt_issuer.clone(),
        config.jwt_audience.clone(),
    )
    .map(|v| Some(Arc::new(v)))
}
