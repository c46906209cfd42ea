//! The request span: one per request with method, route pattern, resource type, status,
//! latency and request id (echoed as `X-Request-Id`), continuing the caller's W3C
//! `traceparent`. Records route patterns, never paths or query strings (they carry ids
//! and search values).

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::TraceContextExt;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use std::future::{ready, Ready};
use std::time::Instant;
use tracing::instrument::WithSubscriber;
use tracing::Instrument;
use tracing_opentelemetry::OpenTelemetrySpanExt;

/// Middleware: a span per request and the `X-Request-Id` header. With `dispatch`, the
/// request's spans and logs go to that subscriber instead of the process-wide one (tests).
pub struct RequestTracing {
    dispatch: Option<tracing::Dispatch>,
}

impl RequestTracing {
    pub fn new(dispatch: Option<tracing::Dispatch>) -> Self {
        RequestTracing { dispatch }
    }
}

impl<S, B> Transform<S, ServiceRequest> for RequestTracing
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = RequestTracingService<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequestTracingService {
            service,
            dispatch: self.dispatch.clone(),
        }))
    }
}

pub struct RequestTracingService<S> {
    service: S,
    dispatch: Option<tracing::Dispatch>,
}

const REQUEST_ID: &str = "x-request-id";

struct Headers<'a>(&'a HeaderMap);

impl Extractor for Headers<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }
    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(|k| k.as_str()).collect()
    }
}

/// The caller's trace context from `traceparent`/`tracestate` (empty when absent or malformed).
fn caller_context(headers: &HeaderMap) -> opentelemetry::Context {
    TraceContextPropagator::new().extract(&Headers(headers))
}

/// The FHIR resource type a request addresses (`/fhir/{type}...`), if it is one.
fn resource_type(path: &str) -> &str {
    path.strip_prefix("/fhir/")
        .and_then(|rest| rest.split('/').next())
        .filter(|t| crate::fhir::search_params::is_resource_type(t))
        .unwrap_or("")
}

fn request_id(req: &ServiceRequest) -> String {
    req.headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

impl<S, B> Service<ServiceRequest> for RequestTracingService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, mut req: ServiceRequest) -> Self::Future {
        let request_id = request_id(&req);
        if let Ok(value) = HeaderValue::from_str(&request_id) {
            // handlers (audit records) read the id from the request
            req.headers_mut()
                .insert(HeaderName::from_static(REQUEST_ID), value);
        }
        let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
        let method = req.method().to_string();
        let parent = caller_context(req.headers());
        let dispatch = self
            .dispatch
            .clone()
            .unwrap_or_else(|| tracing::dispatcher::get_default(Clone::clone));
        let span = tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::info_span!(
                "request",
                otel.name = %format!("{method} {route}"),
                otel.kind = "server",
                http.request.method = %method,
                http.route = %route,
                http.response.status_code = tracing::field::Empty,
                resource_type = resource_type(req.path()),
                request_id = %request_id,
                trace_id = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let _ = span.set_parent(parent.clone());
            span
        });
        let own = span.context().span().span_context().trace_id();
        let caller = parent.span().span_context().trace_id();
        let trace_id = [own, caller]
            .into_iter()
            .find(|id| *id != opentelemetry::trace::TraceId::INVALID);
        if let Some(id) = trace_id {
            span.record("trace_id", id.to_string());
        }
        let started = Instant::now();
        let future = tracing::dispatcher::with_default(&dispatch, || {
            span.in_scope(|| self.service.call(req))
        });
        let finish = async move {
            let result = future.await;
            let status = match &result {
                Ok(response) => response.status().as_u16(),
                Err(error) => error.as_response_error().status_code().as_u16(),
            };
            let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
            let span = tracing::Span::current();
            span.record("http.response.status_code", status);
            span.record("latency_ms", latency_ms);
            tracing::info!(status, latency_ms, "request finished");
            let mut response = result?;
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(REQUEST_ID), value);
            }
            Ok(response)
        };
        Box::pin(finish.instrument(span).with_subscriber(dispatch))
    }
}
