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
    /// Rebuild every search index and projection from the stored resources (resumable).
    Reindex(ReindexArgs),
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
    }
    let listener = TcpListener::bind(&config.listen)
        .map_err(|e| format!("cannot listen on {}: {e}", config.listen))?;
    let listen = config.listen.clone();
    let store = chartroom::open_store(config)?;
    tracing::info!(listen = %listen, base = %format!("http://{listen}/fhir"), "chartroom serving");
    actix_web::rt::System::new()
        .block_on(async move { chartroom::start(store, listener)?.await })
        .map_err(|e| format!("server stopped: {e}"))
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
