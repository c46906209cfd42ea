//! Middleware recording reads, searches, operations and refused requests in the audit
//! trail (through the background sink). Successful writes are recorded by the store inside
//! their own transaction, so they are not recorded again here.

use super::auth::{principal, who};
use super::AppState;
use crate::auth::audit::{AuditKind, AuditOutcome};
use crate::fhir::json::reference_parts;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, HttpMessage};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};

/// The patient a handler found its response to be about (set on the response).
#[derive(Debug, Clone)]
pub struct AuditPatient(pub String);

const UNAUDITED: &[&str] = &["/fhir/metadata", "/fhir/.well-known/smart-configuration"];

/// What an interaction was, from its method and path: (kind, entity, patient from the path).
fn classify(method: &str, path: &str, query: &str) -> (AuditKind, String, Option<String>) {
    let rest = path.strip_prefix("/fhir").unwrap_or(path).trim_matches('/');
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let is_write = matches!(method, "POST" | "PUT" | "DELETE" | "PATCH");
    let kind = match segments.as_slice() {
        [.., op] if op.starts_with('$') => AuditKind::Operation,
        [_, "_search"] | [_] | [] if !is_write || segments.last() == Some(&"_search") => {
            AuditKind::Search
        }
        [_, _, "_history", _] => AuditKind::Vread,
        [.., "_history"] => AuditKind::History,
        ["Patient", _, _] => AuditKind::Search,
        _ if method == "POST" => AuditKind::Create,
        _ if method == "DELETE" => AuditKind::Delete,
        _ if is_write => AuditKind::Update,
        _ => AuditKind::Read,
    };
    let patient = match segments.as_slice() {
        ["Patient", id, ..] => Some(id.to_string()),
        _ => url::form_urlencoded::parse(query.as_bytes()).find_map(|(k, v)| match k.as_ref() {
            "patient" => Some(v.trim_start_matches("Patient/").to_string()),
            "subject" | "subject:Patient" => reference_parts(&v)
                .filter(|(t, _)| t == "Patient")
                .map(|(_, id)| id)
                .or_else(|| (!v.contains('/')).then(|| v.to_string())),
            _ => None,
        }),
    };
    (kind, segments.join("/"), patient)
}

pub struct AuditTrail;

impl<S, B> Transform<S, ServiceRequest> for AuditTrail
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = AuditTrailService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuditTrailService { service }))
    }
}

pub struct AuditTrailService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for AuditTrailService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let future = self.service.call(req);
        Box::pin(async move {
            let response = future.await?;
            record(&response);
            Ok(response)
        })
    }
}

fn record<B>(response: &ServiceResponse<B>) {
    let request = response.request();
    let path = request.path();
    if UNAUDITED.contains(&path) {
        return;
    }
    let Some(state) = request.app_data::<web::Data<AppState>>() else {
        return;
    };
    let status = response.status().as_u16();
    let method = request.method().as_str();
    let (kind, entity, path_patient) = classify(method, path, request.query_string());
    let written_in_transaction = matches!(
        kind,
        AuditKind::Create | AuditKind::Update | AuditKind::Delete
    ) && status < 400;
    if written_in_transaction {
        return;
    }
    let outcome = match status {
        401 | 403 => AuditOutcome::Denied,
        s if s >= 400 => AuditOutcome::Failed,
        _ => AuditOutcome::Success,
    };
    let plain_read = matches!(
        kind,
        AuditKind::Read | AuditKind::Vread | AuditKind::Search | AuditKind::History
    );
    if plain_read && outcome == AuditOutcome::Success && !state.store.config.audit_reads {
        // switched off only to measure what the read audit costs (benchmark comparison)
        return;
    }
    let patient = response
        .response()
        .extensions()
        .get::<AuditPatient>()
        .map(|p| p.0.clone())
        .or(path_patient);
    let mut who = who(request);
    if request
        .extensions()
        .get::<crate::auth::Principal>()
        .is_none()
    {
        who.agent = "unauthenticated".into();
    } else if who.agent.is_empty() {
        who.agent = principal(request).subject;
    }
    let mut record = who.record(kind, outcome, vec![entity], patient);
    let query = request.query_string();
    if !query.is_empty() {
        record.query = Some(query.to_string());
    }
    state.store.audit.record(record);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactions_are_classified() {
        assert_eq!(classify("GET", "/fhir/Patient/1", "").0, AuditKind::Read);
        assert_eq!(
            classify("GET", "/fhir/Patient/1", "").2.as_deref(),
            Some("1")
        );
        assert_eq!(
            classify("GET", "/fhir/Observation", "subject=Patient/7")
                .2
                .as_deref(),
            Some("7")
        );
        assert_eq!(
            classify("GET", "/fhir/Observation", "").0,
            AuditKind::Search
        );
        assert_eq!(
            classify("POST", "/fhir/Observation/_search", "").0,
            AuditKind::Search
        );
        assert_eq!(
            classify("GET", "/fhir/Patient/1/_history/2", "").0,
            AuditKind::Vread
        );
        assert_eq!(
            classify("GET", "/fhir/Patient/1/$everything", "").0,
            AuditKind::Operation
        );
        assert_eq!(classify("POST", "/fhir/Patient", "").0, AuditKind::Create);
        assert_eq!(
            classify("DELETE", "/fhir/Patient/1", "").0,
            AuditKind::Delete
        );
    }
}
