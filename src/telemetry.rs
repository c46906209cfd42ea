//! Logging and request tracing: JSON logs filtered by `CHARTROOM_LOG`, one span per request
//! with method, route, status and latency, and the request id echoed as `X-Request-Id`.
//! Logs carry no resource bodies, names or identifiers.

use actix_web::body::MessageBody;
use actix_web::dev::{forward_ready, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{HeaderName, HeaderValue};
use futures_util::future::LocalBoxFuture;
use std::future::{ready, Ready};
use std::time::Instant;
use tracing::Instrument;

/// Installs the global subscriber (JSON lines on stderr).
pub fn init(filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .try_init();
}

/// Middleware: a span per request and the `X-Request-Id` header.
pub struct RequestTracing;

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
        ready(Ok(RequestTracingService { service }))
    }
}

pub struct RequestTracingService<S> {
    service: S,
}

const REQUEST_ID: &str = "x-request-id";

impl<S, B> Service<ServiceRequest> for RequestTracingService<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self::Response, Self::Error>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let request_id = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|v| !v.is_empty() && v.len() <= 128 && v.chars().all(|c| c.is_ascii_graphic()))
            .map(str::to_string)
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let route = req.match_pattern().unwrap_or_else(|| "unmatched".into());
        let span = tracing::info_span!("request", method = %req.method(), route = %route, request_id = %request_id, status = tracing::field::Empty, latency_ms = tracing::field::Empty);
        let started = Instant::now();
        let future = self.service.call(req);
        Box::pin(
            async move {
                let mut response = future.await?;
                let status = response.status().as_u16();
                let span = tracing::Span::current();
                span.record("status", status);
                span.record("latency_ms", started.elapsed().as_secs_f64() * 1000.0);
                if let Ok(value) = HeaderValue::from_str(&request_id) {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static(REQUEST_ID), value);
                }
                tracing::info!(status, "request finished");
                Ok(response)
            }
            .instrument(span),
        )
    }
}
