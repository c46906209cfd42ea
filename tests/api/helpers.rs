//! Test harness: every test gets its own server on a random port and its own database
//! (a fresh SQLite file, or a fresh PostgreSQL schema), dropped afterwards.

use chartroom::config::Config;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::Connection;
use reqwest::blocking::{Client, RequestBuilder, Response};
use serde_json::Value;
use std::net::TcpListener;
use std::path::PathBuf;
use std::sync::mpsc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// PostgreSQL server the tests use (a database that exists; each test adds a schema).
pub fn pg_admin_url() -> String {
    std::env::var("CHARTROOM_TEST_PG_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

enum TestDb {
    Sqlite(PathBuf),
    Postgres(String),
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self {
            TestDb::Sqlite(path) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
            }
            TestDb::Postgres(schema) => {
                if let Ok(mut conn) = PgConnection::establish(&pg_admin_url()) {
                    let _ = conn.batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
    }
}

/// A running server and a client for it.
pub struct TestApp {
    pub base: String,
    /// The database URL the server uses (for tests that inspect or damage the store directly).
    pub database_url: String,
    pub client: Client,
    pub backend: Backend,
    handle: Option<actix_web::dev::ServerHandle>,
    thread: Option<std::thread::JoinHandle<()>>,
    _db: TestDb,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            actix_web::rt::System::new().block_on(handle.stop(true));
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn unique(prefix: &str) -> String {
    format!("{prefix}{}", uuid::Uuid::new_v4().simple())
}

/// Database URL and guard for a fresh store.
fn fresh_database(backend: Backend) -> (String, TestDb) {
    match backend {
        Backend::Sqlite => {
            let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
            let path = dir.join(format!("{}.db", unique("test_")));
            (format!("sqlite://{}", path.display()), TestDb::Sqlite(path))
        }
        Backend::Postgres => {
            let schema = unique("t_");
            let mut conn = PgConnection::establish(&pg_admin_url()).unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL at {} is needed for the tests: {e}",
                    pg_admin_url()
                )
            });
            conn.batch_execute(&format!("CREATE SCHEMA {schema}"))
                .expect("create schema");
            let sep = if pg_admin_url().contains('?') {
                '&'
            } else {
                '?'
            };
            let url = format!("{}{sep}options=-csearch_path%3D{schema}", pg_admin_url());
            (url, TestDb::Postgres(schema))
        }
    }
}

/// Starts a server with `adjust` applied to its configuration.
pub fn spawn_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
    spawn_traced(backend, adjust, None)
}

/// Starts a server whose spans and logs go to `dispatch` (None: the process-wide subscriber).
pub fn spawn_traced(
    backend: Backend,
    adjust: impl FnOnce(&mut Config),
    dispatch: Option<tracing::Dispatch>,
) -> TestApp {
    let (url, guard) = fresh_database(backend);
    let mut config = Config {
        database_url: url.clone(),
        auth: "off".into(),
        pool_size: 4,
        sqlite_synchronous: "NORMAL".into(),
        ..Config::default()
    };
    adjust(&mut config);
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().unwrap().port();
    let store = chartroom::open_store(config).expect("open store");
    let (tx, rx) = mpsc::channel();
    let thread = std::thread::spawn(move || {
        actix_web::rt::System::new().block_on(async move {
            let server = chartroom::start_traced(store, listener, dispatch).expect("start server");
            tx.send(server.handle()).expect("send handle");
            let _ = server.await;
        })
    });
    let handle = rx.recv().expect("server handle");
    TestApp {
        base: format!("http://127.0.0.1:{port}/fhir"),
        database_url: url,
        client: Client::builder()
            .timeout(std::time::Duration::from_secs(120))
            .build()
            .unwrap(),
        backend,
        handle: Some(handle),
        thread: Some(thread),
        _db: guard,
    }
}

pub fn spawn(backend: Backend) -> TestApp {
    spawn_with(backend, |_| {})
}

/// A server whose writes open no deficiency Tasks (for tests that count every resource or
/// audit event the store holds).
pub fn spawn_without_rules(backend: Backend) -> TestApp {
    spawn_with(backend, |c| c.deficiency_rules = "off".into())
}

/// Runs a test body against SQLite and against PostgreSQL, on servers from `$spawn`.
#[macro_export]
macro_rules! both_with {
    ($name:ident, $spawn:path, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                let body: fn($crate::helpers::TestApp) = $body;
                body($spawn($crate::helpers::Backend::Sqlite));
            }
            #[test]
            fn postgres() {
                let body: fn($crate::helpers::TestApp) = $body;
                body($spawn($crate::helpers::Backend::Postgres));
            }
        }
    };
}

/// Runs a test body against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! both {
    ($name:ident, $body:expr) => {
        $crate::both_with!($name, $crate::helpers::spawn, $body);
    };
}

/// Like [`both!`], on servers from [`spawn_without_rules`].
#[macro_export]
macro_rules! both_without_rules {
    ($name:ident, $body:expr) => {
        $crate::both_with!($name, $crate::helpers::spawn_without_rules, $body);
    };
}

pub const FHIR_JSON: &str = "application/fhir+json";

impl TestApp {
    /// Runs SQL statements directly on the server's database.
    pub fn execute_sql(&self, statements: &str) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.database_url.trim_start_matches("sqlite://");
                let mut conn =
                    diesel::sqlite::SqliteConnection::establish(path).expect("open sqlite");
                conn.batch_execute(statements).expect("execute sql");
            }
            Backend::Postgres => {
                let mut conn = PgConnection::establish(&self.database_url).expect("open postgres");
                conn.batch_execute(statements).expect("execute sql");
            }
        }
    }

    /// The server's root URL (where `/metrics`, `/openapi.json`, `/admin` live).
    pub fn root(&self) -> &str {
        self.base.trim_end_matches("/fhir")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}/{}", self.base, path.trim_start_matches('/'))
    }

    pub fn get(&self, path: &str) -> RequestBuilder {
        self.client.get(self.url(path))
    }

    pub fn post(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client
            .post(self.url(path))
            .header("Content-Type", FHIR_JSON)
            .body(body.to_string())
    }

    pub fn put(&self, path: &str, body: &Value) -> RequestBuilder {
        self.client
            .put(self.url(path))
            .header("Content-Type", FHIR_JSON)
            .body(body.to_string())
    }

    pub fn delete(&self, path: &str) -> RequestBuilder {
        self.client.delete(self.url(path))
    }

    /// Creates a resource and returns the stored JSON (asserting 201).
    pub fn create(&self, resource: &Value) -> Value {
        let t = resource["resourceType"].as_str().expect("resourceType");
        let response = self.post(t, resource).send().expect("send");
        let status = response.status().as_u16();
        let body: Value = response.json().expect("json body");
        assert_eq!(status, 201, "create {t} failed: {body}");
        body
    }
}

/// Writes each resource with `PUT [type]/[id]` (asserting 200 or 201).
pub fn put_all(app: &TestApp, resources: Vec<Value>) {
    for resource in resources {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let (status, body) = parts(app.put(&path, &resource).send().unwrap());
        assert!(status == 201 || status == 200, "{path}: {body}");
    }
}

/// Ids of the resources a search matched (`search.mode = match`), sorted.
pub fn match_ids(app: &TestApp, query: &str) -> Vec<String> {
    let (status, bundle) = parts(app.get(query).send().unwrap());
    assert_eq!(status, 200, "{query}: {bundle}");
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

/// Status and parsed JSON body (Null when empty).
pub fn parts(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let text = response.text().unwrap_or_default();
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    (status, body)
}

/// The resources of a Bundle's entries (none when it has no entry).
pub fn entry_resources(bundle: &Value) -> Vec<Value> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| e["resource"].clone())
        .collect()
}

/// The first issue's expression list of an OperationOutcome.
pub fn issue_expressions(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|i| i["expression"].as_array().cloned().unwrap_or_default())
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect()
}

/// Runs a test function taking a `Backend` against SQLite and against PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite)
            }
            #[test]
            fn postgres() {
                super::$name($crate::helpers::Backend::Postgres)
            }
        }
    };
}
