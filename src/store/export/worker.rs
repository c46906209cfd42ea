//! The export worker of a server process: a thread that claims waiting jobs (or jobs whose
//! lease expired because their server died), runs them with `writer`, renews its lease as
//! it goes, and records each finished export in the audit trail in the same transaction
//! that marks the job completed. Several replicas on one PostgreSQL database share jobs.
//! Between jobs it deletes expired ones (`retention`), as does every server start.

use super::grant::Grant;
use super::spec::ExportSpec;
use super::writer::{self, Ended};
use super::{job_dir, remove_dir};
use crate::auth::audit::{AuditKind, AuditOutcome, Who};
use crate::db::export_jobs::{self, FileRow, JobRow, Position};
use crate::error::{AppError, AppResult};
use crate::fhir::json::now_ms;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(300);
/// How often an idle worker looks for expired jobs.
const SWEEP: Duration = Duration::from_secs(1);

/// Stops the worker threads when dropped.
pub struct WorkerHandle {
    stop: Arc<AtomicBool>,
}

impl Drop for WorkerHandle {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Deletes the jobs that expired while no server ran, then starts
/// `store.config.export_workers` worker threads (none when 0).
pub fn start(store: &Store) -> WorkerHandle {
    if let Err(error) = super::retention::sweep(store, now_ms()) {
        tracing::warn!(%error, "could not delete expired export jobs");
    }
    let stop = Arc::new(AtomicBool::new(false));
    for n in 0..store.config.export_workers {
        let store = store.clone();
        let stop = stop.clone();
        let name = format!("export-{}-{n}", uuid::Uuid::new_v4().simple());
        let spawned = std::thread::Builder::new()
            .name("export-worker".into())
            .spawn(move || work(&store, &name, &stop));
        if let Err(error) = spawned {
            tracing::error!(%error, "could not start the export worker");
        }
    }
    WorkerHandle { stop }
}

fn lease_ms(store: &Store) -> i64 {
    store.config.export_lease_seconds as i64 * 1000
}

fn work(store: &Store, worker: &str, stop: &AtomicBool) {
    let mut swept = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        if swept.elapsed() >= SWEEP {
            if let Err(error) = super::retention::sweep(store, now_ms()) {
                // as for polling: the database may be away for a moment
                tracing::debug!(%error, "could not delete expired export jobs");
            }
            swept = Instant::now();
        }
        let now = now_ms();
        // poll on a reader; only a job waiting for a worker takes the (SQLite: single) writer
        let waiting = store
            .db
            .read()
            .and_then(|mut conn| export_jobs::any_claimable(&mut conn, now));
        let claimed = match waiting {
            Ok(true) => store
                .db
                .transaction(|conn| export_jobs::claim(conn, worker, now, now + lease_ms(store))),
            Ok(false) => Ok(None),
            Err(error) => Err(error),
        };
        match claimed {
            Ok(Some(job)) => {
                tracing::info!(job = %job.id, "export job started");
                if let Err(error) = run_job(store, worker, &job, stop) {
                    tracing::error!(job = %job.id, %error, "export job bookkeeping failed");
                }
            }
            Ok(None) => std::thread::sleep(POLL),
            Err(error) => {
                // a test dropping its database, or the database being away: keep trying slowly
                tracing::debug!(%error, "export worker could not poll for jobs");
                std::thread::sleep(POLL * 10);
            }
        }
    }
}

/// The job's progress recorded in its row; stops when the job is cancelled, taken over,
/// or the server shuts down.
struct JobProgress<'a> {
    store: &'a Store,
    id: &'a str,
    worker: &'a str,
    stop: &'a AtomicBool,
    renewed: Instant,
}

impl JobProgress<'_> {
    fn advance(&mut self, position: &Position, file: Option<&FileRow>) -> AppResult<bool> {
        let now = now_ms();
        let held = self.store.db.transaction(|conn| {
            export_jobs::advance(conn, self.id, self.worker, position, file, now)
        })?;
        if held {
            // the position write proves the lease is ours; extend it too
            self.renew()?;
        }
        Ok(held && !self.stop.load(Ordering::SeqCst))
    }

    fn renew(&mut self) -> AppResult<bool> {
        let now = now_ms();
        let lease = lease_ms(self.store);
        self.renewed = Instant::now();
        self.store
            .db
            .transaction(|conn| export_jobs::renew(conn, self.id, self.worker, now, now + lease))
    }
}

impl writer::Progress for JobProgress<'_> {
    fn file_done(&mut self, file: &FileRow, position: &Position) -> AppResult<bool> {
        let going = self.advance(position, Some(file))?;
        let throttle = self.store.config.export_throttle_ms;
        if going && throttle > 0 {
            std::thread::sleep(Duration::from_millis(throttle as u64));
        }
        Ok(going)
    }

    fn moved(&mut self, position: &Position) -> AppResult<bool> {
        self.advance(position, None)
    }

    fn keep_going(&mut self) -> AppResult<bool> {
        if self.stop.load(Ordering::SeqCst) {
            return Ok(false);
        }
        if self.renewed.elapsed().as_millis() as i64 * 3 > lease_ms(self.store) {
            return self.renew();
        }
        Ok(true)
    }
}

/// What the client may read of a failure (internal detail stays in the log).
fn client_message(error: &AppError, id: &str) -> String {
    match error {
        AppError::Internal(_) | AppError::ServiceUnavailable(_) => {
            format!("export job {id} failed on the server; the server log has the detail")
        }
        AppError::BadRequest(issues) | AppError::Unprocessable(issues) => issues
            .iter()
            .map(|i| i.diagnostics.clone())
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    }
}

fn run_job(store: &Store, worker: &str, job: &JobRow, stop: &AtomicBool) -> AppResult<()> {
    let spec: ExportSpec = serde_json::from_str(&job.spec).map_err(AppError::internal)?;
    let grant: Grant = serde_json::from_str(&job.access_grant).map_err(AppError::internal)?;
    let dir = job_dir(&store.config, &job.id);
    let start = Position {
        type_index: job.type_index,
        after_rk: job.after_rk,
        next_part: job.next_part,
        exported: job.exported,
    };
    let mut progress = JobProgress {
        store,
        id: &job.id,
        worker,
        stop,
        renewed: Instant::now(),
    };
    let file_bytes = store.config.export_file_bytes as u64;
    let result = writer::run(store, &spec, &grant, &dir, file_bytes, start, &mut progress);
    let cancelled = {
        let mut conn = store.db.read()?;
        export_jobs::get(&mut conn, &job.id)?.is_none_or(|j| j.status == export_jobs::CANCELLED)
    };
    if cancelled {
        remove_dir(&dir);
        return Ok(());
    }
    let (status, outcome, message) = match &result {
        Ok(Ended::Stopped) => return Ok(()),
        Ok(Ended::Done) => (export_jobs::COMPLETED, AuditOutcome::Success, None),
        Err(error) => {
            tracing::error!(job = %job.id, %error, "export job failed");
            (
                export_jobs::FAILED,
                AuditOutcome::Failed,
                Some(client_message(error, &job.id)),
            )
        }
    };
    let who: Who = serde_json::from_str(&job.audit_who).unwrap_or_default();
    store.db.transaction(|conn| {
        let files = export_jobs::files(conn, &job.id)?;
        let mut types: Vec<String> = files.iter().map(|f| f.res_type.clone()).collect();
        types.dedup();
        let mut record = who.record(AuditKind::Operation, outcome, types, None);
        record.query = Some(job.request_url.clone());
        let now = now_ms();
        export_jobs::finish(conn, &job.id, status, message.as_deref(), now)?;
        crate::db::audit::append(conn, vec![record], now)
    })?;
    tracing::info!(job = %job.id, status, "export job ended");
    Ok(())
}
