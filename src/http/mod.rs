//! HTTP: actix route wiring and thin handlers (parse request → call a service → render).
//! The only module that imports actix.

mod create;
mod delete;
pub mod errors;
mod health;
mod history;
mod metadata;
mod read;
pub mod request;
pub mod response;
mod update;

use crate::error::{AppError, AppResult};
use crate::fhir::validate;
use crate::store::Store;
use actix_web::web;

/// What every handler shares.
pub struct AppState {
    pub store: Store,
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

/// Routes: FHIR under `/fhir`, operations endpoints at the root.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(errors::method_not_allowed);
    cfg.route("/health/live", web::get().to(health::live))
        .route("/health/ready", web::get().to(health::ready))
        .service(
            web::scope("/fhir")
                .service(
                    web::resource("/metadata")
                        .route(web::get().to(metadata::capabilities))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/_history")
                        .route(web::get().to(history::system))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}")
                        .route(web::post().to(create::create))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/_history")
                        .route(web::get().to(history::type_level))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}")
                        .route(web::get().to(read::read))
                        .route(web::put().to(update::update))
                        .route(web::delete().to(delete::delete))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}/_history")
                        .route(web::get().to(history::instance))
                        .default_service(not_allowed()),
                )
                .service(
                    web::resource("/{type}/{id}/_history/{vid}")
                        .route(web::get().to(read::vread))
                        .default_service(not_allowed()),
                ),
        )
        .default_service(web::to(errors::not_found));
}
