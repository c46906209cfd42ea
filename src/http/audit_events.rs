//! The audit trail over FHIR: `GET AuditEvent?patient=&date=` and `GET AuditEvent/{id}`
//! (read-only: AuditEvents are append-only, any other method answers 405), and
//! `GET $audit-verify` (walks the hash chain, reports the first broken link).

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs};
use super::response::{fhir, format_of};
use super::AppState;
use crate::auth::audit::render_stored;
use crate::db::audit;
use crate::error::{AppError, AppResult};
use crate::fhir::bundle::BundleBuilder;
use crate::fhir::index::date_range;
use crate::search::prefix::{self, Prefix};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let (mut patient, mut purpose, mut since, mut until) = (None, None, None, None);
    let mut count = state.store.config.default_count;
    for (name, value) in query_pairs(&req) {
        match name.as_str() {
            // the privacy officer's report of broken glass: purpose=BTG
            "purpose" => purpose = Some(value.rsplit('|').next().unwrap_or_default().to_string()),
            "patient" | "entity" => {
                patient = Some(value.trim_start_matches("Patient/").to_string())
            }
            "date" => {
                let (prefix, text) = prefix::split(&value);
                let (lo, hi) = date_range(text)
                    .ok_or_else(|| AppError::invalid(format!("date={value} is not a date")))?;
                match prefix {
                    Prefix::Ge | Prefix::Gt | Prefix::Sa => since = Some(lo),
                    Prefix::Le | Prefix::Lt | Prefix::Eb => until = Some(hi),
                    _ => {
                        since = Some(lo);
                        until = Some(hi);
                    }
                }
            }
            "_count" => {
                count = value
                    .parse()
                    .map_err(|_| AppError::invalid("_count is not a number"))?
            }
            _ => {}
        }
    }
    // a patient-scoped token sees the events about its own patient only
    let confined = super::auth::access(&req, "AuditEvent", crate::auth::Action::Search).patient;
    if let Some(own) = confined {
        if patient.as_ref().is_some_and(|p| *p != own) {
            return Ok(fhir(
                StatusCode::OK,
                &events_bundle(&state.base_url(&req), Vec::new(), 0),
                format,
            ));
        }
        patient = Some(own);
    }
    let db = state.store.db.clone();
    let sink = state.store.audit.clone();
    let events = blocking(move || {
        sink.flush();
        let mut conn = db.read()?;
        audit::query(
            &mut conn,
            false,
            patient.as_deref(),
            purpose.as_deref(),
            since,
            until,
            count.min(1000),
        )
    })
    .await?;
    Ok(fhir(
        StatusCode::OK,
        &events_bundle(&state.base_url(&req), events, count.min(1000)),
        format,
    ))
}

/// `GET AuditEvent/{id}`: one event, with the access of AuditEvent search (a patient-scoped
/// token reads only events about its patient; others answer 404).
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let id = path.into_inner();
    let wanted = id.clone();
    let confined = super::auth::access(&req, "AuditEvent", crate::auth::Action::Read).patient;
    let db = state.store.db.clone();
    let sink = state.store.audit.clone();
    let found = blocking(move || {
        sink.flush();
        let mut conn = db.read()?;
        audit::by_id(&mut conn, &wanted)
    })
    .await?;
    let event = match found {
        Some((event, patient)) if confined.is_none() || confined == patient => event,
        _ => return Err(crate::store::access::hidden()),
    };
    let resource = render_stored(&event.content)
        .into_iter()
        .find(|e| e["id"] == id.as_str())
        .ok_or_else(crate::store::access::hidden)?;
    Ok(fhir(StatusCode::OK, &resource, format))
}

/// A searchset of the first `limit` AuditEvents of stored rows (newest row first; a row's
/// events newest first too).
pub fn events_bundle(base: &str, rows: Vec<audit::StoredEvent>, limit: usize) -> Value {
    let events: Vec<Value> = rows
        .iter()
        .flat_map(|row| render_stored(&row.content).into_iter().rev())
        .take(limit)
        .collect();
    let mut bundle = BundleBuilder::new("searchset");
    bundle.total(events.len() as i64);
    for resource in events {
        let id = resource["id"].as_str().unwrap_or_default().to_string();
        bundle.entry(json!({"fullUrl": format!("{base}/AuditEvent/{id}"), "resource": resource, "search": {"mode": "match"}}));
    }
    bundle.build()
}

pub async fn verify(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let db = state.store.db.clone();
    let sink = state.store.audit.clone();
    let report = blocking(move || {
        sink.flush();
        let mut conn = db.read()?;
        audit::verify(&mut conn)
    })
    .await?;
    let mut parameters = json!({
        "resourceType": "Parameters",
        "parameter": [
            {"name": "events", "valueInteger": report.events},
            {"name": "intact", "valueBoolean": report.first_broken.is_none()}
        ]
    });
    if let Some(seq) = report.first_broken {
        if let Some(p) = parameters["parameter"].as_array_mut() {
            p.push(json!({"name": "firstBrokenSequence", "valueInteger": seq}))
        }
    }
    Ok(fhir(StatusCode::OK, &parameters, format))
}

const AUDIT_SCOPES: &[&str] = &["user/AuditEvent.rs", "system/AuditEvent.rs"];

pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
    method: "get",
    path: "/fhir/AuditEvent/{id}",
    summary: "Read one AuditEvent of the audit trail",
    description: "The stored AuditEvent with this id (append-only, hash-chained). Same access as AuditEvent search: a patient-scoped token reads only events about its own patient; any other event answers 404.",
    tag: "security",
    scopes: &["user/AuditEvent.r", "system/AuditEvent.r", "patient/AuditEvent.r"],
    params: &[ParamDoc {
        name: "id",
        location: ParamIn::Path,
        required: true,
        kind: "string",
        description: "The AuditEvent id",
    }],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "AuditEvent",
        description: "The event",
    }],
},
    OperationDoc {
        method: "get",
        path: "/fhir/AuditEvent",
        summary: "Search the audit trail",
        description: "AuditEvents of every read, search, write, operation and refused request, \
                      newest first. AuditEvents cannot be created, changed or deleted (405).",
        tag: "security",
        scopes: AUDIT_SCOPES,
        params: &[
            ParamDoc {
                name: "patient",
                location: ParamIn::Query,
                required: false,
                kind: "reference",
                description: "Events about this patient (Patient/id or id)",
            },
            ParamDoc {
                name: "date",
                location: ParamIn::Query,
                required: false,
                kind: "date",
                description: "Recorded on (eq), since (ge/gt) or until (le/lt) this date",
            },
            ParamDoc {
                name: "purpose",
                location: ParamIn::Query,
                required: false,
                kind: "token",
                description: "Purpose of use, e.g. BTG for break-the-glass accesses",
            },
            ParamDoc {
                name: "_count",
                location: ParamIn::Query,
                required: false,
                kind: "integer",
                description: "Events per page",
            },
        ],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Bundle",
            description: "searchset of AuditEvents",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$audit-verify",
        summary: "Verify the audit trail's hash chain",
        description: "Walks the SHA-256 chain and reports the first altered, inserted or \
                      removed event (as `chartroom audit-verify`).",
        tag: "security",
        scopes: &["user/*.cruds", "system/*.cruds"],
        params: &[],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "Parameters",
            description: "events verified and the first broken sequence, if any",
        }],
    },
];
