//! Rebuilding search indexes and projections from the stored resources (after a change of
//! the search-parameter definitions or the extraction code). Works in batches of row keys,
//! each batch one transaction, and records its progress so an interrupted run resumes.

use super::Store;
use crate::db::resources::read_many;
use crate::db::rows::{CountRow, KeyRow};
use crate::db::sql::Sql;
use crate::db::{indexes, projections, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::index::extract;
use crate::fhir::json::now_ms;
use serde_json::Value;

const JOB: &str = "reindex";

/// What a reindex run did.
#[derive(Debug, Clone, Default)]
pub struct ReindexReport {
    pub resources: u64,
    pub total: u64,
    pub resumed_after: i64,
}

fn saved_progress(conn: &mut Conn) -> AppResult<i64> {
    let mut sql = Sql::new("SELECT last_rk AS rk FROM job_progress WHERE job = ");
    sql.bind(JOB);
    Ok(conn.first::<KeyRow>(&sql)?.map(|r| r.rk).unwrap_or(0))
}

fn save_progress(conn: &mut Conn, last_rk: i64) -> AppResult<()> {
    let mut sql = Sql::new("INSERT INTO job_progress (job, last_rk, updated) VALUES (");
    sql.bind(JOB)
        .push(", ")
        .bind(last_rk)
        .push(", ")
        .bind(now_ms());
    sql.push(
        ") ON CONFLICT (job) DO UPDATE SET last_rk = excluded.last_rk, updated = excluded.updated",
    );
    conn.execute(&sql)?;
    Ok(())
}

/// Rewrites the index rows and projections of the resources `keys` from their stored JSON
/// (the extraction every write uses).
pub fn rewrite_derived(conn: &mut Conn, keys: &[i64]) -> AppResult<()> {
    for (rk, row) in read_many(conn, keys)? {
        let Some(content) = row.content else { continue };
        let resource: Value = serde_json::from_str(&content).map_err(AppError::internal)?;
        let entries = extract(&resource)
            .map_err(|e| AppError::internal(format!("{}/{}: {e}", row.res_type, row.res_id)))?;
        indexes::replace(conn, rk, &row.res_type, &entries, false)?;
        projections::write(conn, &row.res_type, rk, &resource, false)?;
    }
    Ok(())
}

impl Store {
    /// Re-extracts index rows and projections of every current resource. `restart` ignores
    /// saved progress; `progress(done, total)` is called after each batch.
    pub fn reindex(
        &self,
        restart: bool,
        batch: usize,
        mut progress: impl FnMut(u64, u64),
    ) -> AppResult<ReindexReport> {
        let mut report = ReindexReport::default();
        let mut after = {
            let mut conn = self.db.write()?;
            if restart {
                save_progress(&mut conn, 0)?;
            }
            saved_progress(&mut conn)?
        };
        report.resumed_after = after;
        {
            let mut conn = self.db.read()?;
            let mut count =
                Sql::new("SELECT COUNT(*) AS n FROM resources WHERE deleted = 0 AND rk > ");
            count.bind(after);
            report.total = conn
                .first::<CountRow>(&count)?
                .map(|r| r.n as u64)
                .unwrap_or(0);
        }
        loop {
            let finished = self.db.transaction(|conn| {
                let mut keys = Sql::new("SELECT rk FROM resources WHERE deleted = 0 AND rk > ");
                keys.bind(after)
                    .push(" ORDER BY rk LIMIT ")
                    .bind(batch.max(1) as i64);
                let keys: Vec<i64> = conn
                    .load::<KeyRow>(&keys)?
                    .into_iter()
                    .map(|r| r.rk)
                    .collect();
                let Some(&last) = keys.last() else {
                    return Ok(None);
                };
                rewrite_derived(conn, &keys)?;
                save_progress(conn, last)?;
                Ok(Some((last, keys.len() as u64)))
            })?;
            let Some((last, n)) = finished else { break };
            after = last;
            report.resources += n;
            progress(report.resources, report.total);
        }
        Ok(report)
    }
}
