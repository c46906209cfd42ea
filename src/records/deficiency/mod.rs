//! The deficiency worklist: rules that find what a record lacks (principal diagnosis,
//! procedure notes/performer/date, documentation of a diagnosis, a signed discharge
//! summary, onset and verification status of a Condition, demographics), kept as one FHIR
//! `Task` per (record, kind) that opens and closes itself, judged on write (in the write's
//! transaction) and by a sweep; queries to practitioners; the aging and completion reports.
//! Never imports actix.

pub mod completion;
pub mod evaluate;
pub mod facts;
pub mod kind;
pub mod on_write;
pub mod open_tasks;
pub mod query;
pub mod report;
pub mod rules;
pub mod sweep;
pub mod task;

pub use on_write::{touched, OnWrite};
