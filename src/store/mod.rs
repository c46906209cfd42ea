//! Resource interactions as services: create, update, delete, read, vread, history.
//! Writes validate and extract outside the transaction, then append the version, its
//! index rows and projections inside one transaction. Nothing here knows about HTTP.

pub mod access;
pub mod audit;
pub mod bundle;
pub mod conditional;
pub mod consent;
pub mod consistency;
pub mod entry_access;
pub mod export;
pub mod patch;
pub mod read;
pub mod reindex;
pub mod write;

use crate::config::Config;
use crate::db::Db;
use std::sync::Arc;

/// Shared state every service call needs.
#[derive(Clone)]
pub struct Store {
    pub db: Db,
    pub config: Arc<Config>,
    pub audit: audit::AuditSink,
    /// The active patient-privacy Consents, cached (invalidated on Consent writes).
    pub consents: consent::ConsentCache,
}

/// A stored version as returned to callers.
#[derive(Debug, Clone)]
pub struct Saved {
    pub res_type: String,
    pub id: String,
    pub version: i64,
    pub last_updated: i64,
    /// The stored JSON; None for a deletion.
    pub content: Option<String>,
    /// True when this write created the resource (or brought a deleted one back).
    pub created: bool,
    /// Warnings about the content (coding validation) for `Prefer: return=OperationOutcome`.
    pub warnings: Vec<crate::fhir::outcome::Issue>,
}
