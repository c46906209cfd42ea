//! Authentication and scope checks for every request: `Authorization: Bearer <JWT>` →
//! `Principal` in the request extensions; 401 (with `WWW-Authenticate`) without a valid
//! token, 403 when no scope grants the interaction. Discovery and health stay public.

use super::AppState;
use crate::auth::{Action, Principal};
use crate::error::AppError;
use crate::telemetry::metrics;
use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::{web, HttpMessage, ResponseError};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};

const PUBLIC: &[&str] = &[
    "/fhir/metadata",
    "/fhir/.well-known/smart-configuration",
    "/health/live",
    "/health/ready",
    "/openapi.json",
];

/// System-level operations (`[base]/$name`) that need only a read or search scope on one
/// resource type rather than an unrestricted one. Each area adds its own here.
const SYSTEM_OPERATIONS: &[(&str, &str, Action)] = &[
    ("$deficiency-report", "Task", Action::Search),
    ("$record-completion", "Task", Action::Search),
    ("$dnfb", "Encounter", Action::Search),
    ("$disease-index", "Condition", Action::Search),
    ("$procedure-index", "Procedure", Action::Search),
    ("$physician-index", "Encounter", Action::Search),
    ("$export", "Patient", Action::Search),
    ("$export-status", "Patient", Action::Search),
    ("$export-file", "Patient", Action::Search),
    // reporting (see http/reports.rs `resource_type`)
    ("$prevalence", "Condition", Action::Search),
    ("$incidence", "Condition", Action::Search),
    ("$predisposition", "Condition", Action::Search),
    ("$prescriptions", "MedicationRequest", Action::Search),
    ("$treatment-response", "Observation", Action::Search),
    ("$procedure-volume", "Procedure", Action::Search),
    ("$length-of-stay", "Encounter", Action::Search),
    ("$completion-report", "Task", Action::Search),
    ("$coding-throughput", "Task", Action::Search),
    ("$coding-audit-rates", "Encounter", Action::Search),
    // a registry extract reads every type of a population: a read scope on all types
    ("$registry-extract", "*", Action::Read),
];

/// The resource type and action an interaction needs; None for admin/system-wide ones,
/// which need a wildcard scope with every action.
pub fn requirement(method: &str, path: &str) -> Option<(String, Action)> {
    let rest = path.strip_prefix("/fhir").unwrap_or(path);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    let action_for = |method: &str| match method {
        "GET" | "HEAD" => Action::Read,
        "POST" => Action::Create,
        "PUT" | "PATCH" => Action::Update,
        "DELETE" => Action::Delete,
        _ => Action::Read,
    };
    if path.starts_with("/admin") {
        return None;
    }
    match segments.as_slice() {
        [] | ["_history"] => None,
        [op] if op.starts_with('$') => SYSTEM_OPERATIONS
            .iter()
            .find(|(name, _, _)| name == op)
            .map(|(_, res_type, action)| (res_type.to_string(), *action)),
        [t] => Some((
            t.to_string(),
            if method == "GET" {
                Action::Search
            } else {
                action_for(method)
            },
        )),
        [t, "_search"] => Some((t.to_string(), Action::Search)),
        [t, "_history"] => Some((t.to_string(), Action::Read)),
        [t, op] if op.starts_with('$') => Some((t.to_string(), Action::Read)),
        [t, _id] => Some((t.to_string(), action_for(method))),
        ["Patient", _id, target, ..] if !target.starts_with('$') && *target != "_history" => {
            Some((target.to_string(), Action::Search))
        }
        [t, _id, ..] => Some((t.to_string(), Action::Read)),
    }
}

fn authenticate(req: &ServiceRequest, state: &AppState) -> Result<Principal, AppError> {
    let Some(verifier) = &state.verifier else {
        return Ok(Principal::unrestricted());
    };
    let header = req
        .headers()
        .get("Authorization")
        .and_then(|v| v.to_str().ok());
    let token = header
        .and_then(|h| {
            h.strip_prefix("Bearer ")
                .or_else(|| h.strip_prefix("bearer "))
        })
        .ok_or_else(|| {
            metrics::auth_failure("missing_token");
            AppError::Unauthorized("a Bearer token is required".into())
        })?;
    let mut principal = verifier
        .verify(token.trim())
        .map(|claims| claims.into_principal(&state.store.config.roles))
        .map_err(|e| {
            tracing::info!(reason = %e, "token refused");
            metrics::auth_failure("invalid_token");
            AppError::Unauthorized("invalid token".into())
        })?;
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    match header("X-Purpose-Of-Use") {
        Some("BTG") => {
            let reason = header("X-Break-Glass-Reason").unwrap_or("");
            principal.break_glass(reason).map_err(|e| {
                metrics::auth_failure("break_glass");
                AppError::Forbidden(e)
            })?;
        }
        Some(purpose) => principal.purpose_of_use = purpose.to_string(),
        None => {}
    }
    Ok(principal)
}

fn authorize(principal: &Principal, method: &str, path: &str) -> Result<(), AppError> {
    if principal.unrestricted {
        return Ok(());
    }
    let base = path.strip_prefix("/fhir").unwrap_or(path).trim_matches('/');
    if method == "POST" && base.is_empty() {
        // transaction and batch Bundles: every entry is checked against the scopes itself
        return Ok(());
    }
    let allowed = match requirement(method, path) {
        Some((res_type, action)) => principal.may(&res_type, action),
        None => [
            Action::Create,
            Action::Read,
            Action::Update,
            Action::Delete,
            Action::Search,
        ]
        .iter()
        .all(|a| {
            principal.scopes.iter().any(|s| {
                s.resource == "*"
                    && s.context != crate::auth::scopes::Context::Patient
                    && s.grants("*", *a)
            })
        }),
    };
    if allowed {
        Ok(())
    } else {
        metrics::auth_failure("scope");
        Err(AppError::Forbidden(format!(
            "the token's scopes do not allow {method} {path}"
        )))
    }
}

/// Middleware: authenticate, authorise, and attach the `Principal`.
pub struct Authenticate;

impl<S, B> Transform<S, ServiceRequest> for Authenticate
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = AuthenticateService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(AuthenticateService { service }))
    }
}

pub struct AuthenticateService<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for AuthenticateService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let path = req.path().to_string();
        let public = PUBLIC.contains(&path.as_str()) || path.starts_with("/docs");
        let outcome = match req.app_data::<web::Data<AppState>>() {
            Some(state) if !public => {
                let span = tracing::info_span!("auth", outcome = tracing::field::Empty);
                let _entered = span.enter();
                let outcome = authenticate(&req, state).and_then(|p| {
                    authorize(&p, req.method().as_str(), &path).inspect_err(|_| {
                        // the refusal is audited under the caller's name
                        req.extensions_mut().insert(p.clone());
                    })?;
                    Ok(p)
                });
                span.record(
                    "outcome",
                    if outcome.is_ok() {
                        "allowed"
                    } else {
                        "refused"
                    },
                );
                outcome
            }
            _ => Ok(Principal::unrestricted()),
        };
        match outcome {
            Ok(principal) => {
                req.extensions_mut().insert(principal);
                let future = self.service.call(req);
                Box::pin(async move { future.await.map(ServiceResponse::map_into_left_body) })
            }
            Err(error) => {
                let response = error.error_response();
                Box::pin(async move { Ok(req.into_response(response).map_into_right_body()) })
            }
        }
    }
}

/// The request's principal (set by the middleware).
pub fn principal(req: &actix_web::HttpRequest) -> Principal {
    req.extensions()
        .get::<Principal>()
        .cloned()
        .unwrap_or_else(|| Principal {
            unrestricted: false,
            ..Principal::unrestricted()
        })
}

/// The data limits of this request for `action` on `res_type`.
pub fn access(req: &actix_web::HttpRequest, res_type: &str, action: Action) -> crate::auth::Access {
    crate::auth::Access::for_request(&principal(req), res_type, action)
}

/// The caller side of this request's audit records.
pub fn who(req: &actix_web::HttpRequest) -> crate::auth::audit::Who {
    let principal = principal(req);
    crate::auth::audit::Who {
        break_glass_reason: principal.break_glass_reason.clone(),
        agent: principal.subject.clone(),
        purpose: Some(principal.purpose_of_use.clone()),
        address: req.peer_addr().map(|a| a.ip().to_string()),
        user_agent: req
            .headers()
            .get("User-Agent")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
        request_id: req
            .headers()
            .get("X-Request-Id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interactions_map_to_actions() {
        assert_eq!(
            requirement("GET", "/fhir/Patient/1"),
            Some(("Patient".into(), Action::Read))
        );
        assert_eq!(
            requirement("GET", "/fhir/Patient"),
            Some(("Patient".into(), Action::Search))
        );
        assert_eq!(
            requirement("POST", "/fhir/Patient"),
            Some(("Patient".into(), Action::Create))
        );
        assert_eq!(
            requirement("DELETE", "/fhir/Patient/1"),
            Some(("Patient".into(), Action::Delete))
        );
        assert_eq!(
            requirement("GET", "/fhir/Patient/1/Observation"),
            Some(("Observation".into(), Action::Search))
        );
        assert_eq!(
            requirement("GET", "/fhir/Patient/1/_history/2"),
            Some(("Patient".into(), Action::Read))
        );
        assert_eq!(
            requirement("GET", "/fhir/$registry-extract"),
            Some(("*".into(), Action::Read))
        );
        assert_eq!(requirement("POST", "/fhir"), None);
        assert_eq!(
            requirement("GET", "/fhir/$prevalence"),
            Some(("Condition".into(), Action::Search))
        );
        assert_eq!(requirement("GET", "/fhir/_history"), None);
    }
}
