//! Reading derived rows (search indexes and projections) back in a comparable form, for the
//! consistency check of `chartroom doctor`; and finding rows no current resource owns.
//! The catalog queries (column names, database clock) are the backend-specific part.

use super::rows::CountRow;
use super::sql::Sql;
use super::{Backend, Conn};
use crate::error::AppResult;
use diesel::sql_types::{BigInt, Text};
use diesel::QueryableByName;

/// Tables derived from a resource, with the column holding its row key.
pub const DERIVED: &[(&str, &str)] = &[
    ("idx_string", "rk"),
    ("idx_token", "rk"),
    ("idx_date", "rk"),
    ("idx_number", "rk"),
    ("idx_quantity", "rk"),
    ("idx_reference", "rk"),
    ("idx_uri", "rk"),
    ("patient", "rk"),
    ("encounter", "rk"),
    ("encounter_diagnosis", "enc_rk"),
    ("condition", "rk"),
    ("procedure_", "rk"),
    ("observation", "rk"),
    ("medication_request", "rk"),
];

#[derive(QueryableByName)]
struct NameRow {
    #[diesel(sql_type = Text)]
    name: String,
}

#[derive(QueryableByName)]
struct LineRow {
    #[diesel(sql_type = BigInt)]
    rk: i64,
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct ClockRow {
    #[diesel(sql_type = BigInt)]
    ms: i64,
}

/// The column names of `table`, in table order.
fn columns(conn: &mut Conn, table: &str) -> AppResult<Vec<String>> {
    let mut sql = match conn.backend() {
        Backend::Sqlite => Sql::new("SELECT name FROM pragma_table_info("),
        Backend::Postgres => Sql::new(
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = (",
        ),
    };
    sql.bind(table);
    if conn.backend() == Backend::Postgres {
        sql.push(") ORDER BY ordinal_position");
    } else {
        sql.push(")");
    }
    Ok(conn
        .load::<NameRow>(&sql)?
        .into_iter()
        .map(|r| r.name)
        .collect())
}

/// The SQL text of each derived table's rows, rendered as one text line per row.
pub struct Renderer {
    selects: Vec<(String, &'static str)>,
}

impl Renderer {
    /// Reads the table layouts once.
    pub fn new(conn: &mut Conn) -> AppResult<Renderer> {
        let mut selects = Vec::new();
        for (table, key) in DERIVED {
            let line = columns(conn, table)?
                .iter()
                .map(|c| format!("COALESCE(CAST({c} AS TEXT), '~')"))
                .collect::<Vec<_>>()
                .join(" || '|' || ");
            selects.push((
                format!(
                    "SELECT {key} AS rk, '{table}|' || {line} AS line FROM {table} WHERE {key} IN "
                ),
                *key,
            ));
        }
        Ok(Renderer { selects })
    }

    /// Every derived row of the resources `rks`, as (row key, text), sorted.
    pub fn rows(&self, conn: &mut Conn, rks: &[i64]) -> AppResult<Vec<(i64, String)>> {
        let mut all = Vec::new();
        if rks.is_empty() {
            return Ok(all);
        }
        for (select, _) in &self.selects {
            let mut sql = Sql::new(select);
            sql.bind_list(rks.iter().copied());
            all.extend(
                conn.load::<LineRow>(&sql)?
                    .into_iter()
                    .map(|r| (r.rk, r.line)),
            );
        }
        all.sort();
        Ok(all)
    }
}

const CURRENT: &str = "SELECT rk FROM resources WHERE deleted = 0";

/// Rows per derived table that belong to no current resource (deleted or missing), and
/// with `delete` removes them. Returns (table, rows).
pub fn orphans(conn: &mut Conn, delete: bool) -> AppResult<Vec<(&'static str, i64)>> {
    let mut found = Vec::new();
    for (table, key) in DERIVED {
        let sql = Sql::new(&format!(
            "SELECT COUNT(*) AS n FROM {table} WHERE {key} NOT IN ({CURRENT})"
        ));
        let n = conn.first::<CountRow>(&sql)?.map(|r| r.n).unwrap_or(0);
        if n > 0 {
            if delete {
                conn.execute(&Sql::new(&format!(
                    "DELETE FROM {table} WHERE {key} NOT IN ({CURRENT})"
                )))?;
            }
            found.push((*table, n));
        }
    }
    Ok(found)
}

/// The database server's clock, epoch milliseconds.
pub fn clock_ms(conn: &mut Conn) -> AppResult<i64> {
    let sql = match conn.backend() {
        Backend::Sqlite => {
            "SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER) AS ms"
        }
        Backend::Postgres => {
            "SELECT CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT) AS ms"
        }
    };
    Ok(conn
        .first::<ClockRow>(&Sql::new(sql))?
        .map(|r| r.ms)
        .unwrap_or(0))
}
