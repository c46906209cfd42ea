//! The one process-wide copy of the coding tables: parsed from the embedded files on
//! first use (about 0.7 s in a release build) and shared as `Arc<Terminology>` after.

use std::sync::Arc;

use once_cell::sync::Lazy;

use super::Terminology;
use crate::error::{AppError, AppResult};

static TERMS: Lazy<Result<Arc<Terminology>, String>> = Lazy::new(|| {
    Terminology::embedded()
        .map(Arc::new)
        .map_err(|e| e.to_string())
});

/// The shipped ICD-10-CM/PCS and MCE tables, loaded once per process.
pub fn terminology() -> AppResult<Arc<Terminology>> {
    TERMS
        .as_ref()
        .map(Arc::clone)
        .map_err(|e| AppError::internal(format!("coding tables failed to load: {e}")))
}

/// Loads the tables now (the server calls it at start so no request waits for them).
pub fn warm_up() {
    if let Err(err) = terminology() {
        tracing::error!(error = %err, "coding tables failed to load");
    }
}
