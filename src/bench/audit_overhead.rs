//! The audit read-overhead benchmark (`chartroom-bench --audit`): read by id through two
//! servers on the same loaded database, one recording every read in the audit trail
//! (the default), one with `audit_reads = false`, measured in alternating rounds within
//! one run, next to the raw HTTP limit. Writes `bench/results/audit.md`.

use super::load::Stats;
use super::population::Population;
use super::{load, scratch_database, workloads, Options, StoreKind};
use crate::config::Config;
use crate::http::background;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Connections of the comparison.
const CONNECTIONS: &[usize] = &[1, 16];
/// Alternating rounds per connection count (audit on, off, on, off ...).
const ROUNDS: usize = 3;

/// One store's side-by-side figures.
struct Row {
    store: StoreKind,
    connections: usize,
    on: Vec<Stats>,
    off: Vec<Stats>,
    raw: Stats,
    audit_rows: i64,
}

fn config(url: &str, opts: &Options, audit_reads: bool) -> Config {
    Config {
        database_url: url.to_string(),
        auth: "off".into(),
        log: "error".into(),
        sqlite_synchronous: opts.sqlite_synchronous.clone(),
        audit_reads,
        ..Config::default()
    }
}

fn mean_rate(runs: &[Stats]) -> f64 {
    runs.iter().map(|s| s.req_per_s).sum::<f64>() / runs.len().max(1) as f64
}

fn median_of(runs: &[Stats], f: impl Fn(&Stats) -> f64) -> f64 {
    let mut values: Vec<f64> = runs.iter().map(f).collect();
    values.sort_by(|a, b| a.total_cmp(b));
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

/// Runs the comparison on every store of `opts`; returns the path of `audit.md`.
pub fn run(opts: &Options) -> Result<PathBuf, String> {
    let scratch =
        std::env::temp_dir().join(format!("chartroom-audit-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = run_in(opts, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn run_in(opts: &Options, dir: &Path) -> Result<PathBuf, String> {
    let population = Population::generate(opts.patients, opts.seed, &dir.join("population"))?;
    let duration = Duration::from_secs_f64(opts.seconds.max(0.1));
    let mut rows = Vec::new();
    for &kind in &opts.stores {
        eprintln!("== {} (audit overhead)", kind.name());
        let db = scratch_database(opts, kind, dir, "audit")?;
        let audited = crate::open_store(config(&db.url, opts, true))?;
        let audit_db = audited.db.clone();
        let on = background::spawn(audited).map_err(|e| format!("start server: {e}"))?;
        for phase in population.phases("/fhir") {
            let stats = load::run_all(on.addr, opts.ingest_connections, &phase);
            if stats.errors > 0 {
                return Err(format!("ingest: {:?}", stats.first_error));
            }
        }
        let off = background::spawn(crate::open_store(config(&db.url, opts, false))?)
            .map_err(|e| format!("start server: {e}"))?;
        let patients = population.ids("Patient");
        let sample = super::client::Client::new(on.addr)
            .send("GET", &format!("/fhir/Patient/{}", patients[0]), None)
            .map_err(|e| format!("read a patient: {e}"))?;
        let raw = background::spawn_fixed_body(sample.body, "application/fhir+json".into())
            .map_err(|e| format!("start raw HTTP server: {e}"))?;
        let target = |addr| workloads::Target {
            addr,
            duration,
            patients: &patients,
        };
        for &c in CONNECTIONS {
            let before = count_audit(&audit_db)?;
            let (mut with, mut without) = (Vec::new(), Vec::new());
            for _ in 0..ROUNDS {
                with.push(workloads::read(&target(on.addr), c));
                without.push(workloads::read(&target(off.addr), c));
            }
            let audit_rows = count_audit(&audit_db)? - before;
            eprintln!(
                "  {c} connections: audit on {:.0} req/s, off {:.0} req/s",
                mean_rate(&with),
                mean_rate(&without)
            );
            rows.push(Row {
                store: kind,
                connections: c,
                on: with,
                off: without,
                raw: workloads::raw_http(raw.addr, duration, c),
                audit_rows,
            });
        }
        drop((on, off, raw, db));
    }
    let path = opts.out_dir.join("audit.md");
    std::fs::create_dir_all(&opts.out_dir).map_err(|e| e.to_string())?;
    std::fs::write(&path, render(opts, &rows)).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// Audit events written so far (after the sink has drained what was queued).
fn count_audit(db: &crate::db::Db) -> Result<i64, String> {
    let mut conn = db.read().map_err(|e| e.to_string())?;
    crate::db::audit::count(&mut conn).map_err(|e| e.to_string())
}

fn render(opts: &Options, rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# Audit trail: read-by-id overhead\n");
    let _ = writeln!(
        out,
        "Read by id (`GET /fhir/Patient/{{id}}`, random patients) through two servers on the same \
         loaded database in one process: one records every read as an AuditEvent (the default, \
         batched by the background writer, hash-chained), the other runs with `audit_reads = false`. \
         {ROUNDS} alternating rounds of {:.1} s each per connection count; the raw HTTP column is a \
         server answering the same bytes without any work. Goal: audit on costs at most 15 % of \
         the throughput.\n",
        opts.seconds
    );
    let _ = writeln!(
        out,
        "| store | connections | audit on req/s | audit off req/s | overhead | p50 on / off ms | p99 on / off ms | raw HTTP req/s | audit events written |"
    );
    let _ = writeln!(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let (on, off) = (mean_rate(&r.on), mean_rate(&r.off));
        let overhead = if off > 0.0 {
            (1.0 - on / off) * 100.0
        } else {
            0.0
        };
        let errors: u64 = r.on.iter().chain(&r.off).map(|s| s.errors).sum();
        let _ = writeln!(
            out,
            "| {} | {} | {:.0} | {:.0} | {:.1} % | {:.2} / {:.2} | {:.2} / {:.2} | {:.0} | {}{} |",
            r.store.name(),
            r.connections,
            on,
            off,
            overhead,
            median_of(&r.on, |s| s.p50_ms),
            median_of(&r.off, |s| s.p50_ms),
            median_of(&r.on, |s| s.p99_ms),
            median_of(&r.off, |s| s.p99_ms),
            r.raw.req_per_s,
            r.audit_rows,
            if errors > 0 {
                format!(" ({errors} errors)")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(
        out,
        "\nPopulation: {} synthetic patients (seed {}); SQLite synchronous={}; {} cores.",
        opts.patients,
        opts.seed,
        opts.sqlite_synchronous,
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    out
}
