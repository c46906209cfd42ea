//! The raw-store limit: the same resource JSON bulk-inserted into one plain table
//! (`id` primary key, `body` TEXT or JSONB, no other index) in one transaction, then read
//! back by id in a loop. What the database alone can do, without chartroom's versioning,
//! search indexes and projections.

use super::load::{Pick, Stats};
use super::population::Population;
use crate::db::sql::{Sql, SqlValue};
use crate::db::{Backend, Db};
use crate::error::AppResult;
use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Figures of the raw store.
#[derive(Debug, Clone, Serialize)]
pub struct RawStore {
    pub rows: usize,
    pub insert_seconds: f64,
    pub insert_rows_per_s: f64,
    /// Select by id on one connection.
    pub select: Stats,
}

#[derive(QueryableByName)]
struct BodyRow {
    #[diesel(sql_type = Text)]
    body: String,
}

const TABLE: &str = "bench_raw";
const ROWS_PER_INSERT: usize = 200;

/// Runs the raw-store limit on `db` (a scratch database or schema) for `duration`.
pub fn run(db: &Db, population: &Population, duration: Duration) -> AppResult<RawStore> {
    let body_type = match db.backend() {
        Backend::Sqlite => "TEXT",
        Backend::Postgres => "JSONB",
    };
    let mut conn = db.write()?;
    conn.batch(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
    conn.batch(&format!(
        "CREATE TABLE {TABLE} (id TEXT PRIMARY KEY, body {body_type} NOT NULL)"
    ))?;
    let started = Instant::now();
    conn.transaction(|conn| {
        for chunk in population.items.chunks(ROWS_PER_INSERT) {
            let mut sql = Sql::new(&format!("INSERT INTO {TABLE} (id, body) VALUES "));
            for (i, item) in chunk.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.push("(")
                    .bind(format!("{}/{}", item.res_type, item.id))
                    .push(", ")
                    .bind(SqlValue::Json(
                        String::from_utf8_lossy(&item.body).into_owned(),
                    ))
                    .push(")");
            }
            conn.execute(&sql)?;
        }
        Ok(())
    })?;
    let insert_seconds = started.elapsed().as_secs_f64().max(1e-9);
    let rows = population.items.len();
    drop(conn);

    let ids: Vec<String> = population
        .ids("Patient")
        .into_iter()
        .map(|id| format!("Patient/{id}"))
        .collect();
    let mut conn = db.read()?;
    let mut pick = Pick::new(7);
    let select = super::load::measure(1, duration, || {
        let mut sql = Sql::new(&format!(
            "SELECT CAST(body AS TEXT) AS body FROM {TABLE} WHERE id = "
        ));
        sql.bind(ids[pick.below(ids.len())].as_str());
        match conn.first::<BodyRow>(&sql) {
            Ok(Some(row)) if !row.body.is_empty() => Ok(1),
            Ok(Some(_)) => Err("raw select found an empty body".to_string()),
            Ok(None) => Err("raw select found no row".to_string()),
            Err(e) => Err(e.to_string()),
        }
    });
    drop(conn);
    db.write()?
        .batch(&format!("DROP TABLE IF EXISTS {TABLE}"))?;
    Ok(RawStore {
        rows,
        insert_seconds,
        insert_rows_per_s: rows as f64 / insert_seconds,
        select,
    })
}
