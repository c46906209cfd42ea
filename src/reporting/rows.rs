//! Result rows of the report queries: a group id, a stratum text and up to four counts
//! (every additive report) or a count and two statistics (the non-additive ones).

use super::model::{split_stratum, CountRows, KeyedCounts, Val};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::QueryableByName;

/// Columns `grp, stratum, a, b, c, d` (counts; unused ones are 0).
#[derive(QueryableByName, Debug)]
pub struct CountRow {
    #[diesel(sql_type = Text)]
    pub grp: String,
    #[diesel(sql_type = Text)]
    pub stratum: String,
    #[diesel(sql_type = BigInt)]
    pub a: i64,
    #[diesel(sql_type = BigInt)]
    pub b: i64,
    #[diesel(sql_type = BigInt)]
    pub c: i64,
    #[diesel(sql_type = BigInt)]
    pub d: i64,
}

/// Columns `grp, stratum, n, hits, mean, median`.
#[derive(QueryableByName, Debug)]
pub struct StatRow {
    #[diesel(sql_type = Text)]
    pub grp: String,
    #[diesel(sql_type = Text)]
    pub stratum: String,
    #[diesel(sql_type = BigInt)]
    pub n: i64,
    #[diesel(sql_type = BigInt)]
    pub hits: i64,
    #[diesel(sql_type = Nullable<Double>)]
    pub mean: Option<f64>,
    #[diesel(sql_type = Nullable<Double>)]
    pub median: Option<f64>,
}

/// Runs a count query; `width` of the four counts are kept.
pub fn load_counts(conn: &mut Conn, sql: &Sql, keys: usize, width: usize) -> AppResult<CountRows> {
    Ok(conn
        .load::<CountRow>(sql)?
        .into_iter()
        .map(|r| {
            let counts = [r.a, r.b, r.c, r.d][..width].to_vec();
            (r.grp, split_stratum(&r.stratum, keys), counts)
        })
        .collect())
}

/// [`load_counts`] of a query with one group: (key values, counts).
pub fn load_keyed(conn: &mut Conn, sql: &Sql, keys: usize, width: usize) -> AppResult<KeyedCounts> {
    Ok(load_counts(conn, sql, keys, width)?
        .into_iter()
        .map(|(_, values, counts)| (values, counts))
        .collect())
}

impl StatRow {
    /// The cells `n, hits, mean, median` (Missing where the database had no value).
    pub fn cells(&self) -> Vec<Val> {
        let stat = |v: Option<f64>| v.map_or(Val::Missing, Val::Num);
        vec![
            Val::Num(self.n as f64),
            Val::Num(self.hits as f64),
            stat(self.mean),
            stat(self.median),
        ]
    }
}

/// `CAST(<expr> AS BIGINT)`: PostgreSQL sums of integers are numeric otherwise.
pub fn big(expr: &str) -> String {
    format!("CAST({expr} AS BIGINT)")
}
