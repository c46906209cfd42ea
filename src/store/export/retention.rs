//! How long ended export jobs are kept: a completed, failed or cancelled job and its files
//! live `export_retention_seconds` after it ended (the completed status carries that time as
//! `Expires`); after that its URLs answer 404 and `sweep` deletes the files and the rows.

use super::{job_dir, remove_dir};
use crate::db::export_jobs::{self, JobRow};
use crate::error::AppResult;
use crate::store::Store;

/// Jobs deleted per database round trip.
const BATCH: i64 = 100;

fn retention_ms(store: &Store) -> i64 {
    store.config.export_retention_seconds as i64 * 1000
}

/// When the ended job `job` expires (None while it runs).
pub fn expires(store: &Store, job: &JobRow) -> Option<i64> {
    job.finished.map(|finished| finished + retention_ms(store))
}

/// True when `job` ended longer ago than the retention.
pub fn expired(store: &Store, job: &JobRow, now: i64) -> bool {
    expires(store, job).is_some_and(|at| at <= now)
}

/// Deletes the files and rows of every expired job; returns how many. Files go first, so a
/// crash in between leaves rows the next sweep finishes.
pub fn sweep(store: &Store, now: i64) -> AppResult<usize> {
    let mut removed = 0;
    loop {
        let ids = {
            let mut conn = store.db.read()?;
            export_jobs::ended_before(&mut conn, now - retention_ms(store) + 1, BATCH)?
        };
        if ids.is_empty() {
            return Ok(removed);
        }
        for id in &ids {
            remove_dir(&job_dir(&store.config, id));
            store.db.transaction(|conn| export_jobs::delete(conn, id))?;
        }
        removed += ids.len();
        tracing::info!(jobs = ids.len(), "expired export jobs deleted");
    }
}
