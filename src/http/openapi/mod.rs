//! The OpenAPI 3.1 document, built with utoipa's builders from the search-parameter registry
//! (FHIR interactions per type) and the `OPERATIONS` tables of the HTTP modules; served at
//! `/openapi.json`, with the Swagger UI (vendored, works offline) at `/docs`.
//! Refresh the committed copy with `cargo run -- openapi > openapi/openapi.json`.

mod interactions;
mod operations;
mod parts;
mod schemas;

use super::op_doc::{OperationDoc, ResponseDoc};
use actix_web::{web, HttpResponse};
use once_cell::sync::Lazy;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{ComponentsBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths};

/// Every table of non-interaction endpoints. Add a module's table here with one line.
pub const OPERATION_TABLES: &[&[OperationDoc]] = &[
    super::terminology::OPERATIONS,
    super::audit_coding::OPERATIONS,
    super::audit_events::OPERATIONS,
    super::disclosures::OPERATIONS,
    super::search::OPERATIONS,
    super::reindex::OPERATIONS,
    super::smart::OPERATIONS,
    super::health::OPERATIONS,
    super::metrics::OPERATIONS,
    super::admin::OPERATIONS,
    super::records_workflow::OPERATIONS,
    super::deficiencies::OPERATIONS,
    super::mpi::OPERATIONS,
    super::record_indexes::OPERATIONS,
    super::export::OPERATIONS,
    super::reports::OPERATIONS,
    super::registries::OPERATIONS,
    OPERATIONS,
];

/// The command that regenerates the committed document.
pub const REFRESH_COMMAND: &str = "cargo run -- openapi > openapi/openapi.json";

const TAGS: &[(&str, &str)] = &[
    ("system", "Whole-server FHIR interactions: transaction/batch, system search and history, CapabilityStatement"),
    ("terminology", "ICD-10-CM/PCS terminology operations"),
    ("coding", "The coding audit"),
    ("security", "Audit trail, disclosures, SMART discovery"),
    ("records", "Records-room work: deficiencies, MPI, indexes, billing"),
    ("reporting", "Statistics, registries, de-identification"),
    ("export", "Bulk data export"),
    ("admin", "Health, metrics, troubleshooting, reindex, this document"),
];

/// Builds the whole document.
pub fn document() -> OpenApi {
    let mut paths = Paths::new();
    for (path, item) in interactions::paths() {
        paths.paths.insert(path, item);
    }
    for table in OPERATION_TABLES {
        for doc in *table {
            let (path, method, op) = operations::operation(doc);
            paths.add_path_operation(path, vec![method], op);
        }
    }
    let mut components = ComponentsBuilder::new()
        .security_scheme(
            parts::BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "A JWT (HS256, or RS256/ES256 from the configured JWKS) with SMART scopes \
                         `patient|user|system/[type|*].[cruds]` (v2) or `.read`/`.write` (v1). Each \
                         operation lists the scopes any one of which allows it; `patient/` scopes \
                         confine access to the token's patient compartment.",
                    ))
                    .build(),
            ),
        );
    for (name, schema) in schemas::all() {
        components = components.schema(name, schema);
    }
    for (name, parameter) in interactions::common_parameters() {
        components = components.parameter(name, parameter);
    }
    for (_, name, description) in parts::ERRORS {
        components = components.response(*name, parts::response(description, "OperationOutcome"));
    }
    let tags = TAGS.iter().map(|(name, description)| {
        TagBuilder::new()
            .name(*name)
            .description(Some(*description))
            .build()
    });
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("chartroom")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "FHIR R4 server for the health-information-management room. FHIR base: \
                     `/fhir`. Every error is an OperationOutcome.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components.build()))
        .tags(Some(tags))
        .build()
}

static DOCUMENT: Lazy<String> = Lazy::new(|| {
    document()
        .to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
});

/// The document as pretty-printed JSON (what `chartroom openapi` prints).
pub fn document_json() -> &'static str {
    &DOCUMENT
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("application/json")
        .body(document_json())
}

async fn docs_redirect() -> HttpResponse {
    HttpResponse::Found()
        .insert_header(("Location", "/docs/"))
        .finish()
}

/// `/openapi.json`, and the Swagger UI under `/docs/`.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/openapi.json", web::get().to(openapi_json))
        .route("/docs", web::get().to(docs_redirect))
        .service(
            utoipa_swagger_ui::SwaggerUi::new("/docs/{_:.*}")
                .config(utoipa_swagger_ui::Config::new(["/openapi.json"])),
        );
}

pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "get",
    path: "/openapi.json",
    summary: "This OpenAPI document",
    description: "The OpenAPI 3.1 description of every route; the docs UI is at /docs.",
    tag: "admin",
    scopes: &[],
    params: &[],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "application/json",
        description: "OpenAPI 3.1 document",
    }],
}];
