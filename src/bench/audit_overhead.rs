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
    /// CPU time of the whole process (servers, audit writer and client) per read.
    cpu_on_us: f64,
    cpu_off_us: f64,
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

/// CPU seconds this process has used so far, all threads.
fn process_cpu_seconds() -> f64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// Runs `round`, returning its stats and the process CPU µs per request it took, counting
/// whatever `settle` does after it (the audit writer draining the round's records).
fn measured(round: impl FnOnce() -> Stats, settle: impl FnOnce()) -> (Stats, f64) {
    let before = process_cpu_seconds();
    let stats = round();
    settle();
    let per_request = (process_cpu_seconds() - before) * 1e6 / stats.requests.max(1) as f64;
    (stats, per_request)
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
        // the population goes in through a server of its own, so that the two measured
        // servers start alike (neither carries the ingest's caches and pools)
        let loader = background::spawn(crate::open_store(config(&db.url, opts, true))?)
            .map_err(|e| format!("start server: {e}"))?;
        for phase in population.phases("/fhir") {
            let stats = load::run_all(loader.addr, opts.ingest_connections, &phase);
            if stats.errors > 0 {
                return Err(format!("ingest: {:?}", stats.first_error));
            }
        }
        drop(loader);
        let audited = crate::open_store(config(&db.url, opts, true))?;
        let audit_db = audited.db.clone();
        let sink = audited.audit.clone();
        let on = background::spawn(audited).map_err(|e| format!("start server: {e}"))?;
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
        // a warm-up round on each server, so the first measured round (always audit on)
        // does not pay for cold caches and a growing thread pool
        for addr in [on.addr, off.addr] {
            let warm = workloads::Target {
                duration: duration.min(Duration::from_secs(2)),
                ..target(addr)
            };
            workloads::read(&warm, 16);
        }
        sink.flush();
        for &c in CONNECTIONS {
            let before = count_audit(&audit_db)?;
            let (mut with, mut without) = (Vec::new(), Vec::new());
            let (mut cpu_on, mut cpu_off) = (0.0, 0.0);
            for _ in 0..ROUNDS {
                let (stats, cpu) =
                    measured(|| workloads::read(&target(on.addr), c), || sink.flush());
                with.push(stats);
                cpu_on += cpu / ROUNDS as f64;
                let (stats, cpu) = measured(|| workloads::read(&target(off.addr), c), || ());
                without.push(stats);
                cpu_off += cpu / ROUNDS as f64;
            }
            let audit_rows = count_audit(&audit_db)? - before;
            eprintln!(
                "  {c} connections: audit on {:.0} req/s, off {:.0} req/s; CPU per read {cpu_on:.1} / {cpu_off:.1} µs",
                mean_rate(&with),
                mean_rate(&without)
            );
            rows.push(Row {
                store: kind,
                connections: c,
                on: with,
                off: without,
                raw: workloads::raw_http(raw.addr, duration, c),
                cpu_on_us: cpu_on,
                cpu_off_us: cpu_off,
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
         the throughput. CPU per read is the whole process's CPU time (both servers, the audit \
         writer draining the round's records, and the load client) over the reads of a round: \
         steadier than throughput on a noisy machine.\n",
        opts.seconds
    );
    let _ = writeln!(
        out,
        "| store | connections | audit on req/s | audit off req/s | overhead | p50 on / off ms | p99 on / off ms | CPU µs per read on / off | CPU overhead | raw HTTP req/s | audit events written |"
    );
    let _ = writeln!(
        out,
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
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
            "| {} | {} | {:.0} | {:.0} | {:.1} % | {:.2} / {:.2} | {:.2} / {:.2} | {:.1} / {:.1} | {:.1} % | {:.0} | {}{} |",
            r.store.name(),
            r.connections,
            on,
            off,
            overhead,
            median_of(&r.on, |s| s.p50_ms),
            median_of(&r.off, |s| s.p50_ms),
            median_of(&r.on, |s| s.p99_ms),
            median_of(&r.off, |s| s.p99_ms),
            r.cpu_on_us,
            r.cpu_off_us,
            (r.cpu_on_us / r.cpu_off_us.max(f64::MIN_POSITIVE) - 1.0) * 100.0,
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
