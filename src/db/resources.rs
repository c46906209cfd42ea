//! The versioned resource store: current rows, append-only versions, history queries.
//! Versions are never overwritten; a delete appends a version with no content.

use super::rows::{CountRow, CurrentRow, VersionRow};
use super::sql::{Sql, SqlValue};
use super::{Backend, Conn};
use crate::error::AppResult;
use diesel::QueryableByName;

/// Joins each current row `r` to its version `v`.
const CURRENT_VERSION: &str = "resources r JOIN resource_versions v \
     ON v.res_type = r.res_type AND v.res_id = r.res_id AND v.version = r.version";

const VERSION_COLUMNS: &str =
    "v.seq, v.res_type, v.res_id, v.version, v.last_updated, v.method, v.deleted";

fn content_column(backend: Backend) -> &'static str {
    match backend {
        Backend::Sqlite => "v.content",
        Backend::Postgres => "v.content::text AS content",
    }
}

/// Locks (PostgreSQL: `FOR UPDATE`; SQLite: the transaction holds the write lock) and
/// returns the current row of `res_type/res_id`.
pub fn lock_current(
    conn: &mut Conn,
    res_type: &str,
    res_id: &str,
) -> AppResult<Option<CurrentRow>> {
    let mut sql =
        Sql::new("SELECT rk, version, last_updated, deleted FROM resources WHERE res_type = ");
    sql.bind(res_type).push(" AND res_id = ").bind(res_id);
    if conn.backend() == Backend::Postgres {
        sql.push(" FOR UPDATE");
    }
    conn.first(sql.keep_prepared().ignoring_deferred())
}

/// Claims the logical id for its first version, written at `now`; returns the new row
/// key, or None when another transaction created it first (the caller then locks and
/// updates the existing row).
pub fn claim_id(conn: &mut Conn, res_type: &str, res_id: &str, now: i64) -> AppResult<Option<i64>> {
    Ok(claim_ids(conn, &[(res_type, res_id)], now)?
        .into_values()
        .next())
}

/// [`claim_id`] for many new ids at once (a transaction Bundle's creates), in statements
/// of a power-of-two number of rows; returns the row key of each id claimed (an id
/// another transaction holds is left out).
pub fn claim_ids(
    conn: &mut Conn,
    ids: &[(&str, &str)],
    now: i64,
) -> AppResult<std::collections::HashMap<(String, String), i64>> {
    #[derive(QueryableByName)]
    struct Claimed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rk: i64,
        #[diesel(sql_type = diesel::sql_types::Text)]
        res_type: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        res_id: String,
    }
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    let mut rest = ids;
    while !rest.is_empty() {
        let n = super::inserts::prev_power_of_two(rest.len()).min(512);
        let (chunk, tail) = rest.split_at(n);
        rest = tail;
        let mut sql = Sql::new(&format!(
            "{} resources (res_type, res_id, version, last_updated, deleted) VALUES ",
            conn.backend().insert_into()
        ));
        for (i, (res_type, res_id)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(")
                .bind(*res_type)
                .push(", ")
                .bind(*res_id)
                .push(", 1, ")
                .bind(now)
                .push(", 0)");
        }
        sql.push(" ON CONFLICT (res_type, res_id) DO NOTHING RETURNING rk, res_type, res_id");
        for row in conn.load::<Claimed>(sql.keep_prepared().ignoring_deferred())? {
            out.insert((row.res_type, row.res_id), row.rk);
        }
    }
    Ok(out)
}

/// The table of versions; its rows wait in the connection's queue like index rows.
pub const VERSIONS_TABLE: &str = "resource_versions";

/// A version about to be appended.
pub struct NewVersion<'a> {
    pub rk: i64,
    pub res_type: &'a str,
    pub res_id: &'a str,
    pub version: i64,
    pub last_updated: i64,
    pub method: &'a str,
    /// Serialized resource; None records a deletion.
    pub content: Option<String>,
}

/// Appends a version and makes it the current one. The first version's current row was
/// written by [`claim_id`]. The version row itself is queued (`Conn::insert_later`):
/// statements that read versions write it first ([`Sql::reading_versions`]).
pub fn append_version(conn: &mut Conn, new: NewVersion<'_>) -> AppResult<()> {
    let deleted = i64::from(new.content.is_none());
    if new.version > 1 {
        let mut update = Sql::new("UPDATE resources SET version = ");
        update
            .bind(new.version)
            .push(", last_updated = ")
            .bind(new.last_updated)
            .push(", deleted = ")
            .bind(deleted)
            .push(" WHERE rk = ")
            .bind(new.rk);
        conn.execute(update.keep_prepared().ignoring_deferred())?;
    }
    let mut row = vec![
        ("rk", SqlValue::from(new.rk)),
        ("res_type", new.res_type.into()),
        ("res_id", new.res_id.into()),
        ("version", new.version.into()),
        ("last_updated", new.last_updated.into()),
        ("method", new.method.into()),
        ("deleted", deleted.into()),
    ];
    let is_deletion = new.content.is_none();
    if let Some(json) = new.content {
        row.push(("content", SqlValue::Json(json)));
    }
    let mut rows = super::inserts::Inserts::default();
    rows.add_named(VERSIONS_TABLE, row);
    conn.insert_later(rows)?;
    conn.versions_written += 1;
    if is_deletion {
        // a deletion's row lacks the content column: a batch of its own, written now so
        // that versions keep their order in `seq`
        conn.insert_deferred_seen_by(super::sql::Reads::Versions)?;
    }
    Ok(())
}

/// The current version of a resource (deleted ones included, flagged).
pub fn read_current(
    conn: &mut Conn,
    res_type: &str,
    res_id: &str,
) -> AppResult<Option<VersionRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT {VERSION_COLUMNS}, {} FROM {CURRENT_VERSION} \
         WHERE r.res_type = ",
        content_column(conn.backend())
    ));
    sql.bind(res_type).push(" AND r.res_id = ").bind(res_id);
    conn.first(sql.keep_prepared().reading_versions())
}

/// Current versions of `res_type` resources with the given ids (deleted ones included,
/// flagged), in no particular order.
pub fn read_current_ids(
    conn: &mut Conn,
    res_type: &str,
    ids: &[String],
) -> AppResult<Vec<VersionRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new(&format!(
        "SELECT {VERSION_COLUMNS}, {} FROM {CURRENT_VERSION} \
         WHERE r.res_type = ",
        content_column(conn.backend())
    ));
    sql.bind(res_type)
        .push(" AND r.res_id IN ")
        .bind_padded_list(ids);
    conn.load(sql.keep_prepared().reading_versions())
}

/// Current versions for a list of row keys, in no particular order.
pub fn read_many(conn: &mut Conn, rks: &[i64]) -> AppResult<Vec<(i64, VersionRow)>> {
    if rks.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Keyed {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rk: i64,
        #[diesel(embed)]
        row: VersionRow,
    }
    let mut out = Vec::with_capacity(rks.len());
    for chunk in rks.chunks(512) {
        let mut sql = Sql::new(&format!(
            "SELECT r.rk AS rk, {VERSION_COLUMNS}, {} FROM {CURRENT_VERSION} \
             WHERE r.rk IN ",
            content_column(conn.backend())
        ));
        sql.bind_padded_list(chunk);
        out.extend(
            conn.load::<Keyed>(sql.keep_prepared().reading_versions())?
                .into_iter()
                .map(|k| (k.rk, k.row)),
        );
    }
    Ok(out)
}

/// Logical ids of the resources with these row keys, in no particular order.
pub fn ids_of(conn: &mut Conn, rks: &[i64]) -> AppResult<Vec<String>> {
    #[derive(QueryableByName)]
    struct Id {
        #[diesel(sql_type = diesel::sql_types::Text)]
        res_id: String,
    }
    let mut out = Vec::with_capacity(rks.len());
    for chunk in rks.chunks(512) {
        let mut sql = Sql::new("SELECT res_id FROM resources WHERE rk IN ");
        sql.bind_padded_list(chunk);
        out.extend(
            conn.load::<Id>(sql.keep_prepared().ignoring_deferred())?
                .into_iter()
                .map(|r| r.res_id),
        );
    }
    Ok(out)
}

/// Stored size in bytes of the current content of each row key (SQLite: the text's bytes,
/// read from the record header; PostgreSQL: the stored, possibly compressed JSONB size), in
/// row-key order; lets readers batch content by bytes before loading it.
pub fn content_sizes(conn: &mut Conn, rks: &[i64]) -> AppResult<Vec<(i64, i64)>> {
    if rks.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(QueryableByName)]
    struct Sized {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        rk: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        size: i64,
    }
    let size = match conn.backend() {
        Backend::Sqlite => "CAST(COALESCE(octet_length(v.content), 0) AS BIGINT)",
        Backend::Postgres => "CAST(COALESCE(pg_column_size(v.content), 0) AS BIGINT)",
    };
    let mut out = Vec::with_capacity(rks.len());
    for chunk in rks.chunks(500) {
        let mut sql = Sql::new(&format!(
            "SELECT r.rk AS rk, {size} AS size FROM {CURRENT_VERSION} WHERE r.rk IN "
        ));
        sql.bind_list(chunk.iter().copied()).push(" ORDER BY r.rk");
        out.extend(
            conn.load::<Sized>(&sql)?
                .into_iter()
                .map(|s| (s.rk, s.size)),
        );
    }
    Ok(out)
}

/// One specific version.
pub fn read_version(
    conn: &mut Conn,
    res_type: &str,
    res_id: &str,
    version: i64,
) -> AppResult<Option<VersionRow>> {
    let mut sql = Sql::new(&format!(
        "SELECT {VERSION_COLUMNS}, {} FROM resource_versions v WHERE v.res_type = ",
        content_column(conn.backend())
    ));
    sql.bind(res_type)
        .push(" AND v.res_id = ")
        .bind(res_id)
        .push(" AND v.version = ")
        .bind(version);
    conn.first(sql.reading_versions())
}

/// Whose history: one resource, one type, or the whole system.
#[derive(Debug, Clone)]
pub enum HistoryScope {
    Instance(String, String),
    Type(String),
    System,
}

/// History filters and the keyset cursor (`before_seq`: only versions older than it).
#[derive(Debug, Clone, Default)]
pub struct HistoryFilter {
    pub since: Option<i64>,
    pub at: Option<i64>,
    pub before_seq: Option<i64>,
}

fn history_where(scope: &HistoryScope, filter: &HistoryFilter, with_cursor: bool) -> Sql {
    let mut sql = Sql::new(" WHERE 1 = 1");
    match scope {
        HistoryScope::Instance(t, id) => {
            sql.push(" AND v.res_type = ")
                .bind(t.as_str())
                .push(" AND v.res_id = ")
                .bind(id.as_str());
        }
        HistoryScope::Type(t) => {
            sql.push(" AND v.res_type = ").bind(t.as_str());
        }
        HistoryScope::System => {}
    }
    if let Some(since) = filter.since {
        sql.push(" AND v.last_updated >= ").bind(since);
    }
    if let Some(at) = filter.at {
        // the version that was current at `at`: written by then, and not yet replaced by then
        sql.push(" AND v.last_updated <= ").bind(at);
        sql.push(" AND NOT EXISTS (SELECT 1 FROM resource_versions n WHERE n.rk = v.rk AND n.version > v.version AND n.last_updated <= ")
            .bind(at)
            .push(")");
    }
    if with_cursor {
        if let Some(before) = filter.before_seq {
            sql.push(" AND v.seq < ").bind(before);
        }
    }
    sql
}

/// A page of history, newest first, and the total number of matching versions.
pub fn history(
    conn: &mut Conn,
    scope: &HistoryScope,
    filter: &HistoryFilter,
    count: usize,
) -> AppResult<(Vec<VersionRow>, i64)> {
    let mut sql = Sql::new(&format!(
        "SELECT {VERSION_COLUMNS}, {} FROM resource_versions v",
        content_column(conn.backend())
    ));
    sql.append(history_where(scope, filter, true));
    sql.push(" ORDER BY v.seq DESC LIMIT ").bind(count as i64);
    let rows = conn.load::<VersionRow>(&sql)?;
    let mut total = Sql::new("SELECT COUNT(*) AS n FROM resource_versions v");
    total.append(history_where(scope, filter, false));
    let total = conn.first::<CountRow>(&total)?.map(|r| r.n).unwrap_or(0);
    Ok((rows, total))
}

/// True when the database answers.
pub fn ping(conn: &mut Conn) -> AppResult<()> {
    conn.first::<CountRow>(&Sql::new(
        "SELECT COUNT(*) AS n FROM resources WHERE rk = 0",
    ))?;
    Ok(())
}
