//! The `reporting` workload of `chartroom-bench`: prevalence of a code range stratified by
//! sex × age band × region over a synthetic population, on SQLite and PostgreSQL, next to
//! a hand-written SQL query of the same figures over the same projection tables.
//!
//! The population's Patients, Encounters and Conditions are written straight into the
//! typed projections (the write path's own `db::projections::write`, plus the `_security`
//! index rows of labelled records), in large transactions: the reports read nothing else,
//! and a full ingest of 10,000 patients through the write path takes far longer than the
//! measurement in a debug build.

use crate::config::Config;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::fhir::json::security_codes;
use crate::reporting::caller::Caller;
use crate::reporting::model::Report;
use crate::reporting::params::ReportKind;
use crate::reporting::run::{parse, run};
use crate::synth::{write_population, SynthConfig};
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::StoreKind;

/// What the reporting workload runs.
pub struct ReportingOptions {
    pub patients: usize,
    pub seed: u64,
    pub stores: Vec<StoreKind>,
    pub pg_url: String,
    /// Markdown file the figures go to.
    pub out_file: PathBuf,
    /// Timed repetitions of each query.
    pub repeats: usize,
    /// The command line that reproduces the run (written into the file).
    pub command: String,
}

const CODE: &str = "I10-I1A";
const START: &str = "2025-01-01";
const END: &str = "2025-12-31";

/// The hand-written query: the same four counts per sex × age band × state.
fn hand_sql() -> String {
    let age = "2025 - CAST(SUBSTR(p.birth_date, 1, 4) AS INTEGER) - CASE WHEN SUBSTR(p.birth_date, 6, 5) > '12-31' THEN 1 ELSE 0 END";
    format!(
        "WITH seen AS (SELECT DISTINCT patient_id AS pid FROM encounter \
           WHERE admit_date <= '{END}' AND COALESCE(discharge_date, admit_date) >= '{START}' \
           AND COALESCE(status, '') NOT IN ('entered-in-error', 'cancelled', 'not-done')), \
         present AS (SELECT patient_id, onset_date, recorded_date, abatement_date, res_id FROM condition \
           WHERE code_system = 'http://hl7.org/fhir/sid/icd-10-cm' AND code >= 'I10' AND code < 'I1B' \
           AND COALESCE(verification_status, '') NOT IN ('refuted', 'entered-in-error')), \
         cases AS (SELECT DISTINCT patient_id AS pid FROM present WHERE COALESCE(onset_date, recorded_date) <= '{END}' \
           AND (abatement_date IS NULL OR abatement_date >= '{START}')), \
         pointc AS (SELECT DISTINCT patient_id AS pid FROM present WHERE COALESCE(onset_date, recorded_date) <= '{END}' \
           AND (abatement_date IS NULL OR abatement_date >= '{END}')), \
         encs AS (SELECT e.patient_id AS pid, COUNT(DISTINCT e.rk) AS n FROM encounter e \
           JOIN encounter_diagnosis d ON d.enc_rk = e.rk JOIN present c ON c.res_id = d.condition_id \
           WHERE e.admit_date <= '{END}' AND COALESCE(e.discharge_date, e.admit_date) >= '{START}' \
           AND COALESCE(e.status, '') NOT IN ('entered-in-error', 'cancelled', 'not-done') GROUP BY e.patient_id) \
         SELECT COALESCE(p.gender, 'unknown') AS sex, \
           CASE WHEN p.birth_date IS NULL THEN 'unknown' WHEN {age} <= 17 THEN '0-17' WHEN {age} <= 44 THEN '18-44' \
           WHEN {age} <= 64 THEN '45-64' ELSE '65-' END AS band, COALESCE(p.state, 'unknown') AS region, \
           CAST(COUNT(cs.pid) AS BIGINT) AS a, CAST(COUNT(pc.pid) AS BIGINT) AS b, \
           CAST(SUM(COALESCE(en.n, 0)) AS BIGINT) AS c, CAST(COUNT(*) AS BIGINT) AS d \
         FROM patient p JOIN seen s ON s.pid = p.res_id LEFT JOIN cases cs ON cs.pid = p.res_id \
         LEFT JOIN pointc pc ON pc.pid = p.res_id LEFT JOIN encs en ON en.pid = p.res_id GROUP BY 1, 2, 3"
    )
}

#[derive(QueryableByName)]
struct HandRow {
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    sex: String,
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    band: String,
    #[diesel(sql_type = Text)]
    #[allow(dead_code)]
    region: String,
    #[diesel(sql_type = BigInt)]
    a: i64,
    #[diesel(sql_type = BigInt)]
    b: i64,
    #[diesel(sql_type = BigInt)]
    c: i64,
    #[diesel(sql_type = BigInt)]
    d: i64,
}

/// Writes the projections of the population's Patients, Encounters and Conditions.
fn load(conn: &mut Conn, ndjson: &Path) -> Result<usize, String> {
    let mut rk = 0i64;
    for kind in ["Patient", "Encounter", "Condition"] {
        let path = ndjson.join(format!("{kind}.ndjson"));
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        for chunk in lines.chunks(5000) {
            conn.transaction(|conn| {
                for line in chunk {
                    let value: serde_json::Value = serde_json::from_str(line)
                        .map_err(|e| crate::error::AppError::internal(e.to_string()))?;
                    rk += 1;
                    crate::db::projections::write(conn, kind, rk, &value, true)?;
                    for label in security_codes(&value) {
                        let mut sql = Sql::new(
                            "INSERT INTO idx_token (rk, res_type, param, system, code) VALUES ",
                        );
                        sql.bind_list([
                            crate::db::sql::SqlValue::Int(Some(rk)),
                            kind.into(),
                            "_security".into(),
                            "http://terminology.hl7.org/CodeSystem/v3-ActCode".into(),
                            label.into(),
                        ]);
                        conn.execute(&sql)?;
                    }
                }
                Ok(())
            })
            .map_err(|e| e.to_string())?;
        }
    }
    Ok(rk as usize)
}

fn median_ms(mut times: Vec<f64>) -> f64 {
    times.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    times[times.len() / 2]
}

fn time<T>(repeats: usize, mut f: impl FnMut() -> Result<T, String>) -> Result<(f64, T), String> {
    let mut last = f()?; // warm-up
    let mut times = Vec::new();
    for _ in 0..repeats.max(1) {
        let started = Instant::now();
        last = f()?;
        times.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    Ok((median_ms(times), last))
}

/// Figures of one store.
struct StoreFigures {
    store: StoreKind,
    rows_loaded: usize,
    load_s: f64,
    hand_ms: f64,
    report_ms: f64,
    report_suppressed_ms: f64,
    http_ms: f64,
    strata: usize,
    agree: bool,
    totals: (i64, i64),
}

fn totals(report: &Report) -> (i64, i64) {
    let g = &report.groups[0];
    let n = g.total[0].num().unwrap_or_default() as i64;
    let d = g.total[1].num().unwrap_or_default() as i64;
    (n, d)
}

fn run_store(opts: &ReportingOptions, kind: StoreKind, dir: &Path) -> Result<StoreFigures, String> {
    let scratch = super::scratch_database_for(&opts.pg_url, kind, dir, "reporting")?;
    let config = Config {
        database_url: scratch.url.clone(),
        auth: "off".into(),
        log: "error".into(),
        sqlite_synchronous: "NORMAL".into(),
        ..Config::default()
    };
    let store = crate::open_store(config)?;
    let started = Instant::now();
    let rows_loaded = {
        let mut conn = store.db.write().map_err(|e| e.to_string())?;
        load(&mut conn, &dir.join("population").join("ndjson"))?
    };
    let load_s = started.elapsed().as_secs_f64();
    if kind == StoreKind::Postgres {
        let mut conn = store.db.write().map_err(|e| e.to_string())?;
        conn.batch("ANALYZE").map_err(|e| e.to_string())?;
    }
    let query =
        format!("code={CODE}&period-start={START}&period-end={END}&stratify=sex,age-band,region");
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let params = parse(&store, ReportKind::Prevalence, &pairs).map_err(|e| e.to_string())?;
    let hand = hand_sql();
    let (hand_ms, rows) = time(opts.repeats, || {
        let mut conn = store.db.read().map_err(|e| e.to_string())?;
        conn.load::<HandRow>(&Sql::new(&hand))
            .map_err(|e| e.to_string())
    })?;
    let identified = Caller {
        identified: true,
        ..Caller::default()
    };
    let (report_ms, report) = time(opts.repeats, || {
        run(&store, &params, &identified).map_err(|e| e.to_string())
    })?;
    let analyst = Caller::job(false);
    let (report_suppressed_ms, _) = time(opts.repeats, || {
        run(&store, &params, &analyst).map_err(|e| e.to_string())
    })?;
    let server = crate::http::background::spawn(store.clone()).map_err(|e| e.to_string())?;
    let path = format!("/fhir/$prevalence?{query}&_format=json");
    let mut client = super::client::Client::new(server.addr);
    let (http_ms, status) = time(opts.repeats, || {
        client
            .send("GET", &path, None)
            .map(|r| r.status)
            .map_err(|e| e.to_string())
    })?;
    if status != 200 {
        return Err(format!("GET {path} answered {status}"));
    }
    drop(server);
    let hand_totals = rows.iter().fold((0, 0, 0, 0), |t, r| {
        (t.0 + r.a, t.1 + r.b, t.2 + r.c, t.3 + r.d)
    });
    let g = &report.groups;
    let cell = |gi: usize, ci: usize| g[gi].total[ci].num().unwrap_or(-1.0) as i64;
    let agree = hand_totals == (cell(0, 0), cell(1, 0), cell(0, 2), cell(0, 1))
        && rows.len() == g[0].stratifiers.last().map_or(0, |s| s.strata.len());
    let figures = StoreFigures {
        store: kind,
        rows_loaded,
        load_s,
        hand_ms,
        report_ms,
        report_suppressed_ms,
        http_ms,
        strata: rows.len(),
        agree,
        totals: totals(&report),
    };
    drop(store);
    drop(scratch);
    Ok(figures)
}

/// Runs the workload on every store and writes the Markdown file.
pub fn run_reporting(opts: &ReportingOptions) -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "chartroom-bench-reporting-{}",
        uuid::Uuid::new_v4().simple()
    ));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let result = (|| {
        eprintln!("generating {} patients (seed {})", opts.patients, opts.seed);
        let started = Instant::now();
        write_population(
            &SynthConfig::new(opts.patients, opts.seed),
            &dir.join("population"),
        )
        .map_err(|e| format!("synthetic population: {e}"))?;
        eprintln!("  {:.1} s", started.elapsed().as_secs_f64());
        let mut figures = Vec::new();
        for &kind in &opts.stores {
            eprintln!("== {}", kind.name());
            figures.push(run_store(opts, kind, &dir)?);
        }
        write_markdown(opts, &figures)
    })();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn write_markdown(opts: &ReportingOptions, figures: &[StoreFigures]) -> Result<PathBuf, String> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut md = format!(
        "# Reporting benchmark\n\n\
         Prevalence of `{CODE}` (hypertensive diseases) from {START} to {END}, stratified by sex × age band × region \
         (state), over {} synthetic patients (seed {}), {cores} cores, median of {} runs after one warm-up.\n\n\
         **Build: the dev (debug) profile** — chartroom's own code unoptimised, its dependencies \
         (SQLite, libpq, diesel ...) at opt-level 2 — not a release build. Absolute times are therefore \
         pessimistic for the Rust side; the SQL runs in the (optimised) database engines.\n\n\
         Loading: the population's Patients, Encounters and Conditions are written straight into the typed \
         projection tables with the write path's own projection code (plus `_security` index rows for labelled \
         records) — the only tables a report reads — not through HTTP ingest (which in a debug build \
         would take far longer than the measurement).\n\n\
         Reproduce: `{}`\n\n\
         | store | projection rows loaded | load s | hand-written SQL ms | report (identified) ms | ratio | report (sealed hidden, suppressed) ms | ratio | HTTP `$prevalence` (JSON) ms | ratio | strata | totals agree |\n\
         |---|---|---|---|---|---|---|---|---|---|---|---|\n",
        opts.patients, opts.seed, opts.repeats, opts.command
    );
    for f in figures {
        md.push_str(&format!(
            "| {} | {} | {:.1} | {:.1} | {:.1} | {:.2} | {:.1} | {:.2} | {:.1} | {:.2} | {} | {} ({} / {}) |\n",
            f.store.name(),
            f.rows_loaded,
            f.load_s,
            f.hand_ms,
            f.report_ms,
            f.report_ms / f.hand_ms,
            f.report_suppressed_ms,
            f.report_suppressed_ms / f.hand_ms,
            f.http_ms,
            f.http_ms / f.hand_ms,
            f.strata,
            if f.agree { "yes" } else { "NO" },
            f.totals.0,
            f.totals.1,
        ));
    }
    md.push_str(
        "\nThe hand-written query computes the same figures (period and point cases, encounters with the \
         diagnosis, population seen) per sex × age band × state in one statement with literal values and no \
         access filters: the physical limit of the store for this report. Compare the ratios, measured side by side in \
         the same run, rather than the absolute times: the machine is shared with other work. The report adds the bound code-range \
         test on normalised codes, the per-key and total roll-up, and (second column) the sealed-record filter \
         and small-cell suppression; the HTTP column adds the server round trip and JSON rendering.\n",
    );
    if let Some(dir) = opts.out_file.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&opts.out_file, md).map_err(|e| e.to_string())?;
    Ok(opts.out_file.clone())
}
