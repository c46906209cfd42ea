//! The `chartroom` binary: configuration → telemetry → migrations → the chosen command.

use chartroom::config::{Config, SETTINGS};
use clap::{Parser, Subcommand};
use std::net::TcpListener;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "chartroom",
    version,
    about = "FHIR R4 server for the health-information-management room"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the FHIR API (applies pending migrations first).
    #[command(after_help = settings_help())]
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(DbArgs),
    /// Walk the audit trail's hash chain and report the first broken link (exit 1 if any).
    AuditVerify(DbArgs),
    /// Mint a development token signed with the configured HS256 secret.
    Token(TokenArgs),
    /// Rebuild every search index and projection from the stored resources (resumable).
    Reindex(ReindexArgs),
    /// Load transaction/batch Bundles (.json) and NDJSON files (.ndjson) from a file or
    /// directory; resumable, prints a summary, exits non-zero if anything failed.
    Import(ImportArgs),
    /// Bulk Data export to a directory: NDJSON files (bounded by bytes) and manifest.json.
    Export(ExportArgs),
    /// Write a deterministic synthetic population (bundles, NDJSON, ground truth).
    Synth(SynthArgs),
    /// ICD-10-CM/PCS and MCE tables.
    #[command(subcommand)]
    Codes(CodesCommand),
    /// Run the coding audit over every encounter discharged since a date and print a summary.
    Audit(AuditArgs),
    /// Judge every record's deficiencies again (nightly sweep): open, close, re-open and
    /// cancel deficiency Tasks; prints the counts.
    Sweep(SweepArgs),
    /// Check configuration, database, migrations, index consistency, coding tables and clock
    /// skew; exit 1 when a check fails.
    Doctor(DoctorArgs),
    /// Print the OpenAPI document (the committed openapi/openapi.json is this output).
    Openapi,
    /// GET an http:// URL and exit 0 on a 2xx answer (container healthchecks).
    Probe {
        /// e.g. http://127.0.0.1:8080/health/ready
        url: String,
    },
    /// Compute a report for a scheduled job and print it (CSV unless --format says otherwise).
    #[command(subcommand)]
    Report(ReportCommand),
}

#[derive(clap::Args)]
struct SweepArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Records per database transaction.
    #[arg(long, default_value_t = 200)]
    batch: usize,
}

#[derive(clap::Args)]
struct DoctorArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Rewrite index rows and projections that differ from the stored resources, and delete
    /// rows no current resource owns.
    #[arg(long)]
    repair: bool,
    /// Print the report as JSON (the same as GET /admin/doctor).
    #[arg(long)]
    json: bool,
}

/// The reports; each takes the filter grammar of its HTTP operation as key=value arguments.
#[derive(Subcommand)]
enum ReportCommand {
    /// Period and point prevalence (GET /fhir/$prevalence).
    Prevalence(ReportArgs),
    /// Incidence (GET /fhir/$incidence).
    Incidence(ReportArgs),
    /// Prevalence of a comorbidity with and without a condition (GET /fhir/$predisposition).
    Predisposition(ReportArgs),
    /// MedicationRequests by medication for patients with a condition (GET /fhir/$prescriptions).
    Prescriptions(ReportArgs),
    /// Observation change after treatment start (GET /fhir/$treatment-response).
    TreatmentResponse(ReportArgs),
    /// Procedure volumes (GET /fhir/$procedure-volume).
    ProcedureVolume(ReportArgs),
    /// Length of stay (GET /fhir/$length-of-stay).
    LengthOfStay(ReportArgs),
    /// Record completion and delinquency (GET /fhir/$completion-report).
    CompletionReport(ReportArgs),
    /// Coding throughput and DNFB (GET /fhir/$coding-throughput).
    CodingThroughput(ReportArgs),
    /// Coding-audit error rates per ICD-10-CM chapter (GET /fhir/$coding-audit-rates).
    CodingAuditRates(ReportArgs),
    /// Write a registry submission (cancer, diabetes, hypertension) to a file and record a
    /// PUBHLTH disclosure per patient sent.
    Registry(RegistryArgs),
}

impl ReportCommand {
    /// The statistic and its arguments (None for a registry submission).
    fn into_parts(self) -> Option<(chartroom::reporting::params::ReportKind, ReportArgs)> {
        use chartroom::reporting::params::ReportKind as K;
        Some(match self {
            ReportCommand::Prevalence(a) => (K::Prevalence, a),
            ReportCommand::Incidence(a) => (K::Incidence, a),
            ReportCommand::Predisposition(a) => (K::Predisposition, a),
            ReportCommand::Prescriptions(a) => (K::Prescriptions, a),
            ReportCommand::TreatmentResponse(a) => (K::TreatmentResponse, a),
            ReportCommand::ProcedureVolume(a) => (K::ProcedureVolume, a),
            ReportCommand::LengthOfStay(a) => (K::LengthOfStay, a),
            ReportCommand::CompletionReport(a) => (K::Completion, a),
            ReportCommand::CodingThroughput(a) => (K::CodingThroughput, a),
            ReportCommand::CodingAuditRates(a) => (K::CodingAuditRates, a),
            ReportCommand::Registry(_) => return None,
        })
    }
}

#[derive(clap::Args)]
struct ReportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// csv, json, fhir (MeasureReport) or svg.
    #[arg(long, default_value = "csv")]
    format: String,
    /// Include sealed records and publish small cells (identified data; the output must be
    /// handled as PHI).
    #[arg(long)]
    identified: bool,
    /// Report parameters, e.g. code=E11 period-start=2024-01-01 period-end=2024-12-31 stratify=sex,age-band.
    params: Vec<String>,
}

#[derive(clap::Args)]
struct RegistryArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Registry name: cancer, diabetes or hypertension.
    #[arg(long)]
    name: String,
    /// Output file (removed again if the extract fails).
    #[arg(long)]
    out: std::path::PathBuf,
    /// bundle, ndjson, csv or naaccr-xml.
    #[arg(long, default_value = "bundle")]
    format: String,
    /// First day of the reporting period (YYYY[-MM[-DD]]).
    #[arg(long)]
    period_start: Option<String>,
    /// Last day of the reporting period (YYYY[-MM[-DD]]).
    #[arg(long)]
    period_end: Option<String>,
    /// safe-harbor, limited or none (default: the registry's).
    #[arg(long)]
    deidentify: Option<String>,
    /// Recipient recorded in the disclosures (default: the registry's).
    #[arg(long)]
    recipient: Option<String>,
    /// Sensitivity labels to include (SDV, PSY, ...; * for all), comma-separated; sealed
    /// records are left out otherwise.
    #[arg(long, value_delimiter = ',')]
    clearances: Vec<String>,
    /// Agent named in the disclosure records.
    #[arg(long, default_value = "chartroom-cli")]
    agent: String,
    /// Patients read per page (memory holds about one page).
    #[arg(long, default_value_t = chartroom::reporting::registry::PAGE)]
    page_size: usize,
}

#[derive(Subcommand)]
enum CodesCommand {
    /// Load and verify a directory of the official files; print the table sizes.
    Load {
        /// Directory holding the files named in data/coding/PROVENANCE (gzip-compressed).
        dir: std::path::PathBuf,
    },
}

#[derive(clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    db: DbArgs,
    /// First discharge date to audit (YYYY-MM-DD).
    #[arg(long)]
    since: chrono::NaiveDate,
}

#[derive(clap::Args)]
struct TokenArgs {
    /// SMART scopes, space-separated (e.g. "patient/*.rs" or "user/*.cruds").
    #[arg(long)]
    scope: String,
    /// Patient id for patient/ scopes.
    #[arg(long)]
    patient: Option<String>,
    /// Purpose of use (v3-ActReason code).
    #[arg(long, default_value = "TREAT")]
    purpose: String,
    /// Subject (user or client id).
    #[arg(long, default_value = "dev-user")]
    sub: String,
    /// chartroom roles, comma-separated.
    #[arg(long, value_delimiter = ',')]
    roles: Vec<String>,
    /// Sensitivity codes the bearer may see (SDV, PSY, ...; * for all), comma-separated.
    #[arg(long, value_delimiter = ',')]
    clearances: Vec<String>,
    /// May break the glass.
    #[arg(long)]
    btg: bool,
    /// Lifetime in minutes.
    #[arg(long, default_value_t = 60)]
    minutes: i64,
    #[command(flatten)]
    db: DbArgs,
}

#[derive(clap::Args)]
struct ReindexArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Start from the first resource instead of resuming an interrupted run.
    #[arg(long)]
    restart: bool,
    /// Resources per transaction.
    #[arg(long, default_value_t = 500)]
    batch: usize,
}

#[derive(clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// A file, or a directory whose .json and .ndjson files load in lexical order.
    path: std::path::PathBuf,
    /// NDJSON lines per database transaction.
    #[arg(long, default_value_t = 500)]
    batch_size: usize,
    /// Patient Bundles loaded side by side (default: twice the number of CPUs, so that one
    /// prepares while another waits for the writer). Other files load first, in order;
    /// `--jobs 1` loads every file strictly in lexical order.
    #[arg(long)]
    jobs: Option<usize>,
}

#[derive(clap::Args)]
struct ExportArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Resource types, comma-separated (default: every type).
    #[arg(long = "type")]
    types: Option<String>,
    /// Only resources updated after this FHIR instant (e.g. 2026-01-01T00:00:00Z).
    #[arg(long)]
    since: Option<String>,
    /// FHIR search queries per type (`Condition?code=E11`), repeatable.
    #[arg(long)]
    type_filter: Vec<String>,
    /// Output directory (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Close a file before it passes this many bytes (default: the export_file_bytes setting).
    #[arg(long)]
    file_bytes: Option<u64>,
}

#[derive(clap::Args)]
struct SynthArgs {
    /// Number of patient records (seeded duplicates included).
    #[arg(long, default_value_t = 1000)]
    patients: usize,
    /// Seed; equal seeds give byte-identical output.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    out: std::path::PathBuf,
    /// Rate of seeded coding errors and documentation gaps (0 to 1).
    #[arg(long)]
    error_rate: Option<f64>,
}

#[derive(clap::Args)]
struct DbArgs {
    /// Database URL: sqlite://path.db (embedded, created if missing) or postgres://user@host:port/db.
    #[arg(long, env = "CHARTROOM_DATABASE_URL")]
    database_url: Option<String>,
}

#[derive(clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    db: DbArgs,
    /// Address to listen on (default 127.0.0.1:8080).
    #[arg(long, env = "CHARTROOM_LISTEN")]
    listen: Option<String>,
}

fn settings_help() -> String {
    let mut text = String::from(
        "Settings (TOML file named by CHARTROOM_CONFIG, overridden by environment variables, overridden by flags):\n",
    );
    for (name, default) in SETTINGS {
        text.push_str(&format!(
            "  CHARTROOM_{:<22} {name} (default: {})\n",
            name.to_uppercase(),
            if default.is_empty() { "unset" } else { default }
        ));
    }
    text
}

fn load_config(db: &DbArgs) -> Result<Config, String> {
    let mut config = Config::load()?;
    if let Some(url) = &db.database_url {
        config.set("database_url", url)?;
    }
    Ok(config)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve(args),
        Command::Migrate(args) => migrate(args),
        Command::Reindex(args) => reindex(args),
        Command::Token(args) => token(args),
        Command::AuditVerify(args) => audit_verify(args),
        Command::Import(args) => import(args),
        Command::Export(args) => export(args),
        Command::Synth(args) => synth(args),
        Command::Codes(CodesCommand::Load { dir }) => chartroom_cli::codes_load(&dir),
        Command::Audit(args) => audit(args),
        Command::Sweep(args) => sweep(args),
        Command::Doctor(args) => doctor(args),
        Command::Probe { url } => chartroom::doctor::probe(&url).map(|_| ()),
        Command::Openapi => {
            println!("{}", chartroom::http::openapi::document_json());
            Ok(())
        }
        Command::Report(ReportCommand::Registry(args)) => registry_extract(args),
        Command::Report(command) => report(command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chartroom: {message}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> Result<(), String> {
    let mut config = load_config(&args.db)?;
    if let Some(listen) = &args.listen {
        config.set("listen", listen)?;
    }
    chartroom::telemetry::init(&config.log);
    if config.auth_disabled() {
        tracing::warn!(
            "authentication is OFF (CHARTROOM_AUTH=off): every request is served without a token"
        );
    } else if config.jwt_hs256_secret.is_none() && config.jwt_jwks.is_none() {
        let (secret, path) = dev_secret(&config)?;
        config.jwt_hs256_secret = Some(secret);
        tracing::warn!(
            secret_file = %path,
            "no JWT key configured: using a development HS256 secret; mint tokens with `chartroom token --scope ...`"
        );
    }
    let listener = TcpListener::bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let listen = config.listen.clone();
    let store = chartroom::open_store(config)?;
    std::thread::spawn(chartroom::coding::shared::warm_up);
    tracing::info!(listen = %listen, base = %format!("http://{listen}/fhir"), "chartroom serving");
    let result = actix_web::rt::System::new()
        .block_on(async move { chartroom::start(store, listener)?.await })
        .map_err(|e| format!("server stopped: {e}"));
    chartroom::telemetry::shutdown();
    result
}

fn doctor(args: DoctorArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    let db = chartroom::db::Db::connect(
        &config.database_url,
        &chartroom::db::DbOptions {
            pool_size: 2,
            sqlite_synchronous: config.sqlite_synchronous.clone(),
        },
    );
    let report = chartroom::doctor::run(&config, db.as_ref().map_err(Clone::clone), args.repair);
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?
        );
    } else {
        print!("{}", report.text());
    }
    if report.ok {
        Ok(())
    } else {
        Err("doctor found problems".into())
    }
}

fn migrate(args: DbArgs) -> Result<(), String> {
    let config = load_config(&args)?;
    chartroom::telemetry::init(&config.log);
    let db = chartroom::db::Db::connect(
        &config.database_url,
        &chartroom::db::DbOptions {
            pool_size: 1,
            sqlite_synchronous: config.sqlite_synchronous.clone(),
        },
    )?;
    let applied = chartroom::db::migrate::run(&db)?;
    println!("applied {} migration(s)", applied.len());
    Ok(())
}

fn reindex(args: ReindexArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let store = chartroom::open_store(config)?;
    let started = std::time::Instant::now();
    let report = store
        .reindex(args.restart, args.batch, |done, total| {
            let width = 40;
            let filled = if total == 0 {
                width
            } else {
                (done as usize * width / total as usize).min(width)
            };
            eprint!(
                "\rreindex [{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
        })
        .map_err(|e| e.to_string())?;
    eprintln!();
    println!(
        "reindexed {} resource(s) in {:.1} s{}",
        report.resources,
        started.elapsed().as_secs_f64(),
        if report.resumed_after > 0 {
            format!(" (resumed after row {})", report.resumed_after)
        } else {
            String::new()
        }
    );
    Ok(())
}

/// The development HS256 secret kept beside the SQLite database (created on first use);
/// PostgreSQL deployments must configure a key.
fn dev_secret(config: &Config) -> Result<(String, String), String> {
    let Some(db_path) = config.database_url.strip_prefix("sqlite://") else {
        return Err("authentication is on: set CHARTROOM_JWT_HS256_SECRET or CHARTROOM_JWT_JWKS (or CHARTROOM_AUTH=off for local development)".into());
    };
    let dir = std::path::Path::new(db_path)
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let path = dir.join("chartroom-dev-secret");
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok((secret.trim().to_string(), path.display().to_string()));
    }
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let secret = format!(
        "{}{}",
        uuid::Uuid::new_v4().simple(),
        uuid::Uuid::new_v4().simple()
    );
    write_private(&path, &secret).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok((secret, path.display().to_string()))
}

fn write_private(path: &std::path::Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(text.as_bytes())
}

fn token(args: TokenArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    let secret = match &config.jwt_hs256_secret {
        Some(secret) => secret.clone(),
        None => dev_secret(&config)?.0,
    };
    let claims = chartroom::auth::Claims {
        iss: config.jwt_issuer.clone(),
        aud: config.jwt_audience.clone(),
        exp: chrono::Utc::now().timestamp() + args.minutes * 60,
        nbf: None,
        sub: args.sub,
        scope: args.scope,
        patient: args.patient,
        fhir_user: None,
        chartroom_roles: args.roles,
        chartroom_clearances: args.clearances,
        chartroom_btg: args.btg,
        purpose_of_use: Some(args.purpose),
    };
    println!("{}", chartroom::auth::mint(&claims, &secret)?);
    Ok(())
}

fn import(args: ImportArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let backend = chartroom::db::Backend::of_url(&config.database_url);
    let jobs = args
        .jobs
        .unwrap_or_else(|| chartroom::import::default_jobs(backend));
    let store = chartroom::open_store(config)?;
    let options = chartroom::import::ImportOptions {
        batch_size: args.batch_size,
        jobs,
    };
    let mut report = |line: &str| eprint!("\r\x1b[2K{line}");
    let summary = chartroom::import::run(&store, &args.path, &options, &mut report)?;
    eprintln!();
    println!(
        "imported {} resources from {} file(s) ({} skipped as already imported) in {:.1} s: {:.0} resources/s; {} failed",
        summary.loaded,
        summary.files,
        summary.skipped,
        summary.elapsed.as_secs_f64(),
        summary.rate(),
        summary.failed.len()
    );
    for (place, reason) in summary.failed.iter().take(100) {
        println!("  failed: {place}: {reason}");
    }
    if summary.failed.len() > 100 {
        println!("  ... and {} more failures", summary.failed.len() - 100);
    }
    if summary.failed.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{} resource(s) or file(s) failed",
            summary.failed.len()
        ))
    }
}

fn export(args: ExportArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let file_bytes = args.file_bytes.unwrap_or(config.export_file_bytes as u64);
    let store = chartroom::open_store(config)?;
    let mut pairs: Vec<(String, String)> = Vec::new();
    pairs.extend(args.types.map(|t| ("_type".to_string(), t)));
    pairs.extend(args.since.map(|s| ("_since".to_string(), s)));
    pairs.extend(
        args.type_filter
            .into_iter()
            .map(|f| ("_typeFilter".to_string(), f)),
    );
    let started = std::time::Instant::now();
    let summary = chartroom::store::export::export_to_dir(&store, &pairs, &args.out, file_bytes)
        .map_err(|e| {
            e.issues()
                .first()
                .map(|i| i.diagnostics.clone())
                .unwrap_or_else(|| e.to_string())
        })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "exported {} resources in {} file(s) to {} in {seconds:.2} s: {:.0} resources/s; peak RSS {:.1} MB",
        summary.resources,
        summary.files,
        args.out.display(),
        summary.resources as f64 / seconds.max(1e-9),
        chartroom::bench::report::rss_mb().1
    );
    Ok(())
}

fn audit_verify(args: DbArgs) -> Result<(), String> {
    let config = load_config(&args)?;
    let store = chartroom::open_store(config)?;
    let mut conn = store.db.read().map_err(|e| e.to_string())?;
    let report = chartroom::db::audit::verify(&mut conn).map_err(|e| e.to_string())?;
    match report.first_broken {
        None => {
            println!("audit trail intact: {} event(s), every hash link verified", report.events);
            Ok(())
        }
        Some(seq) => Err(format!(
            "audit trail BROKEN at event sequence {seq} ({} event(s) before it verified): a row was altered, inserted or removed",
            report.events
        )),
    }
}

fn synth(args: SynthArgs) -> Result<(), String> {
    let mut cfg = chartroom::synth::SynthConfig::new(args.patients, args.seed);
    if let Some(rate) = args.error_rate {
        if !(0.0..=1.0).contains(&rate) {
            return Err(format!("--error-rate {rate} is not between 0 and 1"));
        }
        cfg.error_rate = rate;
    }
    let truth = chartroom::synth::write_population(&cfg, &args.out)
        .map_err(|e| format!("cannot write to {}: {e}", args.out.display()))?;
    println!(
        "ground truth: {}",
        args.out.join("ground-truth.json").display()
    );
    println!(
        "patients {}, seeded errors {}, documentation gaps {}, duplicate pairs {}, sensitive records {}",
        truth.patients,
        truth.seeded_errors.len(),
        truth.documentation_gaps.len(),
        truth.duplicate_pairs.len(),
        truth.sensitive_records.len()
    );
    for (kind, n) in &truth.resources {
        println!("{kind:<20} {n}");
    }
    Ok(())
}

fn audit(args: AuditArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let store = chartroom::open_store(config)?;
    chartroom_cli::audit_sweep(&store, args.since)
}

fn sweep(args: SweepArgs) -> Result<(), String> {
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let store = chartroom::open_store(config)?;
    let done = chartroom::records::deficiency::sweep::sweep(&store, args.batch)
        .map_err(|e| e.to_string())?;
    let t = done.tally;
    println!(
        "swept {} record(s) in {:.1} s: {} opened, {} re-opened, {} closed, {} cancelled",
        done.records, done.seconds, t.opened, t.reopened, t.closed, t.cancelled
    );
    Ok(())
}

fn registry_extract(args: RegistryArgs) -> Result<(), String> {
    use chartroom::reporting::registry::{self, ExtractParams};
    let config = load_config(&args.db)?;
    chartroom::telemetry::init(&config.log);
    let mut pairs = vec![
        ("registry".to_string(), args.name.clone()),
        ("_format".to_string(), args.format.clone()),
    ];
    for (name, value) in [
        ("period-start", &args.period_start),
        ("period-end", &args.period_end),
        ("deidentify", &args.deidentify),
        ("recipient", &args.recipient),
    ] {
        if let Some(value) = value {
            pairs.push((name.to_string(), value.clone()));
        }
    }
    let mut params =
        ExtractParams::from_pairs(&pairs, config.base_url.clone()).map_err(|e| e.to_string())?;
    params.page_size = args.page_size;
    let store = chartroom::open_store(config)?;
    let all = args.clearances.iter().any(|c| c == "*");
    let access = chartroom::auth::Access {
        hidden_labels: chartroom::auth::access::SENSITIVE_LABELS
            .iter()
            .filter(|l| !all && !args.clearances.iter().any(|c| c == *l))
            .map(|l| l.to_string())
            .collect(),
        ..Default::default()
    };
    let who = chartroom::auth::audit::Who {
        agent: args.agent.clone(),
        purpose: Some("PUBHLTH".into()),
        ..Default::default()
    };
    let started = std::time::Instant::now();
    let file = std::fs::File::create(&args.out)
        .map_err(|e| format!("cannot write {}: {e}", args.out.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let result = registry::extract(&store, &params, &access, &who, &mut out);
    drop(out);
    let summary = result.map_err(|e| {
        let _ = std::fs::remove_file(&args.out);
        e.to_string()
    })?;
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "registry {}: {} patient(s), {} resource(s) written to {} ({}, de-identification {}) in {seconds:.2} s: {:.0} resources/s; disclosures recorded to '{}'",
        args.name,
        summary.patients,
        summary.resources,
        args.out.display(),
        params.format.code(),
        summary.mode,
        summary.resources as f64 / seconds.max(1e-9),
        summary.recipient
    );
    Ok(())
}

fn report(command: ReportCommand) -> Result<(), String> {
    use chartroom::reporting::job::{run_job, JobFormat};
    let (kind, args) = command
        .into_parts()
        .ok_or("a registry submission is `chartroom report registry`")?;
    let format = JobFormat::parse(&args.format)
        .ok_or_else(|| format!("--format {}: use csv, json, fhir or svg", args.format))?;
    let mut config = load_config(&args.db)?;
    config.log = "error".into();
    chartroom::telemetry::init(&config.log);
    let store = chartroom::open_store(config)?;
    let text =
        run_job(&store, kind, &args.params, format, args.identified).map_err(|e| match e {
            chartroom::error::AppError::BadRequest(issues) => issues
                .iter()
                .map(|i| i.diagnostics.clone())
                .collect::<Vec<_>>()
                .join("; "),
            other => other.to_string(),
        })?;
    print!("{text}");
    Ok(())
}

/// Output of the coding subcommands.
mod chartroom_cli {
    use chartroom::coding::{shared, Terminology};

    pub fn codes_load(dir: &std::path::Path) -> Result<(), String> {
        let started = std::time::Instant::now();
        let terms = Terminology::load_dir(dir).map_err(|e| e.to_string())?;
        let s = terms.stats();
        println!(
            "loaded {} in {:.1} s",
            dir.display(),
            started.elapsed().as_secs_f64()
        );
        for (name, n) in [
            ("ICD-10-CM chapters", s.cm_chapters),
            ("ICD-10-CM sections", s.cm_sections),
            ("ICD-10-CM tabular codes (<diag>)", s.cm_diags),
            ("ICD-10-CM codes with 7th-character expansions", s.cm_codes),
            ("ICD-10-CM billable codes", s.cm_billable),
            ("ICD-10-PCS tables", s.pcs_tables),
            ("ICD-10-PCS valid codes", s.pcs_codes),
            ("MCE rows", s.mce_rows),
        ] {
            println!("{n:>9}  {name}");
        }
        Ok(())
    }

    pub fn audit_sweep(
        store: &chartroom::store::Store,
        since: chrono::NaiveDate,
    ) -> Result<(), String> {
        let terms = shared::terminology().map_err(|e| e.to_string())?;
        let who = chartroom::auth::audit::Who {
            agent: "chartroom audit (sweep)".into(),
            purpose: Some("HOPERAT".into()),
            ..Default::default()
        };
        let (report, tasks) = chartroom::records::coding_review::sweep(store, &terms, &who, since)
            .map_err(|e| e.to_string())?;
        println!("{:<30} {:<12} {:>8}", "edit", "severity", "findings");
        for (edit, (severity, count)) in &report.by_edit {
            println!(
                "{edit:<30} {:<12} {count:>8}",
                format!("{severity:?}").to_lowercase()
            );
        }
        let rate = if report.seconds > 0.0 {
            report.encounters as f64 / report.seconds
        } else {
            0.0
        };
        println!(
            "{} encounter(s) discharged since {since} audited ({} with errors, {} skipped without a birth date) in {:.2} s: {rate:.0} encounters/s",
            report.encounters, report.with_errors, report.skipped, report.seconds
        );
        println!("{:<30} {:>8}", "coding-review tasks", "count");
        for (what, n) in [
            ("opened", tasks.opened),
            ("updated", tasks.updated),
            ("completed (now clean)", tasks.completed),
            ("unchanged", tasks.unchanged),
        ] {
            println!("{what:<30} {n:>8}");
        }
        Ok(())
    }
}
