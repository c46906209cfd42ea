//! HTTP: actix route wiring and thin handlers (parse request → call a service → render).
//! The only module that imports actix.

mod admin;
mod audit_coding;
pub mod audit_events;
pub mod audit_trail;
pub mod auth;
pub mod background;
mod bundle;
mod create;
pub mod deficiencies;
mod delete;
mod disclosures;
pub mod errors;
pub mod export;
mod health;
mod history;
mod metadata;
mod metrics;
pub mod mpi;
pub mod op_doc;
pub mod openapi;
mod patch;
mod read;
pub mod record_indexes;
pub mod records_workflow;
pub mod registries;
mod reindex;
pub mod reports;
pub mod request;
pub mod response;
mod search;
mod smart;
mod terminology;
mod update;

use crate::error::{AppError, AppResult};
use crate::fhir::validate;
use crate::store::Store;
use actix_web::web;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
    /// None when authentication is off.
    pub verifier: Option<std::sync::Arc<crate::auth::Verifier>>,
    /// This server's HTTP request metrics (joined with the process-wide ones at `/metrics`).
    pub http_metrics: prometheus::Registry,
}

impl AppState {
    pub fn base_url(&self, req: &actix_web::HttpRequest) -> String {
        request::base_url(req, self.store.config.base_url.as_deref())
    }
}

/// 404 for a resource type R4 does not define.
pub fn known_type(res_type: &str) -> AppResult<()> {
    if validate::is_resource_type(res_type) {
        Ok(())
    } else {
        Err(AppError::NotFound(format!(
            "'{res_type}' is not a FHIR R4 resource type"
        )))
    }
}

/// A route whose other methods answer 405 with an OperationOutcome.
fn resource(path: &str) -> actix_web::Resource {
    web::resource(path).default_service(web::to(errors::method_not_allowed))
}

/// Routes: FHIR under `/fhir`, operations endpoints at the root. Fixed paths come before
/// the `{type}`/`{id}` patterns they would otherwise match.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use web::{delete, get, patch, post, put};
    let fhir = web::scope("/fhir")
        .service(resource("/metadata").route(get().to(metadata::capabilities)))
        .service(resource("/.well-known/smart-configuration").route(get().to(smart::configuration)))
        .service(resource("/_history").route(get().to(history::system)))
        .service(resource("/$reindex").route(post().to(reindex::reindex)))
        .service(resource("/$audit-verify").route(get().to(audit_events::verify)))
        .service(resource("/AuditEvent").route(get().to(audit_events::search)))
        .service(resource("/Patient/{id}/$disclose").route(post().to(disclosures::disclose)))
        .service(resource("/Patient/{id}/$disclosures").route(get().to(disclosures::accounting)))
        .service(resource("/AuditEvent/{id}").route(get().to(audit_events::read)))
        .service(resource("/AuditEvent/{tail:.*}"))
        .service(resource("/$audit-coding").route(post().to(audit_coding::bundle)))
        .service(resource("/Encounter/{id}/$audit-coding").route(get().to(audit_coding::stored)));
    let fhir = records_workflow::routes(fhir);
    let fhir = deficiencies::routes(fhir);
    let fhir = mpi::routes(fhir);
    let fhir = record_indexes::routes(fhir);
    let fhir = export::routes(fhir);
    let fhir = reports::routes(fhir);
    let fhir = registries::routes(fhir);
    let fhir = terminology::routes(fhir)
        .service(
            resource("")
                .route(get().to(search::system_search))
                .route(post().to(bundle::process)),
        )
        .service(
            resource("/")
                .route(get().to(search::system_search))
                .route(post().to(bundle::process)),
        )
        .service(
            resource("/{type}")
                .route(get().to(search::type_search))
                .route(post().to(create::create))
                .route(put().to(update::conditional_update))
                .route(delete().to(delete::conditional_delete)),
        )
        .service(resource("/{type}/_history").route(get().to(history::type_level)))
        .service(resource("/{type}/_search").route(post().to(search::post_search)))
        .service(
            resource("/{type}/{id}")
                .route(get().to(read::read))
                .route(put().to(update::update))
                .route(patch().to(patch::patch))
                .route(delete().to(delete::delete)),
        )
        .service(resource("/{type}/{id}/_history").route(get().to(history::instance)))
        .service(resource("/{type}/{id}/_history/{vid}").route(get().to(read::vread)))
        .service(resource("/{type}/{id}/{target}").route(get().to(search::compartment)));
    cfg.route("/health/live", get().to(health::live))
        .route("/health/ready", get().to(health::ready))
        .route("/metrics", get().to(metrics::metrics))
        .configure(openapi::configure)
        .service(admin::routes(web::scope("/admin")).wrap(auth::Authenticate))
        .service(fhir.wrap(auth::Authenticate).wrap(audit_trail::AuditTrail))
        .default_service(web::to(errors::not_found));
}
