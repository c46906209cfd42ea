//! The `import_progress` table: how far `chartroom import` got in each source file.
//! Rows are written in the same transaction as the resources they account for.

use super::sql::Sql;
use super::Conn;
use crate::error::AppResult;
use diesel::sql_types::BigInt;
use diesel::QueryableByName;

/// How far one file was loaded.
#[derive(Debug, Clone, Default, QueryableByName)]
pub struct Progress {
    /// Bytes of the file fully processed.
    #[diesel(sql_type = BigInt)]
    pub byte_offset: i64,
    /// Lines (NDJSON) processed.
    #[diesel(sql_type = BigInt)]
    pub line_no: i64,
    #[diesel(sql_type = BigInt)]
    pub done: i64,
}

/// The recorded progress of `path` at `size` bytes.
pub fn get(conn: &mut Conn, path: &str, size: i64) -> AppResult<Option<Progress>> {
    let mut sql = Sql::new(
        "SELECT byte_offset, line_no, CAST(done AS BIGINT) AS done FROM import_progress WHERE path = ",
    );
    sql.bind(path).push(" AND size = ").bind(size);
    conn.first(&sql)
}

/// Records `progress` for `path` at `size` bytes.
pub fn save(conn: &mut Conn, path: &str, size: i64, progress: &Progress) -> AppResult<()> {
    let mut sql = Sql::new(
        "INSERT INTO import_progress (path, size, byte_offset, line_no, done, updated) VALUES (",
    );
    sql.bind(path)
        .push(", ")
        .bind(size)
        .push(", ")
        .bind(progress.byte_offset)
        .push(", ")
        .bind(progress.line_no)
        .push(", ")
        .bind(progress.done)
        .push(", ")
        .bind(crate::fhir::json::now_ms())
        .push(
            ") ON CONFLICT (path, size) DO UPDATE SET byte_offset = excluded.byte_offset, \
             line_no = excluded.line_no, done = excluded.done, updated = excluded.updated",
        );
    conn.execute(&sql)?;
    Ok(())
}
