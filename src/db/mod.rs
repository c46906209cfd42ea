//! Storage: diesel on SQLite (embedded default) and PostgreSQL behind one connection type.
//! Owns pools, migrations, transactions and the SQL for resources, history, search
//! indexes and typed projections. Imports no service module and nothing from `http`.

pub mod audit;
pub mod consistency;
pub mod export_jobs;
mod group_commit;
pub use group_commit::GroupPolicy;
pub mod import_progress;
pub mod indexes;
pub mod inserts;
pub mod migrate;
mod prepared;
pub mod projections;
pub mod resources;
pub mod rows;
pub mod search;
pub mod search_page;
pub mod search_sort;
pub mod sql;
pub mod stats;

use crate::error::{AppError, AppResult};
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::query_builder::QueryFragment;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::sqlite::SqliteConnection;
use diesel::{QueryResult, QueryableByName, RunQueryDsl};
use inserts::Inserts;
use resources::VERSIONS_TABLE;
use sql::{Reads, Sql, SqlValue};
use std::sync::Arc;
use std::time::Duration;

/// Which store a connection talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
type PgPool = Pool<ConnectionManager<PgConnection>>;

/// A pooled connection to either store, with the rows it was asked to insert later.
pub struct Conn {
    link: Link,
    /// Rows queued by [`Conn::insert_later`] in the open transaction.
    deferred: Inserts,
    /// Audit records appended in the open transaction, with their time.
    audit_queue: Vec<(Vec<crate::auth::audit::AuditRecord>, i64)>,
    in_transaction: bool,
    /// Versions appended since the last BEGIN.
    versions_written: u64,
}

enum Link {
    Sqlite(PooledConnection<ConnectionManager<SqliteConnection>>),
    Pg(PooledConnection<ConnectionManager<PgConnection>>),
}

/// Connection pools. SQLite has one writer connection (SQLite serialises writers anyway;
/// one in-process writer avoids lock-upgrade failures) and several readers (WAL mode).
#[derive(Clone)]
pub enum Db {
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
        group: Arc<group_commit::WriteGroup>,
        hook: Option<Arc<dyn TxHook>>,
    },
    Pg {
        pool: PgPool,
        hook: Option<Arc<dyn TxHook>>,
        stats: Arc<stats::StatsWatch>,
    },
}

/// Work a service wraps around every write transaction of a store (rules that must see
/// all of a transaction's writes before it commits). The service registers it with
/// [`Db::with_hook`]; `db` never imports the service.
pub trait TxHook: Send + Sync {
    /// Runs `work` (the transaction's own statements), then whatever the hook adds, on the
    /// same connection inside the open transaction; an error rolls everything back.
    fn around(
        &self,
        conn: &mut Conn,
        work: &mut dyn FnMut(&mut Conn) -> AppResult<()>,
    ) -> AppResult<()>;
}

#[derive(Debug)]
struct SqlitePragmas {
    synchronous: String,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = {}; \
             PRAGMA foreign_keys = ON; PRAGMA cache_size = -32000; PRAGMA temp_store = MEMORY; \
             PRAGMA wal_autocheckpoint = {};",
            self.synchronous,
            GroupPolicy::default().checkpoint_pages
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Session settings of every PostgreSQL connection. JIT off: its compile cost (tens of
/// milliseconds) is charged whenever a plan's estimated cost passes `jit_above_cost`, which
/// LIMITed index walks do although they read a page of rows.
#[derive(Debug)]
struct PgSession;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PgSession {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET jit = off")
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
        if Backend::of_url(url) == Backend::Postgres {
            let pool = Pool::builder()
                .max_size(options.pool_size.max(1))
                .connection_timeout(Duration::from_secs(10))
                .connection_customizer(Box::new(PgSession))
                .build(ConnectionManager::<PgConnection>::new(url))
                .map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
            return Ok(Db::Pg {
                pool,
                hook: None,
                stats: Arc::default(),
            });
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
        Ok(Db::Sqlite {
            read,
            write,
            group: Arc::default(),
            hook: None,
        })
    }

    pub fn backend(&self) -> Backend {
        match self {
            Db::Sqlite { .. } => Backend::Sqlite,
            Db::Pg { .. } => Backend::Postgres,
        }
    }

    /// Refreshes the planner's statistics of the resource, index and projection tables
    /// (after a bulk load, before autovacuum gets to it).
    pub fn analyze(&self) -> AppResult<()> {
        let mut conn = self.write()?;
        let sql = match self.backend() {
            Backend::Sqlite => "ANALYZE".to_string(),
            Backend::Postgres => format!(
                "ANALYZE resources, resource_versions, {}, {}",
                indexes::TABLES.join(", "),
                projections::tables().join(", ")
            ),
        };
        conn.batch(&sql).map_err(AppError::internal)
    }

    /// A connection for reads.
    pub fn read(&self) -> AppResult<Conn> {
        Ok(match self {
            Db::Sqlite { read, .. } => Link::Sqlite(read.get().map_err(pool_error)?),
            Db::Pg { pool, .. } => Link::Pg(pool.get().map_err(pool_error)?),
        }
        .into())
    }

    /// The connection for writes (the single writer on SQLite).
    pub fn write(&self) -> AppResult<Conn> {
        Ok(match self {
            Db::Sqlite { write, .. } => Link::Sqlite(write.get().map_err(pool_error)?),
            Db::Pg { pool, .. } => Link::Pg(pool.get().map_err(pool_error)?),
        }
        .into())
    }

    /// Runs `work` in one database transaction on the write connection: committed when it
    /// returns Ok, rolled back otherwise (also if it panics). A registered [`TxHook`] wraps
    /// `work` inside the same transaction. On SQLite, concurrent callers share one commit
    /// (`group_commit`), each rolled back alone if its work fails.
    pub fn transaction<T>(&self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let span = tracing::info_span!("db.transaction", db.system = self.backend().name());
        let _entered = span.enter();
        let started = std::time::Instant::now();
        let hook = self.hook();
        let wrapped = |conn: &mut Conn| match hook {
            None => work(conn),
            Some(hook) => {
                let mut work = Some(work);
                let mut out = None;
                hook.around(conn, &mut |conn| {
                    let work = work
                        .take()
                        .ok_or_else(|| AppError::internal("transaction hook ran its work twice"))?;
                    out = Some(work(conn)?);
                    Ok(())
                })?;
                out.ok_or_else(|| AppError::internal("transaction hook skipped its work"))
            }
        };
        let result = match self {
            Db::Sqlite { group, .. } => group.run(|| self.write(), wrapped),
            Db::Pg { stats, .. } => self.write().and_then(|mut conn| {
                let out = conn.transaction(wrapped)?;
                stats::after_commit(self, stats, conn.versions_written);
                Ok(out)
            }),
        };
        crate::telemetry::metrics::transaction(result.is_ok(), started.elapsed().as_secs_f64());
        result
    }

    /// When SQLite's single writer commits the groups of transactions it opens from now on,
    /// and checkpoints (PostgreSQL commits each transaction on its own connection).
    pub fn set_group_policy(&self, policy: GroupPolicy) {
        if let Db::Sqlite { group, .. } = self {
            group.set_policy(policy);
        }
    }

    /// The same store with `hook` wrapped around every write transaction.
    pub fn with_hook(self, hook: Arc<dyn TxHook>) -> Db {
        match self {
            Db::Sqlite {
                read, write, group, ..
            } => Db::Sqlite {
                read,
                write,
                group,
                hook: Some(hook),
            },
            Db::Pg { pool, stats, .. } => Db::Pg {
                pool,
                hook: Some(hook),
                stats,
            },
        }
    }

    fn hook(&self) -> Option<Arc<dyn TxHook>> {
        match self {
            Db::Sqlite { hook, .. } | Db::Pg { hook, .. } => hook.clone(),
        }
    }

    /// Runs `work` in a transaction that is always rolled back: to see what a write would
    /// change without changing anything.
    pub fn rolled_back<T>(&self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let mut conn = self.write()?;
        conn.begin()?;
        let guard = TxGuard {
            conn: &mut conn,
            open: true,
        };
        work(guard.conn)
    }

    /// Read-pool statistics: (connections, idle connections, largest size).
    pub fn pool_state(&self) -> (u32, u32, u32) {
        let (state, size) = match self {
            Db::Sqlite { read, .. } => (read.state(), read.max_size()),
            Db::Pg { pool, .. } => (pool.state(), pool.max_size()),
        };
        (state.connections, state.idle_connections, size)
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
            self.conn.rollback();
        }
    }
}

macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match &mut $conn.link {
            Link::Sqlite($c) => $body,
            Link::Pg($c) => $body,
        }
    };
}

impl From<Link> for Conn {
    fn from(link: Link) -> Conn {
        Conn {
            link,
            deferred: Inserts::default(),
            audit_queue: Vec::new(),
            in_transaction: false,
            versions_written: 0,
        }
    }
}

impl Backend {
    /// The store a database URL names (`postgres://`/`postgresql://`, else SQLite).
    pub fn of_url(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// The OpenTelemetry `db.system` name.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }

    /// SQLite takes the write lock at BEGIN (IMMEDIATE) so a transaction never fails
    /// half-way on lock upgrade.
    fn begin(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// The write path's `INSERT INTO`. A statement that may stop half-way (many rows, or
    /// RETURNING) makes SQLite open a statement journal to undo its first rows, and
    /// releasing one inside a savepoint walks the whole in-memory sub-journal: quadratic in
    /// the transaction's size. OR FAIL keeps those rows instead; any failure rolls the
    /// transaction (or the group member's savepoint) back anyway.
    pub fn insert_into(self) -> &'static str {
        match self {
            Backend::Sqlite => "INSERT OR FAIL INTO",
            Backend::Postgres => "INSERT INTO",
        }
    }
}

/// A span for one statement: its verb only (SQL text and values stay out of traces).
fn query_span(backend: Backend, sql: &Sql) -> tracing::Span {
    tracing::debug_span!(
        "db.query",
        db.system = backend.name(),
        db.operation = sql.verb()
    )
}

impl Conn {
    pub fn backend(&self) -> Backend {
        match self.link {
            Link::Sqlite(_) => Backend::Sqlite,
            Link::Pg(_) => Backend::Postgres,
        }
    }

    /// Runs statements with no binds (session and locking statements: rows queued by
    /// [`Conn::insert_later`] are not written first).
    pub fn batch(&mut self, sql: &str) -> QueryResult<()> {
        with_conn!(self, c => c.batch_execute(sql))
    }

    /// See [`Db::transaction`].
    pub fn transaction<T>(&mut self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        self.begin()?;
        let mut guard = TxGuard {
            conn: self,
            open: true,
        };
        let result = work(guard.conn)?;
        guard.open = false;
        guard.conn.commit()?;
        Ok(result)
    }

    fn begin(&mut self) -> AppResult<()> {
        self.batch(self.backend().begin())?;
        self.in_transaction = true;
        self.versions_written = 0;
        Ok(())
    }

    /// Writes what the open transaction queued (rows, then audit records) and commits;
    /// rolls back if any of it fails.
    fn commit(&mut self) -> AppResult<()> {
        let result = self.write_queued().and_then(|()| Ok(self.batch("COMMIT")?));
        match result {
            Ok(()) => self.in_transaction = false,
            Err(_) => self.rollback(),
        }
        result
    }

    fn write_queued(&mut self) -> AppResult<()> {
        self.insert_deferred()?;
        let batches = std::mem::take(&mut self.audit_queue);
        audit::chain_batches(self, &batches)
    }

    /// Rolls back the open transaction and drops what it queued.
    fn rollback(&mut self) {
        self.deferred = Inserts::default();
        self.audit_queue.clear();
        self.in_transaction = false;
        let _ = self.batch("ROLLBACK");
    }

    /// Runs `work` inside a savepoint of the open transaction; the rows it queued are
    /// written before the savepoint is released. A failed (or panicking) `work` is undone
    /// alone: `Ok(Err(..))`. `Err` means the transaction itself broke and must be rolled back.
    fn savepoint<T>(
        &mut self,
        work: impl FnOnce(&mut Conn) -> AppResult<T>,
    ) -> AppResult<AppResult<T>> {
        let audit_mark = self.audit_queue.len();
        self.batch("SAVEPOINT member")?;
        match self.run_caught(work) {
            Ok(value) => {
                self.batch("RELEASE member")?;
                Ok(Ok(value))
            }
            Err(e) => {
                self.deferred = Inserts::default();
                self.audit_queue.truncate(audit_mark);
                self.batch("ROLLBACK TO member")?;
                self.batch("RELEASE member")?;
                Ok(Err(e))
            }
        }
    }

    /// Runs `work` in the open transaction and writes the rows it queued; a panic is an
    /// error. On an error the caller rolls back (the transaction or a savepoint).
    fn run_caught<T>(&mut self, work: impl FnOnce(&mut Conn) -> AppResult<T>) -> AppResult<T> {
        let ran = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| work(&mut *self)))
            .unwrap_or_else(|_| Err(AppError::internal("the transaction's work panicked")));
        ran.and_then(|value| self.insert_deferred().map(|()| value))
    }

    /// Queues `rows` to be inserted before the next statement that may see them, and at
    /// the latest before the commit, so that the rows of many writes in one transaction
    /// reach the database as a few many-row statements. Outside a transaction they are
    /// inserted at once.
    pub fn insert_later(&mut self, rows: Inserts) -> AppResult<()> {
        self.deferred.extend(rows);
        if self.in_transaction {
            Ok(())
        } else {
            self.insert_deferred()
        }
    }

    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// Queues audit records to be chained right before the open transaction commits.
    pub fn audit_at_commit(&mut self, records: Vec<crate::auth::audit::AuditRecord>, now: i64) {
        self.audit_queue.push((records, now));
    }

    fn insert_deferred(&mut self) -> AppResult<()> {
        if self.deferred.is_empty() {
            return Ok(());
        }
        std::mem::take(&mut self.deferred).write(self)
    }

    /// Writes the queued rows a statement reading `reads` may see.
    fn insert_deferred_seen_by(&mut self, reads: Reads) -> AppResult<()> {
        match reads {
            Reads::Queued => self.insert_deferred(),
            Reads::Versions => self.deferred.take_table(VERSIONS_TABLE).write(self),
            Reads::Nothing => Ok(()),
        }
    }

    /// Executes a statement; returns the number of affected rows.
    pub fn execute(&mut self, sql: &Sql) -> AppResult<usize> {
        self.insert_deferred_seen_by(sql.reads())?;
        let _span = query_span(self.backend(), sql).entered();
        let result = if sql.is_kept_prepared() {
            let query = prepared::Prepared::of(sql, self.backend());
            with_conn!(self, c => query.execute(&mut **c))
        } else {
            let text = sql.render(self.backend());
            with_conn!(self, c => {
                let query = bind_all(diesel::sql_query(text).into_boxed(), sql.binds());
                query.execute(&mut **c)
            })
        };
        result.map_err(AppError::from)
    }

    /// Loads rows of type `T`.
    pub fn load<T>(&mut self, sql: &Sql) -> AppResult<Vec<T>>
    where
        T: QueryableByName<diesel::sqlite::Sqlite> + QueryableByName<diesel::pg::Pg> + 'static,
    {
        self.insert_deferred_seen_by(sql.reads())?;
        let _span = query_span(self.backend(), sql).entered();
        let result = if sql.is_kept_prepared() {
            let query = prepared::Prepared::of(sql, self.backend());
            with_conn!(self, c => query.load::<T>(&mut **c))
        } else {
            let text = sql.render(self.backend());
            with_conn!(self, c => {
                let query = bind_all(diesel::sql_query(text).into_boxed(), sql.binds());
                query.load::<T>(&mut **c)
            })
        };
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
    binds: &'f [SqlValue],
) -> diesel::query_builder::BoxedSqlQuery<'f, DB, diesel::query_builder::SqlQuery>
where
    DB: diesel::backend::Backend
        + diesel::sql_types::HasSqlType<Text>
        + diesel::sql_types::HasSqlType<BigInt>
        + diesel::sql_types::HasSqlType<Double>,
    diesel::query_builder::SqlQuery: QueryFragment<DB>,
    for<'v> Option<&'v str>: diesel::serialize::ToSql<Nullable<Text>, DB>,
    for<'v> &'v str: diesel::serialize::ToSql<Text, DB>,
    Option<i64>: diesel::serialize::ToSql<Nullable<BigInt>, DB>,
    Option<f64>: diesel::serialize::ToSql<Nullable<Double>, DB>,
{
    for value in binds {
        // bound by reference: index rows and audit batches carry whole documents
        query = match value {
            SqlValue::Text(v) => query.bind::<Nullable<Text>, _>(v.as_deref()),
            SqlValue::Int(v) => query.bind::<Nullable<BigInt>, _>(*v),
            SqlValue::Float(v) => query.bind::<Nullable<Double>, _>(*v),
            SqlValue::Json(v) => query.bind::<Text, _>(v.as_str()),
        };
    }
    query
}
