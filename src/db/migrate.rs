//! Embedded diesel migrations, one set per backend (`migrations/sqlite`, `migrations/postgres`).

use super::{Db, Link};
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const POSTGRES: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Key of the PostgreSQL advisory lock that lets only one replica migrate at a time.
const MIGRATION_LOCK: i64 = 0x6368_6172_7472;

/// Applies pending migrations; returns the names of those applied.
pub fn run(db: &Db) -> Result<Vec<String>, String> {
    let mut conn = db.write().map_err(|e| e.to_string())?;
    let applied = match &mut conn.link {
        Link::Sqlite(c) => c
            .run_pending_migrations(SQLITE)
            .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>()),
        Link::Pg(c) => {
            c.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
                .map_err(|e| e.to_string())?;
            let result = c
                .run_pending_migrations(POSTGRES)
                .map(|v| v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
            let _ = c.batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"));
            result
        }
    };
    applied.map_err(|e| format!("migration failed: {e}"))
}

/// Names of migrations not yet applied (for `chartroom doctor` and readiness).
pub fn pending(db: &Db) -> Result<Vec<String>, String> {
    let mut conn = db.read().map_err(|e| e.to_string())?;
    let pending = match &mut conn.link {
        Link::Sqlite(c) => MigrationHarness::pending_migrations(&mut **c, SQLITE)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
        Link::Pg(c) => MigrationHarness::pending_migrations(&mut **c, POSTGRES)
            .map(|v| v.iter().map(|m| m.name().to_string()).collect()),
    };
    pending.map_err(|e| e.to_string())
}
