//! Result files: `<date>-<store>.json` (every figure), `<date>-<store>.md` (the main
//! figures, ratios to the raw limits, issue 11's targets) and `search.md` (the searches of
//! both stores with their query plans); plus the process and database size probes.

use super::load::Stats;
use super::{StoreResult, READ_SWEEP};
use crate::db::rows::CountRow;
use crate::db::sql::Sql;
use crate::db::Db;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Resident and peak resident memory of this process in MB (0 where /proc is missing).
pub fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> f64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|kb| kb.parse::<f64>().ok())
            .map_or(0.0, |kb| kb / 1024.0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Size of the store: the SQLite file with its WAL, or the tables of the PostgreSQL schema
/// (indexes and TOAST included).
pub fn database_bytes(db: &Db, sqlite_file: Option<&Path>) -> Result<u64, String> {
    if let Some(file) = sqlite_file {
        return Ok(["", "-wal"]
            .iter()
            .filter_map(|s| std::fs::metadata(format!("{}{s}", file.display())).ok())
            .map(|m| m.len())
            .sum());
    }
    let sql = Sql::new(
        "SELECT CAST(COALESCE(SUM(pg_total_relation_size(c.oid)), 0) AS BIGINT) AS n \
         FROM pg_class c JOIN pg_namespace s ON s.oid = c.relnamespace \
         WHERE s.nspname = current_schema() AND c.relkind = 'r'",
    );
    let mut conn = db.read().map_err(|e| e.to_string())?;
    Ok(conn
        .first::<CountRow>(&sql)
        .map_err(|e| e.to_string())?
        .map_or(0, |r| r.n.max(0) as u64))
}

/// Writes every result file under `dir`; returns their paths.
pub fn write_all(dir: &Path, results: &[StoreResult]) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    let mut write = |name: String, text: String| -> Result<(), String> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        paths.push(path);
        Ok(())
    };
    for r in results {
        let stem = format!("{}-{}", r.date, r.store.name());
        let json = serde_json::to_string_pretty(r).map_err(|e| e.to_string())?;
        write(format!("{stem}.json"), json + "\n")?;
        write(format!("{stem}.md"), store_markdown(r))?;
    }
    write("search.md".into(), search_markdown(results))?;
    write("coding.md".into(), coding_markdown(results))?;
    Ok(paths)
}

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 {
        format!("{:.2}", a / b)
    } else {
        "n/a".into()
    }
}

fn raw_at(r: &StoreResult, connections: usize) -> Option<&Stats> {
    r.raw_http
        .iter()
        .find(|(c, _)| *c == connections)
        .map(|(_, s)| s)
}

fn header(r: &StoreResult, title: &str) -> String {
    format!(
        "# {title}\n\nDate {}, store **{}**, {} cores (load driver and server on the same machine, \
         same process), {} patients, {} s per workload, {} connections for create/update/search{}.\n\n",
        r.date,
        r.store.name(),
        r.cores,
        r.patients,
        r.seconds_per_workload,
        r.connections,
        r.sqlite_synchronous
            .as_ref()
            .map(|s| format!(", SQLite synchronous={s}"))
            .unwrap_or_default()
    )
}

fn stats_row(name: &str, s: &Stats, raw: Option<&Stats>) -> String {
    format!(
        "| {name} | {} | {:.0} | {:.2} | {:.2} | {:.0} | {} | {} |\n",
        s.connections,
        s.req_per_s,
        s.p50_ms,
        s.p99_ms,
        s.items_per_s,
        s.errors,
        raw.map_or("n/a".into(), |raw| ratio(s.req_per_s, raw.req_per_s)),
    )
}

const STATS_HEAD: &str = "| workload | conns | req/s | p50 ms | p99 ms | items/s | errors | req/s ÷ raw HTTP |\n|---|---|---|---|---|---|---|---|\n";

fn store_markdown(r: &StoreResult) -> String {
    let mut md = header(r, &format!("chartroom benchmark — {}", r.store.name()));
    let total: usize = r.resources_by_type.values().sum();
    let _ = writeln!(
        md,
        "Population: {total} resources ({}).\n",
        r.resources_by_type
            .iter()
            .map(|(t, n)| format!("{t} {n}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let i = &r.ingest;
    let _ = writeln!(md, "## Ingest (PUT [type]/[id], dependency order)\n");
    let _ = writeln!(
        md,
        "{} resources, {:.1} MB in {:.1} s: **{:.0} resources/s**, {:.2} MB/s, p50 {:.2} ms, p99 {:.2} ms, {} errors{}.\n\
         Raw store bulk insert (one transaction, plain table): {:.0} rows/s; ratio **{}**.\n",
        i.resources,
        i.bytes as f64 / 1e6,
        i.seconds,
        i.resources_per_s,
        i.mb_per_s,
        i.p50_ms,
        i.p99_ms,
        i.errors,
        i.first_error.as_ref().map(|e| format!(" (first: {e})")).unwrap_or_default(),
        r.raw_store.insert_rows_per_s,
        ratio(i.resources_per_s, r.raw_store.insert_rows_per_s),
    );
    let _ = writeln!(md, "## Read by id, create, update\n");
    md.push_str(STATS_HEAD);
    for (c, s) in &r.read {
        md.push_str(&stats_row("read Patient by id", s, raw_at(r, *c)));
    }
    for (_, s) in &r.raw_http {
        md.push_str(&stats_row("raw HTTP (fixed bytes)", s, Some(s)));
    }
    md.push_str(&stats_row(
        "raw store select by id",
        &r.raw_store.select,
        None,
    ));
    md.push_str(&stats_row(
        "create Observation",
        &r.create,
        raw_at(r, r.connections),
    ));
    md.push_str(&stats_row(
        "update Observation",
        &r.update,
        raw_at(r, r.connections),
    ));
    if let Some((_, one)) = r.read.iter().find(|(c, _)| *c == 1) {
        let _ = writeln!(
            md,
            "\nRead by id at 1 connection ÷ raw store select by id: {} (req/s); p50 read {:.3} ms vs raw HTTP {:.3} ms.",
            ratio(one.req_per_s, r.raw_store.select.req_per_s),
            one.p50_ms,
            raw_at(r, 1).map_or(0.0, |s| s.p50_ms)
        );
    }
    let _ = writeln!(md, "\n## Transactions, CRUD mix, fixed-rate search\n");
    md.push_str(STATS_HEAD);
    for (c, s) in &r.small_transactions {
        md.push_str(&stats_row(
            "transaction: 1 Patient + 1 Observation",
            s,
            raw_at(r, *c),
        ));
    }
    md.push_str(&stats_row(
        "CRUD mix (create → read → update → delete, 9 types)",
        &r.crud_mix,
        raw_at(r, r.crud_mix.connections),
    ));
    md.push_str(&stats_row(
        &format!(
            "`Patient?name=` at a fixed {:.0} req/s (latency from the scheduled send)",
            r.fixed_rate_search.target_per_s
        ),
        &r.fixed_rate_search.stats,
        None,
    ));
    let _ = writeln!(md, "\n## Searches\n");
    md.push_str(STATS_HEAD);
    for s in &r.searches {
        md.push_str(&stats_row(
            &format!("{} `{}`", s.name, s.query),
            &s.stats,
            raw_at(r, r.connections),
        ));
    }
    let _ = writeln!(
        md,
        "\nitems/s = matched resources per second. Plans: `search.md`.\n"
    );
    let _ = writeln!(
        md,
        "## Size\n\nProcess RSS after the run {:.0} MB (peak {:.0} MB; server and load driver share the process). \
         Database {:.1} MB: **{:.1} MB per 1,000 patients**.\n",
        r.rss_mb,
        r.peak_rss_mb,
        r.db_bytes as f64 / 1e6,
        r.db_mb_per_1000_patients
    );
    md.push_str(&targets(r));
    md
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

/// Issue 11's targets (2 cores) against this run.
fn targets(r: &StoreResult) -> String {
    let mut md = String::from(
        "## Targets of issue 11\n\n| # | target | measured | status |\n|---|---|---|---|\n",
    );
    let i = &r.ingest;
    let _ = writeln!(md, "| 1 | ingest > 1,270 resources/s (bundles) | {:.0} resources/s (single PUTs; transaction-Bundle ingest: `--bulk`, ingest.md) | {} |", i.resources_per_s, verdict(i.resources_per_s > 1270.0));
    if let Some((c, best)) = r
        .small_transactions
        .iter()
        .max_by(|a, b| a.1.req_per_s.total_cmp(&b.1.req_per_s))
    {
        let _ = writeln!(md, "| 2 | small transactions > 415 tx/s, median ≤ 11 ms | best {:.0} tx/s at {c} clients, median {:.2} ms there (sweep {:?}) | {} |", best.req_per_s, best.p50_ms, crate::bench::mixes::TRANSACTION_SWEEP, verdict(best.req_per_s > 415.0 && best.p50_ms <= 11.0));
    }
    let best = r.read.iter().map(|(_, s)| s.req_per_s).fold(0.0, f64::max);
    let one = r
        .read
        .iter()
        .find(|(c, _)| *c == 1)
        .map_or(0.0, |(_, s)| s.p50_ms);
    let _ = writeln!(md, "| 3 | read > 4,070 req/s, 1-client median ≤ 0.5 ms | best {best:.0} req/s, 1-client median {one:.3} ms | {} |", verdict(best > 4070.0 && one <= 0.5));
    let m = &r.crud_mix;
    let _ = writeln!(md, "| 4 | CRUD mix > 945 req/s, p99 < 35 ms | {:.0} req/s, p99 {:.1} ms at {} connections ({} errors) | {} |", m.req_per_s, m.p99_ms, m.connections, m.errors, verdict(m.req_per_s > 945.0 && m.p99_ms < 35.0));
    let find = |name: &str| r.searches.iter().find(|s| s.name.starts_with(name));
    if let Some(s) = find("_summary") {
        let _ = writeln!(md, "| 5 | `_summary=count` < 60 ms (~100k hits) | p50 {:.2} ms with far fewer hits at this N | {} |", s.stats.p50_ms, verdict(s.stats.p50_ms < 60.0));
    }
    if let Some(s) = find("_sort") {
        let _ = writeln!(
            md,
            "| 6 | search download > 16,000 resources/s | {:.0} resources/s (`_count=100`) | {} |",
            s.stats.items_per_s,
            verdict(s.stats.items_per_s > 16000.0)
        );
    }
    if let Some(s) = find("Patient/$everything") {
        let _ = writeln!(md, "| 7 | `$everything` > 22 req/s, median < 15.7 ms | {:.0} req/s, median {:.2} ms at {} connections (first page) | {} |", s.stats.req_per_s, s.stats.p50_ms, r.connections, verdict(s.stats.req_per_s > 22.0 && s.stats.p50_ms < 15.7));
    }
    let f = &r.fixed_rate_search;
    let _ = writeln!(md, "| 8 | Patient search at 2,000 req/s fixed rate, p99 < 3.6 ms | achieved {:.0} of {:.0} req/s, p99 {:.2} ms from the scheduled send ({} senders) | {} |", f.achieved_per_s, f.target_per_s, f.stats.p99_ms, f.stats.connections, verdict(f.achieved_per_s >= 0.95 * f.target_per_s && f.stats.p99_ms < 3.6));
    md
}

fn search_markdown(results: &[StoreResult]) -> String {
    let mut md = String::from("# Search benchmark (issue 4)\n\n");
    for r in results {
        md.push_str(&header(r, r.store.name()).replacen("# ", "## ", 1));
        md.push_str("| query | req/s | p50 ms | p99 ms | resources/s | errors | req/s ÷ raw HTTP | full scan |\n|---|---|---|---|---|---|---|---|\n");
        for s in &r.searches {
            let scan = match &s.plan {
                Some(p) if p.full_scans.is_empty() => "no".to_string(),
                Some(p) => format!("**YES**: {}", p.full_scans.join("; ")),
                None => "not explained".to_string(),
            };
            let _ = writeln!(
                md,
                "| `{}` | {:.0} | {:.2} | {:.2} | {:.0} | {} | {} | {} |",
                s.query,
                s.stats.req_per_s,
                s.stats.p50_ms,
                s.stats.p99_ms,
                s.stats.items_per_s,
                s.stats.errors,
                raw_at(r, r.connections)
                    .map_or("n/a".into(), |raw| ratio(s.stats.req_per_s, raw.req_per_s)),
                scan
            );
        }
        md.push_str("\n### Plans\n\n");
        for s in &r.searches {
            if let Some(p) = &s.plan {
                let _ = writeln!(
                    md,
                    "`{}` ({} query):\n\n```\n{}\n```\n",
                    s.query,
                    p.statement,
                    p.lines.join("\n")
                );
            }
        }
    }
    let _ = writeln!(
        md,
        "Read sweep for reference: {READ_SWEEP:?} connections in the per-store files."
    );
    md
}

fn coding_markdown(results: &[StoreResult]) -> String {
    let mut md = String::from("# Coding benchmark (issue 7)\n\n");
    for r in results {
        let c = &r.coding;
        md.push_str(&header(r, r.store.name()).replacen("# ", "## ", 1));
        md.push_str(STATS_HEAD);
        md.push_str(&stats_row(
            "POST Condition, validation off",
            &c.create_validation_off,
            raw_at(r, r.connections),
        ));
        md.push_str(&stats_row(
            "POST Condition, validation warn",
            &c.create_validation_on,
            raw_at(r, r.connections),
        ));
        md.push_str(&stats_row(
            "CodeSystem/$lookup (ICD-10-CM)",
            &c.lookup,
            raw_at(r, 1),
        ));
        md.push_str(&stats_row(
            "Encounter/$audit-coding (15 dx, 6 px)",
            &c.audit_encounter,
            raw_at(r, 1),
        ));
        let _ = writeln!(
            md,
            "\n- validate-on-write overhead (create req/s off ÷ on, alternated off/on/off/on in one run): **{:.3}×** (goal ≤ 1.1×: {})\n\
             - `$lookup` p99 {:.2} ms (goal ≤ 1 ms: {})\n\
             - audit sweep (`chartroom audit`, every loaded encounter, read from the projections): {} encounters in {:.2} s = **{:.0} encounters/s**\n",
            c.validation_overhead,
            verdict(c.validation_overhead <= 1.1),
            c.lookup.p99_ms,
            verdict(c.lookup.p99_ms <= 1.0),
            c.sweep_encounters,
            c.sweep_seconds,
            c.sweep_encounters_per_s,
        );
    }
    md
}
