//! Process-wide Prometheus metrics and the small API the services call to count their work.
//! HTTP request counts and latencies per route pattern come from the HTTP middleware
//! (its own registry per server); `render` joins both into the `/metrics` text.
//!
//! | call | metric |
//! |---|---|
//! | `transaction(committed, seconds)` | `chartroom_db_transactions_total{outcome}`, `chartroom_db_transaction_seconds` |
//! | `resources_imported(n)`, `import_failures(n)` | `chartroom_import_resources_total`, `chartroom_import_failures_total` |
//! | `export_job_started()`, `export_job_finished(ok)`, `resources_exported(n)` | `chartroom_export_jobs_total{outcome}`, `chartroom_export_jobs_running`, `chartroom_export_resources_total` |
//! | `coding_finding(edit)` | `chartroom_coding_audit_findings_total{edit}` |
//! | `auth_failure(reason)` | `chartroom_auth_failures_total{reason}` |
//! | (at scrape) | `chartroom_db_pool_connections{state}`, `chartroom_db_pool_size` |

use once_cell::sync::Lazy;
use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

struct Metrics {
    registry: Registry,
    transactions: IntCounterVec,
    transaction_seconds: Histogram,
    imported: IntCounter,
    import_failures: IntCounter,
    export_jobs: IntCounterVec,
    export_running: IntGauge,
    exported: IntCounter,
    coding_findings: IntCounterVec,
    auth_failures: IntCounterVec,
    pool: IntGaugeVec,
    pool_size: IntGauge,
}

fn counter(registry: &Registry, name: &str, help: &str) -> IntCounter {
    let c = IntCounter::new(name, help).expect("metric");
    registry.register(Box::new(c.clone())).expect("register");
    c
}

fn counter_vec(registry: &Registry, name: &str, help: &str, label: &str) -> IntCounterVec {
    let c = IntCounterVec::new(Opts::new(name, help), &[label]).expect("metric");
    registry.register(Box::new(c.clone())).expect("register");
    c
}

static METRICS: Lazy<Metrics> = Lazy::new(|| {
    let r = Registry::new();
    let transaction_seconds = Histogram::with_opts(
        HistogramOpts::new(
            "chartroom_db_transaction_seconds",
            "Duration of write transactions",
        )
        .buckets(vec![0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 30.0]),
    )
    .expect("metric");
    r.register(Box::new(transaction_seconds.clone()))
        .expect("register");
    let export_running =
        IntGauge::new("chartroom_export_jobs_running", "Export jobs in progress").expect("metric");
    r.register(Box::new(export_running.clone()))
        .expect("register");
    let pool = IntGaugeVec::new(
        Opts::new(
            "chartroom_db_pool_connections",
            "Database connections of the read pool by state (idle, busy)",
        ),
        &["state"],
    )
    .expect("metric");
    r.register(Box::new(pool.clone())).expect("register");
    let pool_size = IntGauge::new(
        "chartroom_db_pool_size",
        "Largest number of read-pool connections",
    )
    .expect("metric");
    r.register(Box::new(pool_size.clone())).expect("register");
    Metrics {
        transactions: counter_vec(
            &r,
            "chartroom_db_transactions_total",
            "Write transactions by outcome (commit, rollback)",
            "outcome",
        ),
        transaction_seconds,
        imported: counter(
            &r,
            "chartroom_import_resources_total",
            "Resources written by imports",
        ),
        import_failures: counter(
            &r,
            "chartroom_import_failures_total",
            "Resources or files an import could not load",
        ),
        export_jobs: counter_vec(
            &r,
            "chartroom_export_jobs_total",
            "Export jobs by state (started, completed, failed)",
            "outcome",
        ),
        export_running,
        exported: counter(
            &r,
            "chartroom_export_resources_total",
            "Resources written by export jobs",
        ),
        coding_findings: counter_vec(
            &r,
            "chartroom_coding_audit_findings_total",
            "Coding-audit findings by edit id",
            "edit",
        ),
        auth_failures: counter_vec(
            &r,
            "chartroom_auth_failures_total",
            "Refused requests by reason class (missing_token, invalid_token, scope, break_glass)",
            "reason",
        ),
        pool,
        pool_size,
        registry: r,
    }
});

/// A write transaction ended (`committed` false: rolled back) after `seconds`.
pub fn transaction(committed: bool, seconds: f64) {
    let m = &*METRICS;
    m.transactions
        .with_label_values(&[if committed { "commit" } else { "rollback" }])
        .inc();
    m.transaction_seconds.observe(seconds);
}

/// An import wrote `n` resources.
pub fn resources_imported(n: u64) {
    METRICS.imported.inc_by(n);
}

/// An import failed to load `n` resources or files.
pub fn import_failures(n: u64) {
    METRICS.import_failures.inc_by(n);
}

/// An export job started (call `export_job_finished` when it ends).
pub fn export_job_started() {
    METRICS.export_jobs.with_label_values(&["started"]).inc();
    METRICS.export_running.inc();
}

/// An export job ended, successfully or not.
pub fn export_job_finished(ok: bool) {
    let outcome = if ok { "completed" } else { "failed" };
    METRICS.export_jobs.with_label_values(&[outcome]).inc();
    METRICS.export_running.dec();
}

/// An export job wrote `n` resources.
pub fn resources_exported(n: u64) {
    METRICS.exported.inc_by(n);
}

/// The coding audit reported a finding of edit `edit` (an edit id, a fixed set).
pub fn coding_finding(edit: &str) {
    METRICS.coding_findings.with_label_values(&[edit]).inc();
}

/// A request was refused; `reason` is a class, never a detail (`missing_token`,
/// `invalid_token`, `scope`, `break_glass`).
pub fn auth_failure(reason: &'static str) {
    METRICS.auth_failures.with_label_values(&[reason]).inc();
}

/// The Prometheus text of these metrics and of `others` (a server's HTTP metrics), with the
/// pool gauges set from `pool` = (connections, idle connections, largest size).
pub fn render(others: &[&Registry], pool: (u32, u32, u32)) -> String {
    let m = &*METRICS;
    let (connections, idle, size) = pool;
    m.pool.with_label_values(&["idle"]).set(i64::from(idle));
    m.pool
        .with_label_values(&["busy"])
        .set(i64::from(connections.saturating_sub(idle)));
    m.pool_size.set(i64::from(size));
    let mut families = m.registry.gather();
    for registry in others {
        families.extend(registry.gather());
    }
    let mut buffer = Vec::new();
    // encoding into a Vec cannot fail for well-formed families
    let _ = TextEncoder::new().encode(&families, &mut buffer);
    String::from_utf8(buffer).unwrap_or_default()
}
