//! The `export_jobs` and `export_files` tables: Bulk Data export jobs, their progress and
//! their finished files. Jobs are claimed with a lease; on PostgreSQL the claim skips rows
//! another replica is claiming at the same moment (`FOR UPDATE SKIP LOCKED`).

use super::sql::Sql;
use super::{Backend, Conn};
use crate::error::AppResult;
use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::QueryableByName;

/// Job states, as stored.
pub const ACCEPTED: &str = "accepted";
pub const RUNNING: &str = "running";
pub const COMPLETED: &str = "completed";
pub const FAILED: &str = "failed";
pub const CANCELLED: &str = "cancelled";

/// One job row.
#[derive(Debug, Clone, QueryableByName)]
pub struct JobRow {
    #[diesel(sql_type = Text)]
    pub id: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub owner: String,
    #[diesel(sql_type = Text)]
    pub request_url: String,
    #[diesel(sql_type = Text)]
    pub spec: String,
    #[diesel(sql_type = Text)]
    pub access_grant: String,
    #[diesel(sql_type = Text)]
    pub audit_who: String,
    #[diesel(sql_type = BigInt)]
    pub transaction_time: i64,
    #[diesel(sql_type = BigInt)]
    pub type_index: i64,
    #[diesel(sql_type = BigInt)]
    pub after_rk: i64,
    #[diesel(sql_type = BigInt)]
    pub next_part: i64,
    #[diesel(sql_type = BigInt)]
    pub exported: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub error: Option<String>,
    /// When the job completed, failed or was cancelled.
    #[diesel(sql_type = Nullable<BigInt>)]
    pub finished: Option<i64>,
}

/// One finished file.
#[derive(Debug, Clone, QueryableByName)]
pub struct FileRow {
    #[diesel(sql_type = BigInt)]
    pub part: i64,
    #[diesel(sql_type = Text)]
    pub res_type: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub resources: i64,
    #[diesel(sql_type = BigInt)]
    pub bytes: i64,
}

/// A job about to be stored.
pub struct NewJob<'a> {
    pub id: &'a str,
    pub owner: &'a str,
    pub request_url: &'a str,
    pub spec: String,
    pub access_grant: String,
    pub audit_who: String,
    pub now: i64,
}

const JOB_COLUMNS: &str = "id, status, owner, request_url, spec, access_grant, audit_who, \
     transaction_time, type_index, after_rk, next_part, exported, error, finished";

/// Stores a new job in state `accepted`.
pub fn insert(conn: &mut Conn, job: &NewJob<'_>) -> AppResult<()> {
    let mut sql = Sql::new(
        "INSERT INTO export_jobs (id, status, owner, request_url, spec, access_grant, audit_who, \
         transaction_time, created, updated) VALUES (",
    );
    sql.bind(job.id).push(", ").bind(ACCEPTED).push(", ");
    sql.bind(job.owner)
        .push(", ")
        .bind(job.request_url)
        .push(", ");
    sql.bind(job.spec.as_str())
        .push(", ")
        .bind(job.access_grant.as_str())
        .push(", ");
    sql.bind(job.audit_who.as_str()).push(", ").bind(job.now);
    sql.push(", ")
        .bind(job.now)
        .push(", ")
        .bind(job.now)
        .push(")");
    conn.execute(&sql)?;
    Ok(())
}

/// The job `id`, whatever its state.
pub fn get(conn: &mut Conn, id: &str) -> AppResult<Option<JobRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT {JOB_COLUMNS} FROM export_jobs WHERE id = "
    ));
    sql.bind(id);
    conn.first(&sql)
}

fn claimable_where(sql: &mut Sql, now: i64) {
    sql.push(" WHERE status IN (")
        .bind(ACCEPTED)
        .push(", ")
        .bind(RUNNING);
    sql.push(") AND lease_until < ").bind(now);
}

/// True when some job waits to be claimed (a cheap read before taking the write lock).
pub fn any_claimable(conn: &mut Conn, now: i64) -> AppResult<bool> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM export_jobs");
    claimable_where(&mut sql, now);
    Ok(conn
        .first::<super::rows::CountRow>(&sql)?
        .is_some_and(|r| r.n > 0))
}

/// Claims the oldest job that is waiting or whose lease expired, for `worker` until
/// `lease_until`; run inside a transaction.
pub fn claim(
    conn: &mut Conn,
    worker: &str,
    now: i64,
    lease_until: i64,
) -> AppResult<Option<JobRow>> {
    let mut pick = Sql::new("SELECT id FROM export_jobs");
    claimable_where(&mut pick, now);
    pick.push(" ORDER BY created, id LIMIT 1");
    if conn.backend() == Backend::Postgres {
        // replicas polling at the same moment each take a different job (or none)
        pick.push(" FOR UPDATE SKIP LOCKED");
    }
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let Some(Id { id }) = conn.first::<Id>(&pick)? else {
        return Ok(None);
    };
    let mut take = Sql::new("UPDATE export_jobs SET status = ");
    take.bind(RUNNING).push(", lease_owner = ").bind(worker);
    take.push(", lease_until = ")
        .bind(lease_until)
        .push(", updated = ")
        .bind(now);
    take.push(" WHERE id = ").bind(id.as_str());
    conn.execute(&take)?;
    get(conn, &id)
}

/// Extends `worker`'s lease; false when the job is no longer running under this lease
/// (cancelled, or taken over after the lease expired).
pub fn renew(
    conn: &mut Conn,
    id: &str,
    worker: &str,
    now: i64,
    lease_until: i64,
) -> AppResult<bool> {
    let mut sql = Sql::new("UPDATE export_jobs SET lease_until = ");
    sql.bind(lease_until).push(", updated = ").bind(now);
    sql.push(" WHERE id = ")
        .bind(id)
        .push(" AND status = ")
        .bind(RUNNING);
    sql.push(" AND lease_owner = ").bind(worker);
    Ok(conn.execute(&sql)? == 1)
}

/// Where a job stands after a finished file or type.
pub struct Position {
    pub type_index: i64,
    pub after_rk: i64,
    pub next_part: i64,
    pub exported: i64,
}

/// Records a position (and optionally the file just finished) if `worker` still holds the
/// job; false otherwise. Run inside a transaction.
pub fn advance(
    conn: &mut Conn,
    id: &str,
    worker: &str,
    position: &Position,
    file: Option<&FileRow>,
    now: i64,
) -> AppResult<bool> {
    let mut sql = Sql::new("UPDATE export_jobs SET type_index = ");
    sql.bind(position.type_index)
        .push(", after_rk = ")
        .bind(position.after_rk);
    sql.push(", next_part = ")
        .bind(position.next_part)
        .push(", exported = ")
        .bind(position.exported);
    sql.push(", updated = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    sql.push(" AND status = ")
        .bind(RUNNING)
        .push(" AND lease_owner = ")
        .bind(worker);
    if conn.execute(&sql)? != 1 {
        return Ok(false);
    }
    if let Some(file) = file {
        let mut insert = Sql::new(
            "INSERT INTO export_files (job_id, part, res_type, name, resources, bytes) VALUES (",
        );
        insert.bind(id).push(", ").bind(file.part).push(", ");
        insert
            .bind(file.res_type.as_str())
            .push(", ")
            .bind(file.name.as_str());
        insert
            .push(", ")
            .bind(file.resources)
            .push(", ")
            .bind(file.bytes)
            .push(")");
        conn.execute(&insert)?;
    }
    Ok(true)
}

/// Ends a job as `completed` or `failed` (with `error`).
pub fn finish(
    conn: &mut Conn,
    id: &str,
    status: &str,
    error: Option<&str>,
    now: i64,
) -> AppResult<()> {
    let mut sql = Sql::new("UPDATE export_jobs SET status = ");
    sql.bind(status).push(", error = ").bind(error);
    sql.push(", finished = ")
        .bind(now)
        .push(", updated = ")
        .bind(now)
        .push(", lease_owner = NULL");
    sql.push(" WHERE id = ")
        .bind(id)
        .push(" AND status = ")
        .bind(RUNNING);
    conn.execute(&sql)?;
    Ok(())
}

/// Marks a job cancelled and forgets its files; false when it was not waiting or running.
pub fn cancel(conn: &mut Conn, id: &str, now: i64) -> AppResult<bool> {
    let mut sql = Sql::new("UPDATE export_jobs SET status = ");
    sql.bind(CANCELLED).push(", updated = ").bind(now);
    sql.push(", finished = ")
        .bind(now)
        .push(" WHERE id = ")
        .bind(id);
    sql.push(" AND status <> ").bind(CANCELLED);
    let changed = conn.execute(&sql)? == 1;
    let mut files = Sql::new("DELETE FROM export_files WHERE job_id = ");
    files.bind(id);
    conn.execute(&files)?;
    Ok(changed)
}

/// Jobs that ended (completed, failed, cancelled) before `before`, at most `limit`.
pub fn ended_before(conn: &mut Conn, before: i64, limit: i64) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = Text)]
        id: String,
    }
    let mut sql = Sql::new("SELECT id FROM export_jobs WHERE status IN (");
    sql.bind(COMPLETED).push(", ").bind(FAILED).push(", ");
    sql.bind(CANCELLED).push(") AND finished < ").bind(before);
    sql.push(" ORDER BY finished LIMIT ").bind(limit);
    Ok(conn.load::<Id>(&sql)?.into_iter().map(|r| r.id).collect())
}

/// Deletes a job and its file rows.
pub fn delete(conn: &mut Conn, id: &str) -> AppResult<()> {
    let mut files = Sql::new("DELETE FROM export_files WHERE job_id = ");
    files.bind(id);
    conn.execute(&files)?;
    let mut job = Sql::new("DELETE FROM export_jobs WHERE id = ");
    job.bind(id);
    conn.execute(&job)?;
    Ok(())
}

/// The finished files of a job, in order.
pub fn files(conn: &mut Conn, id: &str) -> AppResult<Vec<FileRow>> {
    let mut sql =
        Sql::new("SELECT part, res_type, name, resources, bytes FROM export_files WHERE job_id = ");
    sql.bind(id).push(" ORDER BY part");
    conn.load(&sql)
}

/// Number of jobs per state.
pub fn counts(conn: &mut Conn) -> AppResult<Vec<(String, i64)>> {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = Text)]
        status: String,
        #[diesel(sql_type = BigInt)]
        n: i64,
    }
    let sql =
        Sql::new("SELECT status, COUNT(*) AS n FROM export_jobs GROUP BY status ORDER BY status");
    Ok(conn
        .load::<Count>(&sql)?
        .into_iter()
        .map(|c| (c.status, c.n))
        .collect())
}
