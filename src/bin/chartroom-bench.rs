//! `chartroom-bench`: the benchmark harness (see `bench/README.md`). Generates a synthetic
//! population, runs chartroom on SQLite and PostgreSQL next to the raw limits, and writes
//! `bench/results/<date>-<store>.{md,json}` and `bench/results/search.md`; with `--bulk`,
//! the ingest/export workloads and `bench/results/ingest.{md,json}`.

use chartroom::bench::{run, Options, StoreKind};
use clap::Parser;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "chartroom-bench",
    about = "Benchmark chartroom against its raw limits"
)]
struct Cli {
    /// Synthetic patients to generate and load.
    #[arg(long, default_value_t = 1000)]
    patients: usize,
    /// Seed of the synthetic population.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Seconds per timed workload.
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Stores to run, comma-separated: sqlite, postgres.
    #[arg(long, default_value = "sqlite,postgres", value_delimiter = ',')]
    stores: Vec<String>,
    /// PostgreSQL database the run adds a scratch schema to (dropped afterwards).
    #[arg(
        long,
        env = "CHARTROOM_BENCH_PG_URL",
        default_value = "postgres://postgres@127.0.0.1:5432/test"
    )]
    pg_url: String,
    /// Directory for the result files.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
    /// Date used in result file names (default: today, UTC).
    #[arg(long)]
    date: Option<String>,
    /// Connections of the ingest.
    #[arg(long, default_value_t = 8)]
    ingest_connections: usize,
    /// Connections of create, update and the searches.
    #[arg(long, default_value_t = 16)]
    connections: usize,
    /// SQLite synchronous setting of the server (FULL is the server default).
    #[arg(long, default_value = "FULL")]
    sqlite_synchronous: String,
    /// Measure only the master patient index (precision/recall over the seeded duplicates;
    /// writes mpi.md).
    #[arg(long)]
    mpi: bool,
    /// Only the audit read-overhead comparison (read by id, audit trail on vs off),
    /// written to `<out>/audit.md`.
    #[arg(long)]
    audit: bool,
    /// Run only the bulk workloads instead: transaction-Bundle ingest next to the raw
    /// insert baseline, and full-system export speed and peak memory (`ingest.md`).
    #[arg(long)]
    bulk: bool,
    /// `server` (ingest, reads, writes, searches) or `reporting` (prevalence stratified by
    /// sex × age band × region against hand-written SQL; writes bench/results/reporting.md).
    #[arg(long, default_value = "server")]
    workload: String,
    /// Timed repetitions per query of the reporting workload.
    #[arg(long, default_value_t = 5)]
    repeats: usize,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut stores = Vec::new();
    for name in &cli.stores {
        match name.trim() {
            "sqlite" => stores.push(StoreKind::Sqlite),
            "postgres" => stores.push(StoreKind::Postgres),
            other => {
                eprintln!("chartroom-bench: unknown store '{other}' (sqlite, postgres)");
                return ExitCode::FAILURE;
            }
        }
    }
    if cli.workload == "reporting" {
        let opts = chartroom::bench::reporting::ReportingOptions {
            patients: cli.patients.max(1),
            seed: cli.seed,
            stores,
            pg_url: cli.pg_url,
            out_file: cli.out.join("reporting.md"),
            repeats: cli.repeats,
            command: std::iter::once("chartroom-bench".to_string())
                .chain(std::env::args().skip(1))
                .collect::<Vec<_>>()
                .join(" "),
        };
        return match chartroom::bench::reporting::run_reporting(&opts) {
            Ok(path) => {
                println!("{}", path.display());
                ExitCode::SUCCESS
            }
            Err(message) => {
                eprintln!("chartroom-bench: {message}");
                ExitCode::FAILURE
            }
        };
    }
    if cli.workload != "server" {
        eprintln!(
            "chartroom-bench: unknown workload '{}' (server, reporting)",
            cli.workload
        );
        return ExitCode::FAILURE;
    }
    let opts = Options {
        patients: cli.patients.max(1),
        seed: cli.seed,
        seconds: cli.seconds,
        stores,
        pg_url: cli.pg_url,
        out_dir: cli.out,
        date: cli
            .date
            .unwrap_or_else(|| chrono::Utc::now().format("%Y-%m-%d").to_string()),
        ingest_connections: cli.ingest_connections.max(1),
        connections: cli.connections.max(1),
        sqlite_synchronous: cli.sqlite_synchronous,
    };
    let result = if cli.mpi {
        chartroom::bench::mpi::run(&opts).map(|p| vec![p])
    } else if cli.audit {
        chartroom::bench::audit_overhead::run(&opts).map(|p| vec![p])
    } else if cli.bulk {
        chartroom::bench::bulk::run(&opts)
    } else {
        run(&opts)
    };
    match result {
        Ok(paths) => {
            for path in paths {
                println!("{}", path.display());
            }
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("chartroom-bench: {message}");
            ExitCode::FAILURE
        }
    }
}
