//! Coding: the official ICD-10-CM, ICD-10-PCS and Medicare Code Editor tables (loaded
//! once, held in an `Arc<Terminology>`), code look-ups and checks, hierarchy and
//! value-set helpers, and the coding-audit edits. The tables and edits are pure; the
//! services on top ([`ops`] terminology operations, [`on_write`] validation, [`encounter`]
//! audit input from the store or a Bundle) never import HTTP.

pub mod audit;
mod cm_check;
mod cm_concept;
mod cm_hierarchy;
mod cm_parse;
mod cm_table;
pub mod codes;
pub mod encounter;
pub mod mce;
pub mod note_refs;
pub mod on_write;
pub mod ops;
mod pcs;
mod pcs_check;
pub mod shared;
mod terminology;

#[cfg(test)]
mod tests;

pub use audit::{audit, AuditDx, AuditInput, AuditPx, Finding, Severity, Sex};
pub use cm_check::CmCheck;
pub use cm_concept::{CmBlock, CmChapter, CmConcept, NoteLevel};
pub use cm_hierarchy::{CodeSpec, SearchHit, SearchPage, Subsumption};
pub use cm_table::{CmNotes, SevenCharDef};
pub use codes::{ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
pub use mce::{MceFlag, MceFlags, MceSpan, MceTable};
pub use pcs::{PcsAxis, PcsConcept};
pub use pcs_check::PcsCheck;
pub use terminology::{Terminology, TerminologyStats, DATA_FILES};

/// Errors raised while loading the coding tables.
#[derive(Debug, thiserror::Error)]
pub enum CodingError {
    /// A data file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A data file is malformed.
    #[error("coding data: {0}")]
    Data(String),
}

/// Result of the coding module.
pub type Result<T> = std::result::Result<T, CodingError>;
