//! PostgreSQL planner statistics kept fresh while a store grows fast. PostgreSQL keeps a
//! generic plan for each statement a connection keeps prepared, made from the statistics
//! of that moment; in a new database that moment is an empty table, and a read by id list
//! then scans every resource of a type. Autovacuum refreshes statistics only after its
//! naptime, too late during a first load. So every [`CHECK_EVERY`] versions written by
//! this process, a background thread compares the resources table's size on disk with its
//! size at its last ANALYZE (`pg_class.relpages`), and analyzes once it has grown
//! fourfold. Both sizes are PostgreSQL's own, exact at once, so other replicas' writes
//! and autovacuum's ANALYZEs count.
//! (SQLite plans each statement by rule when it is prepared and keeps using the indexes.)

use super::rows::CountRow;
use super::sql::Sql;
use super::Db;
use crate::error::AppResult;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

/// Versions written between two looks at the statistics.
pub const CHECK_EVERY: u64 = 1_000;
/// Growth since the last ANALYZE that makes the next one.
const GROWTH: i64 = 4;
/// The first ANALYZE of a new table: 8 pages, some 600 resources.
const MIN_PAGES: i64 = 8;

#[derive(Default)]
pub struct StatsWatch {
    since_check: AtomicU64,
    checking: AtomicBool,
}

impl StatsWatch {
    /// Counts `versions` just committed; true when a look at the statistics is due (and
    /// none is running: the caller then runs [`refresh_if_grown`] and [`StatsWatch::done`]).
    pub fn written(&self, versions: u64) -> bool {
        let total = self.since_check.fetch_add(versions, Ordering::Relaxed) + versions;
        if total < CHECK_EVERY || self.checking.swap(true, Ordering::AcqRel) {
            return false;
        }
        self.since_check.store(0, Ordering::Relaxed);
        true
    }

    pub fn done(&self) {
        self.checking.store(false, Ordering::Release);
    }
}

/// Looks at the statistics on a thread of its own when `watch` says a look is due.
pub fn after_commit(db: &Db, watch: &Arc<StatsWatch>, versions: u64) {
    if !watch.written(versions) {
        return;
    }
    let (db, watch) = (db.clone(), Arc::clone(watch));
    std::thread::spawn(move || {
        if let Err(e) = refresh_if_grown(&db) {
            tracing::warn!(error = %e, "refreshing the planner statistics failed");
        }
        watch.done();
    });
}

/// ANALYZE when the resources table's pages are [`GROWTH`] times those at its last
/// ANALYZE (a table never analyzed counts as [`MIN_PAGES`] / GROWTH pages). Returns
/// whether it analyzed.
pub fn refresh_if_grown(db: &Db) -> AppResult<bool> {
    let sql = Sql::new(&format!(
        "SELECT CAST(CASE WHEN pg_relation_size(c.oid) / current_setting('block_size')::bigint \
         >= GREATEST(c.relpages * {GROWTH}, {MIN_PAGES}) THEN 1 ELSE 0 END AS BIGINT) AS n \
         FROM pg_class c WHERE c.oid = 'resources'::regclass"
    ));
    let grown = db
        .read()?
        .first::<CountRow>(&sql)?
        .is_some_and(|row| row.n == 1);
    if grown {
        db.analyze()?;
        tracing::info!(
            "planner statistics refreshed: the store grew fourfold since the last ANALYZE"
        );
    }
    Ok(grown)
}
