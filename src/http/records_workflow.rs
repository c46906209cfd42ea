//! Records-room coding workflow and billing pull: `Encounter/{id}/$set-coding-status`,
//! `[base]/$dnfb`, `Encounter/{id}/$billing-codes` and `Encounter/{id}/$claim`. Each needs
//! read access to the Encounter (compartment and labels as for a read) plus the scope named
//! in its [`OPERATIONS`] entry.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs, read_body, require_json_body};
use super::response::{etag, fhir, format_of, stored_body};
use super::AppState;
use crate::auth::Action;
use crate::coding::shared::terminology;
use crate::error::{AppError, AppResult};
use crate::fhir::resource::parse_json;
use crate::records::coding_task::actor_reference;
use crate::records::coding_workflow::{set_coding_status, SetStatusParams};
use crate::records::{billing, claim, dnfb};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// 403 unless the token's scopes grant `action` on `res_type`.
fn require(req: &HttpRequest, res_type: &str, action: Action) -> AppResult<()> {
    if super::auth::principal(req).may(res_type, action) {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "the token's scopes do not allow {action:?} on {res_type}, which {} needs",
            req.path()
        )))
    }
}

/// Reads Encounter `id` as the caller (404 when unknown or hidden from it).
fn check_encounter(
    store: &crate::store::Store,
    access: &crate::auth::Access,
    id: &str,
) -> AppResult<()> {
    let row = store.read("Encounter", id)?;
    store.check_visible(access, &row)
}

pub async fn set_status(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    require(&req, "Encounter", Action::Update)?;
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let params = SetStatusParams::from_parameters(&parse_json(&body)?)?;
    let id = path.into_inner();
    let access = super::auth::access(&req, "Encounter", Action::Update);
    let principal = super::auth::principal(&req);
    let actor = actor_reference(principal.fhir_user.as_deref(), &principal.subject);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let result = blocking(move || {
        check_encounter(&store, &access, &id)?;
        set_coding_status(&store, &*terminology()?, &who, actor, &id, &params)
    })
    .await?;
    Ok(fhir(StatusCode::OK, &result, format))
}

pub async fn dnfb_list(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let query = query_pairs(&req);
    let value = |name: &str| {
        query
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.clone())
    };
    let csv = value("_format").is_some_and(|f| f == "csv" || f == "text/csv");
    let format = if csv {
        Default::default()
    } else {
        format_of(&req)?
    };
    let days = dnfb::days_param(value("days").as_deref())?;
    let access = super::auth::access(&req, "Encounter", Action::Search);
    let store = state.store.clone();
    let today = chrono::Utc::now().date_naive();
    let list = blocking(move || dnfb::dnfb(&store, &access, days, today)).await?;
    Ok(if csv {
        HttpResponse::Ok()
            .content_type("text/csv; charset=utf-8")
            .body(list.to_csv())
    } else {
        fhir(StatusCode::OK, &list.to_parameters(), format)
    })
}

pub async fn billing_codes(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    require(&req, "Claim", Action::Read)?;
    let id = path.into_inner();
    let access = super::auth::access(&req, "Encounter", Action::Read);
    let store = state.store.clone();
    let codes = blocking(move || {
        check_encounter(&store, &access, &id)?;
        let mut conn = store.db.read()?;
        billing::billing_codes_in(&mut conn, &id)
    })
    .await?;
    Ok(fhir(
        StatusCode::OK,
        &billing::to_parameters(&codes),
        format,
    ))
}

pub async fn build_claim(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    require(&req, "Claim", Action::Create)?;
    let id = path.into_inner();
    let access = super::auth::access(&req, "Encounter", Action::Read);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let saved = blocking(move || {
        check_encounter(&store, &access, &id)?;
        claim::build_claim(&store, &who, &id)
    })
    .await?;
    let status = if saved.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok(HttpResponse::build(status)
        .content_type(super::response::FHIR_JSON)
        .insert_header(("ETag", etag(saved.version)))
        .insert_header((
            "Location",
            format!(
                "{}/Claim/{}/_history/{}",
                state.base_url(&req),
                saved.id,
                saved.version
            ),
        ))
        .body(stored_body(
            saved.content.as_deref().unwrap_or("{}"),
            format,
        )))
}

/// Registers the routes (before the generic `/{type}/{id}` patterns).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    use web::{get, post};
    scope
        .service(super::resource("/$dnfb").route(get().to(dnfb_list)))
        .service(super::resource("/Encounter/{id}/$set-coding-status").route(post().to(set_status)))
        .service(super::resource("/Encounter/{id}/$billing-codes").route(get().to(billing_codes)))
        .service(super::resource("/Encounter/{id}/$claim").route(post().to(build_claim)))
}

const ENCOUNTER_ID: ParamDoc = ParamDoc {
    name: "id",
    location: ParamIn::Path,
    required: true,
    kind: "string",
    description: "The Encounter's logical id",
};

/// The endpoints of this file, for the OpenAPI document.
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "post",
        path: "/fhir/Encounter/{id}/$set-coding-status",
        summary: "Move an encounter through the coding workflow",
        description: "Parameters `status` (uncoded | coded | audited | final) and optional `note`. \
            Allowed: uncoded→coded, coded→uncoded, coded→audited, audited→audited (re-audit), \
            audited→final, audited→coded and final→coded (corrections). `audited` and `final` run the \
            coding audit and write its findings as the coding-review Task; `final` is refused (422) \
            while an error finding is open. The coding Task, the review Task and the Encounter's new \
            version (coding-status extension) are written in one transaction.",
        tag: "records",
        scopes: &["user/Encounter.u", "system/Encounter.u"],
        params: &[ENCOUNTER_ID],
        body: Some("Parameters"),
        responses: &[ResponseDoc {
            status: 200,
            body: "Parameters",
            description: "status, previous, the coding Task, the Encounter version written, and the audit OperationOutcome when it ran",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$dnfb",
        summary: "Discharged, not final billed",
        description: "Finished encounters discharged `days` or more days ago (default 0) whose coding \
            status is not final, oldest first, with counts per status and days outstanding.",
        tag: "records",
        scopes: &["user/Encounter.s", "system/Encounter.s"],
        params: &[
            ParamDoc {
                name: "days",
                location: ParamIn::Query,
                required: false,
                kind: "integer",
                description: "Minimum days since discharge (default 0)",
            },
            ParamDoc {
                name: "_format",
                location: ParamIn::Query,
                required: false,
                kind: "string",
                description: "`csv` for a CSV table instead of the Parameters",
            },
        ],
        body: None,
        responses: &[
            ResponseDoc {
                status: 200,
                body: "Parameters",
                description: "days, asOf, total, averageDaysOutstanding, count per status, one encounter part per row",
            },
            ResponseDoc {
                status: 200,
                body: "text/csv",
                description: "encounter,patient,discharged,days_outstanding,coding_status,attending",
            },
        ],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/Encounter/{id}/$billing-codes",
        summary: "Final, sequenced codes of an encounter",
        description: "Principal diagnosis first, secondaries in rank order with POA, procedures with \
            dates and performers. 409 unless the coding status is final.",
        tag: "records",
        scopes: &["user/Claim.r", "system/Claim.r"],
        params: &[ENCOUNTER_ID],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Parameters",
            description: "encounter, status, patient, one diagnosis and one procedure part per code",
        }],
    },
    OperationDoc {
        method: "post",
        path: "/fhir/Encounter/{id}/$claim",
        summary: "Build the draft institutional Claim of a final encounter",
        description: "Stores (id claim-{encounter}, a new version on every call) and returns a draft \
            institutional Claim: diagnosis sequence with onAdmission, procedures with dates, patient, \
            provider (serviceProvider, else attending), the patient's active Coverages. 409 unless \
            the coding status is final.",
        tag: "records",
        scopes: &["user/Claim.c", "system/Claim.c"],
        params: &[ENCOUNTER_ID],
        body: None,
        responses: &[
            ResponseDoc {
                status: 201,
                body: "Claim",
                description: "The draft Claim, first built",
            },
            ResponseDoc {
                status: 200,
                body: "Claim",
                description: "The draft Claim, rebuilt as a new version",
            },
        ],
    },
];
