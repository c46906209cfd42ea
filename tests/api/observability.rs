//! Traces, logs and metrics through the real server: the request span (with the caller's
//! traceparent, its attributes and a child database span) in an in-memory span exporter;
//! no PHI in debug-level logs; a request counted in `/metrics`.

use crate::helpers::{spawn, spawn_traced, Backend, TestApp};
use opentelemetry::trace::TracerProvider as _;
use opentelemetry::Value as OtelValue;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SdkTracerProvider, SpanData, SpanExporter};
use serde_json::json;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Keeps every exported span in memory.
#[derive(Debug, Clone, Default)]
struct MemoryExporter(Arc<Mutex<Vec<SpanData>>>);

impl SpanExporter for MemoryExporter {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        self.0.lock().unwrap().extend(batch);
        std::future::ready(Ok(()))
    }
}

/// Log lines written into a shared buffer.
pub(crate) struct Capture(pub(crate) Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn attribute(span: &SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| match &kv.value {
            OtelValue::String(s) => s.to_string(),
            other => other.to_string(),
        })
}

/// A server whose spans go to an in-memory exporter and whose logs (at `filter`) to a buffer.
fn traced(backend: Backend, filter: &str) -> (TestApp, MemoryExporter, Arc<Mutex<Vec<u8>>>) {
    let exporter = MemoryExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_simple_exporter(exporter.clone())
        .build();
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let writer = move || Capture(sink.clone());
    let tracer = Some(provider.tracer("test"));
    let dispatch = chartroom::telemetry::subscriber(filter, writer, tracer, "info,chartroom=debug");
    let app = spawn_traced(backend, |_| {}, Some(dispatch));
    (app, exporter, logs)
}

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";

fn request_span_continues_the_callers_trace(backend: Backend) {
    // quiet logs do not thin out the exported spans
    let (app, exporter, _) = traced(backend, "warn");
    let response = app
        .post(
            "Patient",
            &json!({"resourceType": "Patient", "gender": "female"}),
        )
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    let request_id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let started = Instant::now();
    let (request, spans) = loop {
        let spans = exporter.0.lock().unwrap().clone();
        if let Some(s) = spans
            .iter()
            .find(|s| s.name == "POST /fhir/{type}")
            .cloned()
        {
            break (s, spans);
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no request span exported: {:?}",
            spans.iter().map(|s| s.name.to_string()).collect::<Vec<_>>()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(request.span_context.trace_id().to_string(), TRACE_ID);
    assert_eq!(request.parent_span_id.to_string(), "00f067aa0ba902b7");
    assert_eq!(
        attribute(&request, "http.route").as_deref(),
        Some("/fhir/{type}")
    );
    assert_eq!(
        attribute(&request, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(
        attribute(&request, "http.response.status_code").as_deref(),
        Some("201")
    );
    assert_eq!(
        attribute(&request, "resource_type").as_deref(),
        Some("Patient")
    );
    assert_eq!(attribute(&request, "request_id"), Some(request_id));
    assert!(attribute(&request, "latency_ms").is_some());
    let request_span_id = request.span_context.span_id();
    let db = spans
        .iter()
        .find(|s| s.name == "db.transaction" && s.parent_span_id == request_span_id)
        .unwrap_or_else(|| panic!("no db.transaction child of the request span"));
    assert_eq!(db.span_context.trace_id().to_string(), TRACE_ID);
    let system = if backend == Backend::Sqlite {
        "sqlite"
    } else {
        "postgresql"
    };
    assert_eq!(attribute(db, "db.system").as_deref(), Some(system));
    assert!(
        spans
            .iter()
            .any(|s| s.name == "db.query" && s.parent_span_id == db.span_context.span_id()),
        "no db.query span inside the transaction"
    );
}
crate::on_both_backends!(request_span_continues_the_callers_trace);

/// Names, identifiers and contact details that must never reach a log line.
const PHI: &[&str] = &[
    "Quillfeather",
    "Ottoline",
    "MRN-PHI-837261",
    "555-0199-4471",
    "Marrowgate",
];

fn debug_logs_carry_no_phi(backend: Backend) {
    let (app, _, logs) = traced(backend, "debug");
    let patient = json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.3.4", "value": "MRN-PHI-837261"}],
        "name": [{"family": "Quillfeather", "given": ["Ottoline"]}],
        "telecom": [{"system": "phone", "value": "555-0199-4471"}],
        "address": [{"line": ["1 Marrowgate"], "city": "Springfield"}],
        "gender": "female",
        "birthDate": "1961-04-02"
    });
    let created = app.create(&patient);
    let id = created["id"].as_str().unwrap();
    for query in [
        "Patient?name=Quillfeather",
        "Patient?identifier=urn:oid:1.2.3.4|MRN-PHI-837261",
        "Patient?phone=555-0199-4471&given=Ottoline",
        "Patient?address=1%20Marrowgate",
    ] {
        let (status, bundle) = crate::helpers::parts(app.get(query).send().unwrap());
        assert_eq!(status, 200, "{query}: {bundle}");
        assert_eq!(bundle["total"], 1, "{query}");
    }
    assert_eq!(
        app.get(&format!("Patient/{id}")).send().unwrap().status(),
        200
    );
    // a refused write echoes the value in its OperationOutcome, never in the logs
    let mut bad = patient.clone();
    bad["birthDate"] = json!("Quillfeather");
    assert_eq!(app.post("Patient", &bad).send().unwrap().status(), 400);
    drop(app);
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    assert!(
        text.matches("request finished").count() >= 7,
        "the server's logs were not captured:\n{text}"
    );
    for secret in PHI {
        let line = text.lines().find(|l| l.contains(secret));
        assert!(
            line.is_none(),
            "{secret} logged: {}",
            line.unwrap_or_default()
        );
    }
}
crate::on_both_backends!(debug_logs_carry_no_phi);

fn metric_value(text: &str, name: &str, labels: &[&str]) -> Option<f64> {
    text.lines()
        .filter(|l| l.starts_with(name))
        .find(|l| labels.iter().all(|label| l.contains(label)))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

fn requests_show_up_in_metrics(backend: Backend) {
    let app = spawn(backend);
    let metrics = || {
        app.client
            .get(format!("{}/metrics", app.root()))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    app.create(&json!({"resourceType": "Patient"}));
    for _ in 0..3 {
        assert_eq!(app.get("Patient/missing").send().unwrap().status(), 404);
    }
    let text = metrics();
    let count = metric_value(
        &text,
        "chartroom_http_requests_total",
        &[
            "endpoint=\"/fhir/{type}/{id}\"",
            "method=\"GET\"",
            "status=\"404\"",
        ],
    );
    assert_eq!(count, Some(3.0), "{text}");
    assert!(
        metric_value(
            &text,
            "chartroom_http_requests_duration_seconds_count",
            &["endpoint=\"/fhir/{type}\"", "status=\"201\""],
        ) == Some(1.0),
        "{text}"
    );
    assert!(metric_value(&text, "chartroom_db_transactions_total", &["commit"]).unwrap() >= 1.0);
    assert!(metric_value(&text, "chartroom_db_pool_size", &[]).unwrap() >= 1.0);
    assert!(text.contains("chartroom_db_pool_connections{state=\"idle\"}"));
    assert!(text.contains("# TYPE chartroom_auth_failures_total counter"));
    // the docs UI's assets are not counted
    app.client
        .get(format!("{}/docs/", app.root()))
        .send()
        .unwrap();
    assert!(!metrics().contains("endpoint=\"/docs"));
}
crate::on_both_backends!(requests_show_up_in_metrics);

#[test]
fn auth_failures_are_counted_by_reason() {
    let app = crate::helpers::spawn_with(Backend::Sqlite, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some("observability-test-secret-0123456789".into());
    });
    let before = |text: &str, reason: &str| {
        metric_value(
            text,
            "chartroom_auth_failures_total",
            &[&format!("reason=\"{reason}\"")],
        )
        .unwrap_or(0.0)
    };
    let scrape = || {
        app.client
            .get(format!("{}/metrics", app.root()))
            .send()
            .unwrap()
            .text()
            .unwrap()
    };
    let start = scrape();
    assert_eq!(app.get("Patient").send().unwrap().status(), 401);
    assert_eq!(
        app.get("Patient")
            .bearer_auth("not-a-jwt")
            .send()
            .unwrap()
            .status(),
        401
    );
    let end = scrape();
    // the counters are process-wide (other tests run in parallel), so they only grow
    assert!(before(&end, "missing_token") >= before(&start, "missing_token") + 1.0);
    assert!(before(&end, "invalid_token") >= before(&start, "invalid_token") + 1.0);
}

/// (path, body) of every request the collector stand-in got.
type Received = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// A collector stand-in: records the path and body of every request it gets.
fn otlp_sink() -> (String, Received) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = format!("http://{}", listener.local_addr().unwrap());
    let received = Arc::new(Mutex::new(Vec::new()));
    let store = received.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let mut reader = BufReader::new(stream);
            let mut request_line = String::new();
            let _ = reader.read_line(&mut request_line);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some((name, value)) = line.split_once(':') {
                    if name.eq_ignore_ascii_case("content-length") {
                        length = value.trim().parse().unwrap_or(0);
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let path = request_line
                .split_whitespace()
                .nth(1)
                .unwrap_or("")
                .to_string();
            store.lock().unwrap().push((path, body));
            let _ = reader
                .get_mut()
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (address, received)
}

#[test]
fn spans_are_exported_over_otlp_when_the_endpoint_is_set() {
    let (endpoint, received) = otlp_sink();
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("otlp-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .arg("serve")
        .current_dir(&dir)
        .env("CHARTROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHARTROOM_DATABASE_URL", "sqlite://chartroom.db")
        .env("CHARTROOM_AUTH", "off")
        .env("CHARTROOM_LOG", "warn")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint)
        .env("OTEL_BSP_SCHEDULE_DELAY", "200")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let client = reqwest::blocking::Client::new();
    let base = format!("http://127.0.0.1:{port}");
    let started = Instant::now();
    while client.get(format!("{base}/health/live")).send().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let status = client
        .get(format!("{base}/fhir/Patient"))
        .header("traceparent", format!("00-{TRACE_ID}-00f067aa0ba902b7-01"))
        .send()
        .unwrap()
        .status();
    let trace_id: Vec<u8> = (0..16)
        .map(|i| u8::from_str_radix(&TRACE_ID[2 * i..2 * i + 2], 16).unwrap())
        .collect();
    let exported = loop {
        let found = received.lock().unwrap().iter().any(|(path, body)| {
            path == "/v1/traces" && body.windows(16).any(|w| w == trace_id.as_slice())
        });
        if found || started.elapsed() > Duration::from_secs(30) {
            break found;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(status, 200);
    assert!(
        exported,
        "no OTLP export carrying the caller's trace id; got {:?}",
        received
            .lock()
            .unwrap()
            .iter()
            .map(|(p, b)| (p.clone(), b.len()))
            .collect::<Vec<_>>()
    );
}
