//! Storage: diesel on SQLite (embedded default) and PostgreSQL behind one connection type.
//! Owns pools, migrations, transactions and the SQL for resources, history, search
//! indexes and typed projections. Imports no service module and nothing from `http`.

pub mod audit;
pub mod export_jobs;
pub mod import_progress;
pub mod indexes;
pub mod migrate;
pub mod projections;
pub mod resources;
pub mod rows;
pub mod search;
pub mod search_page;
pub mod sql;

use crate::error::{AppError, AppResult};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::query_builder::QueryFragment;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use sql::{Sql, SqlValue};
use std::time::Duration;

/// Which store a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
type PgPool = Pool<ConnectionManager<PgConnection>>;

/// A pooled connection to either store.
pub enum Conn {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
}

/// Connection pools. SQLite has one writer connection (SQLite serialises writers anyway;
/// one in-process writer avoids lock-upgrade failures) and several readers (WAL mode).
#[derive(Clone)]
pub enum Db {
    Sqlite { read: SqlitePool, write: SqlitePool },
    Pg { pool: PgPool },
}

#[derive(Debug)]
struct SqlitePragmas {
    synchronous: String,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY;",
            self.synchronous
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Settings the pools need.
pub struct DbOptions {
    pub pool_size: u32,
    pub sqlite_synchronous: String,
}

impl Db {
    /// Opens pools for `url` (`sqlite://path` or `postgres://...`); creates a SQLite file if missing.
    pub fn connect(url: &str, options: &DbOptions) -> Result<Db, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let pool = Pool::builder()
                .max_size(options.pool_size.max(1))
                .connection_timeout(Duration::from_secs(10))
                .build(ConnectionManager::<PgConnection>::new(url))
                .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
            return Ok(Db::Pg { pool });
        }
        let path = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
            .ok_or_else(|| {
                format!("unsupported database URL '{url}': use sqlite://path or postgres://...")
            })?;
        if let Some(dir) = std::path::Path::new(path).parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
        }
        let build = |size: u32| {
            Pool::builder()
                .max_size(size)
                .connection_timeout(Duration::from_secs(30))
                .connection_customizer(Box::new(SqlitePragmas {
                    synchronous: options.sqlite_synchronous.clone(),
                }))
                .build(ConnectionManager::<SqliteConnection>::new(path))
                .map_err(|e| format!("cannot open SQLite database {path}: {e}"))
        };
        let write = build(1)?;
        let read = build(options.pool_size.max(1))?;
        Ok(Db::Sqlite { read, write })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg { .. } => Backend::Postgres,
        }
    }

    /// A connection for reads.
    pub fn read(&self) -> AppResult<Conn> {
        Ok(match self {
            Db::Sqlite { read, .. } => Conn::Sqlite(read.get().map_err(pool_error)?),
            Db::Pg { pool } => Conn::Pg(pool.get().map_err(pool_error)?),
        })
    }

    /// The connection for writes (the single writer on SQLite).
    pub fn write(&self) -> AppResult<Conn> {
        Ok(match self {
            Db::Sqlite { write, .. } => Conn::Sqlite(write.get().map_err(pool_error)?),
            Db::Pg { pool } => Conn::Pg(pool.get().map_err(pool_error)?),
        })
    }

    /// Runs `work` in one database transaction on the write connection: committed when it
    /// returns Ok, rolled back otherwise (also if it panics).
    pub fn transaction<T>(&self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self.write()?;
        conn.transaction(work)
    }

    /// Pool statistics: (connections, idle connections).
    pub fn pool_state(&self) -> (u32, u32) {
        let state = match self {
            Db::Sqlite { read, .. } => read.state(),
            Db::Pg { pool } => pool.state(),
        };
        (state.connections, state.idle_connections)
    }
}

fn pool_error(err: diesel::r2d2::PoolError) -> AppError {
    AppError::ServiceUnavailable(format!("database connection unavailable: {err}"))
}

/// Rolls back an open transaction unless it was finished.
struct TxGuard<'a> {
    conn: &'a mut Conn,
    open: bool,
}

impl Drop for TxGuard<'_> {
    fn drop(&mut self) {
        if self.open {
            let _ = self.conn.batch("ROLLBACK");
        }
    }
}

macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            Conn::Sqlite($c) => $body,
            Conn::Pg($c) => $body,
        }
    };
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self {
            Conn::Sqlite(_) => Backend::Sqlite,
            Conn::Pg(_) => Backend::Postgres,
        }
    }

    /// Runs statements with no binds.
    pub fn batch(&mut self, sql: &str) -> QueryResult<()> {
        with_conn!(self, c => c.batch_execute(sql))
    }

    /// See [`Db::transaction`]. SQLite takes the write lock at BEGIN (IMMEDIATE) so a
    /// transaction never fails half-way on lock upgrade.
    pub fn transaction<T>(&mut self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let begin = match self.backend() {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        };
        self.batch(begin)?;
        let mut guard = TxGuard {
            conn: self,
            open: true,
        };
        let result = work(guard.conn)?;
        guard.conn.batch("COMMIT")?;
        guard.open = false;
        Ok(result)
    }

    /// Executes a statement; returns the number of affected rows.
    pub fn execute(&mut self, sql: &Sql) -> AppResult<usize> {
        let text = sql.render(self.backend());
        let result = with_conn!(self, c => {
            let query = bind_all(diesel::sql_query(text).into_boxed(), sql.binds());
            query.execute(&mut **c)
        });
        result.map_err(AppError::from)
    }

    /// Loads rows of type `T`.
    pub fn load<T>(&mut self, sql: &Sql) -> AppResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        let text = sql.render(self.backend());
        let result = with_conn!(self, c => {
            let query = bind_all(diesel::sql_query(text).into_boxed(), sql.binds());
            query.load::<T>(&mut **c)
        });
        result.map_err(AppError::from)
    }

    /// Loads at most one row.
    pub fn first<T>(&mut self, sql: &Sql) -> AppResult<Option<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        Ok(self.load::<T>(sql)?.into_iter().next())
    }
}

fn bind_all<'f, DB>(
    mut query: diesel::query_builder::BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>,
    binds: &[SqlValue],
) -> diesel::query_builder::BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Double>,
    diesel::query_builder::SqlQuery: QueryFragment<DB>,
    Option<String>: diesel::serialize::ToSql<Nullable<Text>, DB>,
    String: diesel::serialize::ToSql<Text, DB>,
    Option<i64>: diesel::serialize::ToSql<Nullable<BigInt>, DB>,
    Option<f64>: diesel::serialize::ToSql<Nullable<Double>, DB>,
{
    for value in binds {
        query = match value.clone() {
            SqlValue::Text(v) => query.bind::<Nullable<Text>, _>(v),
            SqlValue::Int(v) => query.bind::<Nullable<BigInt>, _>(v),
            SqlValue::Float(v) => query.bind::<Nullable<Double>, _>(v),
            SqlValue::Json(v) => query.bind::<Text, _>(v),
        };
    }
    query
}
