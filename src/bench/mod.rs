//! The benchmark harness behind `chartroom-bench`: generates a synthetic population, starts
//! chartroom in-process on SQLite and on PostgreSQL, loads the population, runs fixed
//! workloads at fixed concurrency for a fixed time next to the raw limits (plain table,
//! trivial HTTP endpoint), and writes the figures under `bench/results/`. Measures, never
//! asserts: no figure here fails anything.

pub mod audit_overhead;
pub mod bulk;
pub mod client;
pub mod coding;
pub mod explain;
pub mod load;
pub mod mixes;
pub mod mpi;
pub mod population;
pub mod raw;
pub mod report;
pub mod reporting;
pub mod workloads;

use crate::config::Config;
use crate::db::{Db, DbOptions};
use crate::http::background;
use load::Stats;
use population::Population;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Which store a run measures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum StoreKind {
    Sqlite,
    Postgres,
}

impl StoreKind {
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::Sqlite => "sqlite",
            StoreKind::Postgres => "postgres",
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub patients: usize,
    pub seed: u64,
    /// Duration of each timed workload.
    pub seconds: f64,
    pub stores: Vec<StoreKind>,
    /// A PostgreSQL database the run may add (and drop) a schema in.
    pub pg_url: String,
    /// Where result files go.
    pub out_dir: PathBuf,
    /// Date in result file names (`YYYY-MM-DD`).
    pub date: String,
    /// Connections of the ingest.
    pub ingest_connections: usize,
    /// Connections of create, update and the searches.
    pub connections: usize,
    /// `synchronous` of the SQLite store (the server default is FULL).
    pub sqlite_synchronous: String,
}

/// Connections of the CRUD mix (issue 11's workload shape).
pub const CRUD_CONNECTIONS: usize = 300;
/// Arrival rate of the fixed-rate Patient search, requests/s.
pub const FIXED_RATE: f64 = 2000.0;
/// Senders of the fixed-rate search.
pub const FIXED_RATE_SENDERS: usize = 64;

/// Connections of the read-by-id sweep.
pub const READ_SWEEP: &[usize] = &[1, 16, 64];

/// Ingest figures.
#[derive(Debug, Clone, Serialize)]
pub struct Ingest {
    pub resources: usize,
    pub bytes: usize,
    pub seconds: f64,
    pub resources_per_s: f64,
    pub mb_per_s: f64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// One search's figures and plan.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    pub name: String,
    pub query: String,
    pub stats: Stats,
    pub plan: Option<explain::Plan>,
}

/// Everything measured on one store.
#[derive(Debug, Clone, Serialize)]
pub struct StoreResult {
    pub store: StoreKind,
    pub date: String,
    pub cores: usize,
    pub patients: usize,
    pub seconds_per_workload: f64,
    pub connections: usize,
    pub sqlite_synchronous: Option<String>,
    pub resources_by_type: std::collections::BTreeMap<String, usize>,
    pub ingest: Ingest,
    pub raw_store: raw::RawStore,
    /// (connections, figures) of read by id and of the raw HTTP endpoint.
    pub read: Vec<(usize, Stats)>,
    pub raw_http: Vec<(usize, Stats)>,
    pub create: Stats,
    pub update: Stats,
    pub searches: Vec<SearchResult>,
    pub coding: coding::CodingFigures,
    /// (clients, figures) of 1 Patient + 1 Observation transactions.
    pub small_transactions: Vec<(usize, Stats)>,
    /// create → read → update → delete over nine types at `CRUD_CONNECTIONS`.
    pub crud_mix: Stats,
    /// `Patient?name=` at a fixed arrival rate.
    pub fixed_rate_search: mixes::FixedRate,
    /// Resident memory of the process (server and load driver together), MB.
    pub rss_mb: f64,
    pub peak_rss_mb: f64,
    pub db_bytes: u64,
    pub db_mb_per_1000_patients: f64,
}

/// Runs every store in `opts` and writes the result files; returns their paths.
pub fn run(opts: &Options) -> Result<Vec<PathBuf>, String> {
    let scratch =
        std::env::temp_dir().join(format!("chartroom-bench-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = run_in(opts, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(opts: &Options, scratch: &Path) -> Result<Vec<PathBuf>, String> {
    eprintln!("generating {} patients (seed {})", opts.patients, opts.seed);
    let population = Population::generate(opts.patients, opts.seed, &scratch.join("population"))?;
    eprintln!(
        "{} resources, {:.1} MB of JSON",
        population.items.len(),
        population.bytes() as f64 / 1e6
    );
    let mut results = Vec::new();
    for &kind in &opts.stores {
        eprintln!("== {}", kind.name());
        results.push(run_store(opts, kind, &population, scratch)?);
    }
    std::fs::create_dir_all(&opts.out_dir)
        .map_err(|e| format!("{}: {e}", opts.out_dir.display()))?;
    report::write_all(&opts.out_dir, &results)
}

/// A scratch database for one store: URL, plus what to drop afterwards.
struct Scratch {
    url: String,
    pg_schema: Option<(String, String)>,
    sqlite_file: Option<PathBuf>,
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Some((admin, schema)) = &self.pg_schema {
            if let Ok(db) = Db::connect(admin, &options(1, "FULL")) {
                if let Ok(mut conn) = db.write() {
                    let _ = conn.batch(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"));
                }
            }
        }
        if let Some(file) = &self.sqlite_file {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
            }
        }
    }
}

fn options(pool_size: u32, synchronous: &str) -> DbOptions {
    DbOptions {
        pool_size,
        sqlite_synchronous: synchronous.to_string(),
    }
}

fn scratch_database(
    opts: &Options,
    kind: StoreKind,
    dir: &Path,
    name: &str,
) -> Result<Scratch, String> {
    scratch_database_for(&opts.pg_url, kind, dir, name)
}

/// A scratch database: a file under `dir`, or a fresh schema in the PostgreSQL database `pg_url`.
fn scratch_database_for(
    pg_url: &str,
    kind: StoreKind,
    dir: &Path,
    name: &str,
) -> Result<Scratch, String> {
    match kind {
        StoreKind::Sqlite => {
            let file = dir.join(format!("{name}.db"));
            Ok(Scratch {
                url: format!("sqlite://{}", file.display()),
                pg_schema: None,
                sqlite_file: Some(file),
            })
        }
        StoreKind::Postgres => {
            let schema = format!("bench_{name}_{}", uuid::Uuid::new_v4().simple());
            let admin = Db::connect(pg_url, &options(1, "FULL"))?;
            admin
                .write()
                .map_err(|e| format!("PostgreSQL at {pg_url}: {e}"))?
                .batch(&format!("CREATE SCHEMA {schema}"))
                .map_err(|e| format!("create schema: {e}"))?;
            let sep = if pg_url.contains('?') { '&' } else { '?' };
            Ok(Scratch {
                url: format!("{pg_url}{sep}options=-csearch_path%3D{schema}"),
                pg_schema: Some((pg_url.to_string(), schema)),
                sqlite_file: None,
            })
        }
    }
}

fn run_store(
    opts: &Options,
    kind: StoreKind,
    population: &Population,
    dir: &Path,
) -> Result<StoreResult, String> {
    let duration = Duration::from_secs_f64(opts.seconds.max(0.1));
    let scratch = scratch_database(opts, kind, dir, "chartroom")?;
    let config = Config {
        database_url: scratch.url.clone(),
        auth: "off".into(),
        log: "error".into(),
        sqlite_synchronous: opts.sqlite_synchronous.clone(),
        ..Config::default()
    };
    let pool_size = config.pool_size;
    let store = crate::open_store(config)?;
    let db = store.db.clone();
    let coding_store = store.clone();
    let server = background::spawn(store).map_err(|e| format!("start server: {e}"))?;
    let addr = server.addr;

    eprintln!("ingest ({} connections)", opts.ingest_connections);
    let started = Instant::now();
    let mut errors = 0;
    let mut first_error = None;
    let mut latencies = (0.0f64, 0.0f64);
    for phase in population.phases("/fhir") {
        let stats = load::run_all(addr, opts.ingest_connections, &phase);
        errors += stats.errors;
        if first_error.is_none() {
            first_error = stats.first_error;
        }
        latencies = (latencies.0.max(stats.p50_ms), latencies.1.max(stats.p99_ms));
    }
    let seconds = started.elapsed().as_secs_f64();
    db.analyze().map_err(|e| format!("ANALYZE: {e}"))?;
    let ingest = Ingest {
        resources: population.items.len(),
        bytes: population.bytes(),
        seconds,
        resources_per_s: population.items.len() as f64 / seconds,
        mb_per_s: population.bytes() as f64 / 1e6 / seconds,
        errors,
        first_error,
        p50_ms: latencies.0,
        p99_ms: latencies.1,
    };
    eprintln!(
        "  {:.0} resources/s, {} errors",
        ingest.resources_per_s, ingest.errors
    );
    let db_bytes = report::database_bytes(&db, scratch.sqlite_file.as_deref())?;

    eprintln!("raw store");
    let raw_scratch = scratch_database(opts, kind, dir, "raw")?;
    let raw_db = Db::connect(
        &raw_scratch.url,
        &options(pool_size, &opts.sqlite_synchronous),
    )?;
    let raw_store = raw::run(&raw_db, population, duration).map_err(|e| e.to_string())?;
    drop(raw_db);
    drop(raw_scratch);

    let patients = population.ids("Patient");
    let target = workloads::Target {
        addr,
        duration,
        patients: &patients,
    };
    let sample = client::Client::new(addr)
        .send("GET", &format!("/fhir/Patient/{}", patients[0]), None)
        .map_err(|e| format!("read a patient: {e}"))?;
    let raw_server = background::spawn_fixed_body(sample.body, "application/fhir+json".into())
        .map_err(|e| format!("start raw HTTP server: {e}"))?;
    let mut read = Vec::new();
    let mut raw_http = Vec::new();
    for &c in READ_SWEEP {
        eprintln!("read by id, {c} connections");
        read.push((c, workloads::read(&target, c)));
        raw_http.push((c, workloads::raw_http(raw_server.addr, duration, c)));
    }
    if !READ_SWEEP.contains(&opts.connections) {
        raw_http.push((
            opts.connections,
            workloads::raw_http(raw_server.addr, duration, opts.connections),
        ));
    }
    drop(raw_server);

    let mut searches = Vec::new();
    for case in workloads::SEARCHES {
        eprintln!("search: {}", case.name);
        // Plans first, while every pooled connection is free.
        let plan = case.explain.then(|| {
            let query = case.query.replace("{patient}", &patients[0]);
            db.read()
                .and_then(|mut conn| explain::explain(&mut conn, &query))
                .unwrap_or_else(|e| explain::Plan::failed(&e.to_string()))
        });
        let stats = workloads::search(&target, case, opts.connections);
        searches.push(SearchResult {
            name: case.name.to_string(),
            query: case.query.to_string(),
            stats,
            plan,
        });
    }
    eprintln!("create, update");
    let create = workloads::create(&target, opts.connections);
    let update = workloads::update(&target, opts.connections);
    let mut small_transactions = Vec::new();
    for &c in mixes::TRANSACTION_SWEEP {
        eprintln!("small transactions, {c} clients");
        small_transactions.push((c, mixes::small_transactions(&target, c)));
    }
    eprintln!("CRUD mix, {CRUD_CONNECTIONS} connections");
    let crud_mix = mixes::crud_mix(&target, CRUD_CONNECTIONS);
    eprintln!("Patient search at {FIXED_RATE} req/s");
    let fixed_rate_search =
        mixes::fixed_rate_patient_search(&target, FIXED_RATE, FIXED_RATE_SENDERS);
    eprintln!("coding: validation on write, $lookup, $audit-coding, sweep");
    let coding = coding::run(&target, &coding_store, opts.connections)?;
    drop(coding_store);
    let (rss_mb, peak_rss_mb) = report::rss_mb();
    drop(server);
    drop(db);
    let result = StoreResult {
        store: kind,
        date: opts.date.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        patients: population.patients,
        seconds_per_workload: opts.seconds,
        connections: opts.connections,
        sqlite_synchronous: (kind == StoreKind::Sqlite).then(|| opts.sqlite_synchronous.clone()),
        resources_by_type: population.counts.clone(),
        ingest,
        raw_store,
        read,
        raw_http,
        create,
        update,
        searches,
        coding,
        small_transactions,
        crud_mix,
        fixed_rate_search,
        rss_mb,
        peak_rss_mb,
        db_bytes,
        db_mb_per_1000_patients: db_bytes as f64 / 1e6 * 1000.0 / population.patients.max(1) as f64,
    };
    drop(scratch);
    Ok(result)
}
