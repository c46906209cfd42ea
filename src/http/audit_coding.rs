//! `GET [base]/Encounter/{id}/$audit-coding` and `POST [base]/$audit-coding` (a Bundle
//! with a not-yet-stored Encounter or Claim, or a bare Claim): the coding audit as an OperationOutcome, one issue
//! per finding, `details.coding` = the edit id. The stored form needs read access to the
//! Encounter (patient compartment and security labels as for a read).

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, read_body, require_json_body};
use super::response::{fhir, format_of};
use super::AppState;
use crate::auth::{Access, Action, Principal};
use crate::coding::encounter::{audit_bundle, audit_encounter};
use crate::coding::shared::terminology;
use crate::error::AppResult;
use crate::fhir::json::reference_parts;
use crate::fhir::resource::parse_json;
use crate::store::Store;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

pub async fn stored(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let id = path.into_inner();
    let access = super::auth::access(&req, "Encounter", crate::auth::Action::Read);
    let store = state.store.clone();
    let outcome = blocking(move || {
        let row = store.read("Encounter", &id)?;
        store.check_visible(&access, &row)?;
        audit_encounter(&store, &*terminology()?, &id)
    })
    .await?;
    Ok(fhir(StatusCode::OK, &outcome, format))
}

pub async fn bundle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let bundle = parse_json(&body)?;
    let principal = super::auth::principal(&req);
    let store = state.store.clone();
    let outcome = blocking(move || {
        let stored = |reference: &str| readable(&store, &principal, reference);
        audit_bundle(&*terminology()?, &bundle, &stored)
    })
    .await?;
    Ok(fhir(StatusCode::OK, &outcome, format))
}

/// A stored resource the body references, when the caller may read it (else as unknown).
fn readable(store: &Store, principal: &Principal, reference: &str) -> Option<Value> {
    let (res_type, id) = reference_parts(reference)?;
    if !principal.may(&res_type, Action::Read) {
        return None;
    }
    let access = Access::for_request(principal, &res_type, Action::Read);
    let row = store.read(&res_type, &id).ok()?;
    store.check_visible(&access, &row).ok()?;
    serde_json::from_str(row.content.as_deref()?).ok()
}
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/fhir/Encounter/{id}/$audit-coding",
        summary: "Coding audit of a stored encounter",
        description: "Runs the coding edits (validity, MCE, notes, stay) over the encounter's \
                      stored projections: one OperationOutcome issue per finding, errors \
                      first, `details.coding.code` = the edit id. 404 for an unknown \
                      encounter, 422 when the patient has no birthDate.",
        tag: "coding",
        scopes: &[
            "user/Encounter.r",
            "system/Encounter.r",
            "patient/Encounter.r",
        ],
        params: &[ParamDoc {
            name: "id",
            location: ParamIn::Path,
            required: true,
            kind: "string",
            description: "Encounter id",
        }],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "OperationOutcome",
            description: "The findings (one information issue when there are none)",
        }],
    },
    OperationDoc {
        method: "post",
        path: "/fhir/$audit-coding",
        summary: "Coding audit of a not-yet-stored encounter",
        description: "A Bundle holding an Encounter, its Patient, Conditions and Procedures \
                      (references by fullUrl or Type/id); the findings as for the stored form.",
        tag: "coding",
        scopes: &["user/*.cruds", "system/*.cruds"],
        params: &[],
        body: Some("Bundle"),
        responses: &[ResponseDoc {
            status: 200,
            body: "OperationOutcome",
            description: "The findings",
        }],
    },
];
