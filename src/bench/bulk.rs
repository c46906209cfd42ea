//! The bulk workloads: ingest of the synthetic population's transaction Bundles over HTTP
//! (`POST /fhir`, providers first, then one Bundle per patient) next to the raw bulk-insert
//! baseline on the same database, then a full-system export (the exporter `$export` and
//! `chartroom export` share) with its speed and peak memory — once on the population and
//! once more after adding large Binary and DocumentReference attachments, each export in a
//! `chartroom export` process of its own so its peak RSS is the export's. Writes
//! `ingest.md` and `ingest.json`. Measures, never asserts.

use super::population::Population;
use super::{raw, scratch_database, Options, StoreKind};
use crate::auth::audit::Who;
use crate::http::background;
use serde::Serialize;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Large resources added before the second export: (type, count, MB of data each).
const ATTACHMENTS: &[(&str, usize, usize)] = &[("Binary", 12, 8), ("DocumentReference", 8, 4)];

/// One export's figures.
#[derive(Debug, Clone, Serialize)]
pub struct ExportFigures {
    pub types: String,
    pub resources: i64,
    pub files: usize,
    pub bytes: u64,
    pub seconds: f64,
    pub resources_per_s: f64,
    pub mb_per_s: f64,
    /// Peak resident memory of the `chartroom export` process, MB.
    pub peak_rss_mb: f64,
    /// The largest single resource exported, MB.
    pub largest_resource_mb: f64,
}

/// Everything measured on one store.
#[derive(Debug, Clone, Serialize)]
pub struct BulkResult {
    pub store: StoreKind,
    pub date: String,
    pub cores: usize,
    pub patients: usize,
    pub bundles: usize,
    pub connections: usize,
    pub sqlite_synchronous: Option<String>,
    pub resources: usize,
    pub bundle_bytes: usize,
    pub ingest_seconds: f64,
    pub resources_per_s: f64,
    /// The same ingest with `deficiency_rules = off` (no worklist Tasks written).
    pub resources_per_s_rules_off: f64,
    /// Rows that ingest (rules off) stored per resource: current row, version, index rows,
    /// projection rows (the raw baseline stores one).
    pub rows_per_resource: f64,
    pub mb_per_s: f64,
    pub errors: usize,
    pub first_error: Option<String>,
    pub raw_rows: usize,
    pub raw_bytes: usize,
    pub raw_rows_per_s: f64,
    pub raw_mb_per_s: f64,
    /// The same Bundles through `chartroom import` (its own process, rules on).
    pub import: ImportFigures,
    pub export: ExportFigures,
    /// Attachments only, after one round of [`ATTACHMENTS`], then after a second round
    /// (twice the data: a flat peak RSS shows memory does not follow the export's size).
    pub attachments_export: ExportFigures,
    pub attachments_export_doubled: ExportFigures,
    pub export_with_attachments: ExportFigures,
}

/// A transaction Bundle to post: its text and entry count.
struct BundleFile {
    body: Vec<u8>,
    entries: usize,
}

fn bundles(dir: &Path) -> Result<Vec<BundleFile>, String> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|p| {
            let body = std::fs::read(&p).map_err(|e| format!("{}: {e}", p.display()))?;
            let value: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| format!("{}: {e}", p.display()))?;
            let entries = value["entry"].as_array().map_or(0, Vec::len);
            Ok(BundleFile { body, entries })
        })
        .collect()
}

/// Posts `work` over `connections` keep-alive connections; returns (errors, first error).
fn post_all(
    addr: std::net::SocketAddr,
    connections: usize,
    work: &[BundleFile],
) -> (usize, Option<String>) {
    let next = AtomicUsize::new(0);
    let errors = Mutex::new((0usize, None::<String>));
    std::thread::scope(|scope| {
        for _ in 0..connections {
            scope.spawn(|| {
                let mut client = super::client::Client::new(addr);
                while let Some(bundle) = work.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let reply = super::load::expect_ok(
                        client.send("POST", "/fhir", Some(&bundle.body)),
                        "POST /fhir",
                    );
                    if let Err(e) = reply {
                        if let Ok(mut errors) = errors.lock() {
                            errors.0 += 1;
                            errors.1.get_or_insert(e);
                        }
                    }
                }
            });
        }
    });
    errors.into_inner().unwrap_or_default()
}

/// Runs `chartroom export` (the binary beside this one) on `url` in its own process, so its
/// peak RSS is the export's alone.
fn export(url: &str, types: Option<&str>, dir: &Path) -> Result<ExportFigures, String> {
    let _ = std::fs::remove_dir_all(dir);
    let exe = chartroom_exe()?;
    let mut command = std::process::Command::new(&exe);
    command
        .arg("export")
        .arg("--out")
        .arg(dir)
        .env("CHARTROOM_DATABASE_URL", url)
        .env("CHARTROOM_LOG", "error");
    if let Some(t) = types {
        command.args(["--type", t]);
    }
    let output = command
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(format!(
            "chartroom export failed: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    // "exported N resources in F file(s) to DIR in S s: R resources/s; peak RSS M MB"
    let word_after = |marker: &str| number_after(&stdout, marker);
    let resources = word_after("exported ") as i64;
    let files = word_after("resources in ") as usize;
    let seconds = stdout
        .rsplit(" in ")
        .next()
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|w| w.parse::<f64>().ok())
        .unwrap_or(0.0)
        .max(1e-3);
    let peak = word_after("peak RSS ");
    let mut bytes = 0u64;
    let mut largest = 0usize;
    for entry in std::fs::read_dir(dir).map_err(|e| e.to_string())?.flatten() {
        if entry.path().extension().is_some_and(|e| e == "ndjson") {
            bytes += entry.metadata().map_or(0, |m| m.len());
            let file = std::fs::File::open(entry.path()).map_err(|e| e.to_string())?;
            for line in std::io::BufRead::split(std::io::BufReader::new(file), b'\n') {
                largest = largest.max(line.map_err(|e| e.to_string())?.len());
            }
        }
    }
    let _ = std::fs::remove_dir_all(dir);
    Ok(ExportFigures {
        types: types.unwrap_or("all").to_string(),
        resources,
        files,
        bytes,
        seconds,
        resources_per_s: resources as f64 / seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        peak_rss_mb: peak,
        largest_resource_mb: largest as f64 / 1e6,
    })
}

/// The `chartroom` binary beside this one (cargo builds both into the same directory).
fn chartroom_exe() -> Result<std::path::PathBuf, String> {
    Ok(std::env::current_exe()
        .map_err(|e| e.to_string())?
        .with_file_name("chartroom"))
}

/// The number right after the first `marker` in a command's summary line (0 if none).
fn number_after(text: &str, marker: &str) -> f64 {
    text.split(marker)
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|w| w.parse().ok())
        .unwrap_or(0.0)
}

/// `chartroom import` of the population's Bundles directory.
#[derive(Debug, Clone, Serialize)]
pub struct ImportFigures {
    pub jobs: usize,
    pub resources: u64,
    pub seconds: f64,
    pub resources_per_s: f64,
}

/// Runs `chartroom import` on `bundles` into the database at `url`, in its own process
/// (start-up and the closing ANALYZE included in its time).
fn import(opts: &Options, url: &str, bundles: &Path) -> Result<ImportFigures, String> {
    let exe = chartroom_exe()?;
    let jobs = crate::import::default_jobs(crate::db::Backend::of_url(url));
    let output = std::process::Command::new(&exe)
        .arg("import")
        .arg(bundles)
        .args(["--jobs", &jobs.to_string()])
        .env("CHARTROOM_DATABASE_URL", url)
        .env("CHARTROOM_SQLITE_SYNCHRONOUS", &opts.sqlite_synchronous)
        .env("CHARTROOM_LOG", "error")
        .output()
        .map_err(|e| format!("{}: {e}", exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    if !output.status.success() {
        return Err(format!("chartroom import failed: {stdout}"));
    }
    // "imported N resources from F file(s) (...) in S s: R resources/s; 0 failed"
    let resources = number_after(&stdout, "imported ") as u64;
    let resources_per_s = number_after(&stdout, " s: ");
    Ok(ImportFigures {
        jobs,
        resources,
        seconds: resources as f64 / resources_per_s.max(1e-9),
        resources_per_s,
    })
}

/// Stores round `round` of the large attachments (base64 data of the sizes in
/// [`ATTACHMENTS`]).
fn add_attachments(store: &crate::store::Store, patient: &str, round: usize) -> Result<(), String> {
    let who = Who {
        agent: "chartroom-bench".into(),
        ..Who::default()
    };
    for &(res_type, count, mb) in ATTACHMENTS {
        // random bytes, like the compressed PDFs and images real attachments hold (a repeated
        // pattern would let PostgreSQL compress it away)
        let bytes: Vec<u8> = (0..mb * 1024 * 1024 * 3 / 4)
            .map(|_| rand::random::<u8>())
            .collect();
        let data = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, bytes);
        for i in 0..count {
            let id = format!("bench-{}-{round}-{i}", res_type.to_lowercase());
            let body = match res_type {
                "Binary" => {
                    json!({"resourceType": "Binary", "id": id, "contentType": "application/pdf", "data": data})
                }
                _ => json!({"resourceType": "DocumentReference", "id": id, "status": "current",
                    "subject": {"reference": format!("Patient/{patient}")},
                    "content": [{"attachment": {"contentType": "application/pdf", "data": data}}]}),
            };
            store
                .update(
                    &who,
                    &crate::auth::Access::default(),
                    res_type,
                    &id,
                    body,
                    None,
                )
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

/// Posts every Bundle to a fresh server on `url` (the first alone: providers before
/// patients); returns (seconds, errors, first error).
fn ingest(
    opts: &Options,
    url: &str,
    files: &[BundleFile],
    deficiency_rules: &str,
) -> Result<(crate::store::Store, f64, usize, Option<String>), String> {
    let config = crate::config::Config {
        database_url: url.to_string(),
        auth: "off".into(),
        log: "error".into(),
        sqlite_synchronous: opts.sqlite_synchronous.clone(),
        deficiency_rules: deficiency_rules.into(),
        ..crate::config::Config::default()
    };
    let store = crate::open_store(config)?;
    let server = background::spawn(store.clone()).map_err(|e| format!("start server: {e}"))?;
    let started = Instant::now();
    let (first, rest) = files.split_at(1.min(files.len()));
    let (mut errors, mut first_error) = post_all(server.addr, 1, first);
    let (more, more_error) = post_all(server.addr, opts.ingest_connections, rest);
    errors += more;
    first_error = first_error.or(more_error);
    let seconds = started.elapsed().as_secs_f64().max(1e-9);
    drop(server);
    Ok((store, seconds, errors, first_error))
}

/// Rows of the resource, version, index and projection tables.
fn stored_rows(db: &crate::db::Db) -> crate::error::AppResult<i64> {
    let mut conn = db.read()?;
    let mut total = 0;
    let tables = ["resources", "resource_versions"]
        .into_iter()
        .chain(crate::db::indexes::TABLES.iter().copied())
        .chain(crate::db::projections::tables());
    for table in tables {
        let sql = crate::db::sql::Sql::new(&format!("SELECT COUNT(*) AS n FROM {table}"));
        total += conn
            .first::<crate::db::rows::CountRow>(&sql)?
            .map_or(0, |r| r.n);
    }
    Ok(total)
}

fn run_store(
    opts: &Options,
    kind: StoreKind,
    population: &Population,
    dir: &Path,
) -> Result<BulkResult, String> {
    let files = bundles(&dir.join("population").join("bundles"))?;
    let resources: usize = files.iter().map(|b| b.entries).sum();
    let bundle_bytes: usize = files.iter().map(|b| b.body.len()).sum();
    eprintln!(
        "ingest: {} bundles, {resources} resources ({} connections), deficiency rules off",
        files.len(),
        opts.ingest_connections
    );
    let quiet = scratch_database(opts, kind, dir, "bulkquiet")?;
    let (quiet_store, quiet_seconds, ..) = ingest(opts, &quiet.url, &files, "off")?;
    let rows_written = stored_rows(&quiet_store.db).map_err(|e| e.to_string())?;
    drop(quiet_store);
    drop(quiet);
    eprintln!("  {:.0} resources/s", resources as f64 / quiet_seconds);
    eprintln!("ingest again, deficiency rules on (the server default)");
    let scratch = scratch_database(opts, kind, dir, "bulk")?;
    let (store, ingest_seconds, errors, first_error) = ingest(opts, &scratch.url, &files, "on")?;
    let pool_size = store.config.pool_size;
    eprintln!(
        "  {:.0} resources/s, {errors} errors",
        resources as f64 / ingest_seconds
    );

    eprintln!("the same Bundles through chartroom import (rules on)");
    let import_scratch = scratch_database(opts, kind, dir, "bulkimport")?;
    let import = import(
        opts,
        &import_scratch.url,
        &dir.join("population").join("bundles"),
    )?;
    drop(import_scratch);
    eprintln!("  {:.0} resources/s", import.resources_per_s);

    eprintln!("raw insert baseline");
    let raw_scratch = scratch_database(opts, kind, dir, "bulkraw")?;
    let raw_db = crate::db::Db::connect(
        &raw_scratch.url,
        &super::options(pool_size, &opts.sqlite_synchronous),
    )?;
    let raw =
        raw::run(&raw_db, population, Duration::from_millis(100)).map_err(|e| e.to_string())?;
    drop(raw_db);
    drop(raw_scratch);

    eprintln!("export");
    let out = dir.join("export");
    let export_all = export(&scratch.url, None, &out)?;
    let patient = population
        .ids("Patient")
        .first()
        .cloned()
        .unwrap_or_default();
    add_attachments(&store, &patient, 1)?;
    let attachments_export = export(&scratch.url, Some("Binary,DocumentReference"), &out)?;
    add_attachments(&store, &patient, 2)?;
    let attachments_export_doubled = export(&scratch.url, Some("Binary,DocumentReference"), &out)?;
    let export_with_attachments = export(&scratch.url, None, &out)?;
    let raw_bytes = population.bytes();
    let result = BulkResult {
        store: kind,
        date: opts.date.clone(),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        patients: population.patients,
        bundles: files.len(),
        connections: opts.ingest_connections,
        sqlite_synchronous: (kind == StoreKind::Sqlite).then(|| opts.sqlite_synchronous.clone()),
        resources,
        bundle_bytes,
        ingest_seconds,
        resources_per_s: resources as f64 / ingest_seconds,
        resources_per_s_rules_off: resources as f64 / quiet_seconds,
        rows_per_resource: rows_written as f64 / resources.max(1) as f64,
        mb_per_s: bundle_bytes as f64 / 1e6 / ingest_seconds,
        errors,
        first_error,
        raw_rows: raw.rows,
        raw_bytes,
        raw_rows_per_s: raw.insert_rows_per_s,
        raw_mb_per_s: raw_bytes as f64 / 1e6 / raw.insert_seconds,
        import,
        export: export_all,
        export_with_attachments,
        attachments_export,
        attachments_export_doubled,
    };
    drop(store);
    drop(scratch);
    Ok(result)
}

/// Runs the bulk workloads on every store of `opts`; writes `ingest.md` and `ingest.json`.
pub fn run(opts: &Options) -> Result<Vec<PathBuf>, String> {
    let scratch =
        std::env::temp_dir().join(format!("chartroom-bulk-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&scratch).map_err(|e| format!("{}: {e}", scratch.display()))?;
    let result = (|| {
        eprintln!("generating {} patients (seed {})", opts.patients, opts.seed);
        let population =
            Population::generate(opts.patients, opts.seed, &scratch.join("population"))?;
        let mut results = Vec::new();
        for &kind in &opts.stores {
            eprintln!("== {}", kind.name());
            results.push(run_store(opts, kind, &population, &scratch)?);
        }
        std::fs::create_dir_all(&opts.out_dir)
            .map_err(|e| format!("{}: {e}", opts.out_dir.display()))?;
        let json_path = opts.out_dir.join("ingest.json");
        let md_path = opts.out_dir.join("ingest.md");
        let json = serde_json::to_string_pretty(&results).map_err(|e| e.to_string())?;
        std::fs::write(&json_path, json + "\n").map_err(|e| e.to_string())?;
        std::fs::write(&md_path, markdown(&results)).map_err(|e| e.to_string())?;
        Ok(vec![md_path, json_path])
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}

fn export_row(name: &str, e: &ExportFigures) -> String {
    format!(
        "| {name} | {} | {} | {:.1} | {:.2} | {:.0} | {:.1} | {:.1} | {:.1} |\n",
        e.resources,
        e.files,
        e.bytes as f64 / 1e6,
        e.seconds,
        e.resources_per_s,
        e.mb_per_s,
        e.largest_resource_mb,
        e.peak_rss_mb
    )
}

fn markdown(results: &[BulkResult]) -> String {
    let mut md = String::from("# Bulk ingest and export\n\n");
    if let Some(r) = results.first() {
        md.push_str(&format!(
            "{} patients, {} transaction Bundles ({} resources, {:.1} MB), {} cores, date {}. \
             Produced by `chartroom-bench --bulk`; see NOTES below for the build and the machine.\n\n",
            r.patients,
            r.bundles,
            r.resources,
            r.bundle_bytes as f64 / 1e6,
            r.cores,
            r.date
        ));
    }
    md.push_str("## Ingest: transaction Bundles over HTTP vs raw bulk insert\n\n");
    md.push_str("| store | connections | resources/s | MB/s | errors | raw insert rows/s | raw MB/s | ratio (resources/s ÷ raw rows/s) | resources/s, deficiency rules off | ratio, rules off | rows stored per resource |\n|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        md.push_str(&format!(
            "| {}{} | {} | {:.0} | {:.2} | {} | {:.0} | {:.1} | {:.3} | {:.0} | {:.3} | {:.1} |\n",
            r.store.name(),
            r.sqlite_synchronous
                .as_ref()
                .map(|s| format!(" ({s})"))
                .unwrap_or_default(),
            r.connections,
            r.resources_per_s,
            r.mb_per_s,
            r.errors,
            r.raw_rows_per_s,
            r.raw_mb_per_s,
            r.resources_per_s / r.raw_rows_per_s.max(1e-9),
            r.resources_per_s_rules_off,
            r.resources_per_s_rules_off / r.raw_rows_per_s.max(1e-9),
            r.rows_per_resource
        ));
    }
    md.push_str("\n## Ingest: the same Bundles through `chartroom import` (its own process, deficiency rules on, start-up and closing ANALYZE included)\n\n");
    md.push_str("| store | jobs | resources | s | resources/s | ratio (÷ raw rows/s) |\n|---|---|---|---|---|---|\n");
    for r in results {
        md.push_str(&format!(
            "| {} | {} | {} | {:.1} | {:.0} | {:.3} |\n",
            r.store.name(),
            r.import.jobs,
            r.import.resources,
            r.import.seconds,
            r.import.resources_per_s,
            r.import.resources_per_s / r.raw_rows_per_s.max(1e-9)
        ));
    }
    md.push_str(
        "\n## Export (the exporter `$export` and `chartroom export` share; files of 100 MB)\n\n",
    );
    md.push_str("| store / run | resources | files | MB | s | resources/s | MB/s | largest resource MB | peak RSS MB |\n|---|---|---|---|---|---|---|---|---|\n");
    for r in results {
        md.push_str(&export_row(
            &format!("{} full system", r.store.name()),
            &r.export,
        ));
        md.push_str(&export_row(
            &format!("{} attachments only", r.store.name()),
            &r.attachments_export,
        ));
        md.push_str(&export_row(
            &format!("{} attachments only, twice as many", r.store.name()),
            &r.attachments_export_doubled,
        ));
        md.push_str(&export_row(
            &format!("{} full system + attachments", r.store.name()),
            &r.export_with_attachments,
        ));
    }
    for r in results.iter().filter(|r| r.errors > 0) {
        md.push_str(&format!(
            "\n{}: {} ingest errors, first: {}\n",
            r.store.name(),
            r.errors,
            r.first_error.as_deref().unwrap_or("")
        ));
    }
    md
}
