//! Disclosures to outside parties — `POST Patient/{id}/$disclose` records one (recipient,
//! purpose of use, resources released) as an AuditEvent in the hash-chained trail;
//! `GET Patient/{id}/$disclosures?period-start=&period-end=` is the patient's accounting of
//! disclosures.

use super::audit_events::events_bundle;
use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs, read_body};
use super::response::{fhir, format_of};
use super::AppState;
use crate::auth::audit::{AuditKind, AuditOutcome, Disclosure};
use crate::db::audit;
use crate::error::{AppError, AppResult};
use crate::fhir::index::date_range;
use crate::fhir::json::now_ms;
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::Value;

/// Purposes of use a disclosure may state (v3-ActReason).
const PURPOSES: &[&str] = &[
    "PUBHLTH", "HLEGAL", "HPAYMT", "HOPERAT", "HRESCH", "TREAT", "COVERAGE", "PATRQT", "FRAUD",
    "HDIRECT",
];

fn parameter<'a>(parameters: &'a Value, name: &str) -> impl Iterator<Item = &'a Value> {
    let name = name.to_string();
    parameters["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(move |p| p["name"] == name.as_str())
}

fn text_of(p: &Value) -> Option<String> {
    ["valueString", "valueCode", "valueUri"]
        .iter()
        .find_map(|k| p[*k].as_str().map(str::to_string))
        .or_else(|| p["valueReference"]["display"].as_str().map(str::to_string))
        .or_else(|| {
            p["valueReference"]["reference"]
                .as_str()
                .map(str::to_string)
        })
}

pub async fn disclose(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let patient = path.into_inner();
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let parameters = parse_json(&body)?;
    if parameters["resourceType"] != "Parameters" {
        return Err(AppError::invalid_at(
            "$disclose takes a Parameters resource",
            "resourceType",
        ));
    }
    let recipient = parameter(&parameters, "recipient")
        .find_map(text_of)
        .ok_or_else(|| {
            AppError::invalid_at(
                "the recipient is required",
                "Parameters.parameter.where(name='recipient')",
            )
        })?;
    let purpose = parameter(&parameters, "purpose")
        .find_map(text_of)
        .ok_or_else(|| {
            AppError::invalid_at(
                "the purpose of use is required",
                "Parameters.parameter.where(name='purpose')",
            )
        })?;
    if !PURPOSES.contains(&purpose.as_str()) {
        return Err(AppError::invalid(format!(
            "purpose '{purpose}' is not one of {}",
            PURPOSES.join(", ")
        )));
    }
    let resources: Vec<String> = parameter(&parameters, "resource")
        .filter_map(text_of)
        .collect();
    let note = parameter(&parameters, "note").find_map(text_of);
    let mut record = super::auth::who(&req).record(
        AuditKind::Operation,
        AuditOutcome::Success,
        resources,
        Some(patient.clone()),
    );
    record.disclosure = Some(Disclosure {
        recipient,
        purpose,
        note,
    });
    let store = state.store.clone();
    let access = super::auth::access(&req, "Patient", crate::auth::Action::Read);
    blocking(move || {
        store.check_visible(&access, &store.read("Patient", &patient)?)?;
        store
            .db
            .transaction(|conn| audit::append(conn, vec![record], now_ms()))
    })
    .await?;
    let outcome = crate::fhir::outcome::operation_outcome(&[crate::fhir::outcome::Issue::new(
        crate::fhir::outcome::Severity::Information,
        "informational",
        "disclosure recorded in the audit trail",
    )]);
    Ok(fhir(StatusCode::CREATED, &outcome, format))
}

pub async fn accounting(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let patient = path.into_inner();
    let (mut since, mut until) = (None, None);
    for (name, value) in query_pairs(&req) {
        let range = || {
            date_range(&value)
                .ok_or_else(|| AppError::invalid(format!("{name}={value} is not a date")))
        };
        match name.as_str() {
            "period-start" => since = Some(range()?.0),
            "period-end" => until = Some(range()?.1),
            _ => {}
        }
    }
    let store = state.store.clone();
    // the accounting is the patient's record too: only for callers who may see the patient
    let access = super::auth::access(&req, "Patient", crate::auth::Action::Read);
    let events = blocking(move || {
        store.check_visible(&access, &store.read("Patient", &patient)?)?;
        let mut conn = store.db.read()?;
        audit::query(&mut conn, true, Some(&patient), None, since, until, 1000)
    })
    .await?;
    Ok(fhir(
        StatusCode::OK,
        &events_bundle(&state.base_url(&req), events, 1000),
        format,
    ))
}

const PATIENT_ID: ParamDoc = ParamDoc {
    name: "id",
    location: ParamIn::Path,
    required: true,
    kind: "string",
    description: "Patient id",
};

pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "post",
        path: "/fhir/Patient/{id}/$disclose",
        summary: "Record a disclosure to an outside party",
        description: "Parameters: `recipient` (string or reference), `purpose` (PUBHLTH, \
                      HLEGAL, HPAYMT, HOPERAT, HRESCH, TREAT, COVERAGE, PATRQT, FRAUD, \
                      HDIRECT), `resource` references released, `note`. Recorded as an \
                      AuditEvent (type Export) in the hash-chained trail.",
        tag: "security",
        scopes: &["user/Patient.r", "system/Patient.r"],
        params: &[PATIENT_ID],
        body: Some("Parameters"),
        responses: &[ResponseDoc {
            status: 201,
            body: "OperationOutcome",
            description: "The disclosure was recorded",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/Patient/{id}/$disclosures",
        summary: "Accounting of disclosures",
        description: "The patient's recorded disclosures, optionally within a period.",
        tag: "security",
        scopes: &["user/Patient.r", "system/Patient.r"],
        params: &[
            PATIENT_ID,
            ParamDoc {
                name: "period-start",
                location: ParamIn::Query,
                required: false,
                kind: "date",
                description: "Disclosures on or after this date",
            },
            ParamDoc {
                name: "period-end",
                location: ParamIn::Query,
                required: false,
                kind: "date",
                description: "Disclosures on or before this date",
            },
        ],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Bundle",
            description: "searchset of AuditEvents",
        }],
    },
];
