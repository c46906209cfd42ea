//! Observability: JSON logs filtered by `CHARTROOM_LOG`, request spans exported over OTLP
//! when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, and Prometheus metrics (`metrics`).
//! Logs and spans carry no PHI: no resource bodies, names, identifiers or query values.

pub mod metrics;
mod request;

pub use request::RequestTracing;

use once_cell::sync::OnceCell;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// The tracer spans are exported through (OTLP in production, an in-memory exporter in tests).
pub type Tracer = opentelemetry_sdk::trace::SdkTracer;

static PROVIDER: OnceCell<SdkTracerProvider> = OnceCell::new();

/// Builds a subscriber: JSON lines to `writer` filtered by `log_filter` (a tracing
/// `EnvFilter` directive such as `info` or `chartroom=debug`), and spans filtered by
/// `trace_filter` to `tracer`. The filters are separate so quiet logs keep full traces.
pub fn subscriber<W>(
    log_filter: &str,
    writer: W,
    tracer: Option<Tracer>,
    trace_filter: &str,
) -> tracing::Dispatch
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = |directives: &str| {
        tracing_subscriber::EnvFilter::try_new(directives)
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"))
    };
    let otel = tracer.map(|t| {
        tracing_opentelemetry::layer()
            .with_tracer(t)
            .with_filter(filter(trace_filter))
    });
    let logs = tracing_subscriber::fmt::layer()
        .json()
        .with_writer(writer)
        .with_current_span(true)
        .with_span_list(false)
        .with_filter(filter(log_filter));
    tracing::Dispatch::new(tracing_subscriber::registry().with(otel).with(logs))
}

/// Spans exported over OTLP: request, auth, transaction and coding spans (`db.query` is debug).
const TRACE_FILTER: &str = "info";

/// Installs the process-wide subscriber: JSON lines on stderr, plus OTLP/HTTP span export
/// when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (the standard `OTEL_*` variables apply).
pub fn init(filter: &str) {
    let tracer = match std::env::var("OTEL_EXPORTER_OTLP_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => match otlp_provider() {
            Ok(provider) => {
                let tracer = provider.tracer("chartroom");
                let _ = PROVIDER.set(provider);
                Some(tracer)
            }
            Err(e) => {
                eprintln!("chartroom: OTLP export to {endpoint} disabled: {e}");
                None
            }
        },
        _ => None,
    };
    let dispatch = subscriber(filter, std::io::stderr, tracer, TRACE_FILTER);
    let _ = tracing::dispatcher::set_global_default(dispatch);
}

fn otlp_provider() -> Result<SdkTracerProvider, String> {
    crate::tls::install_provider();
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .build()
        .map_err(|e| e.to_string())?;
    let resource = opentelemetry_sdk::Resource::builder()
        .with_service_name("chartroom")
        .build();
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build())
}

/// Flushes and stops the OTLP exporter (at shutdown; a no-op without one).
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get() {
        let _ = provider.shutdown();
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_otlp_exporter_builds() {
        // its blocking client is built with rustls, which panics without a provider
        let provider = super::otlp_provider().unwrap();
        let _ = provider.shutdown();
    }
}
