//! FHIR protocol code, pure (no I/O): resource parsing and validation, OperationOutcome,
//! Bundles, CapabilityStatement, search-parameter registry, FHIRPath, index extraction.

pub mod bundle;
pub mod capability;
pub mod chartroom_params;
pub mod fhirpath;
pub mod index;
pub mod json;
pub mod model;
pub mod outcome;
pub mod parameters;
pub mod patch;
pub mod references;
pub mod resource;
pub mod search_params;
pub mod transaction;
pub mod validate;

/// The official R4 examples for unit tests: `FHIR_EXAMPLES_DIR`, else the copy that
/// `scripts/fetch-fhir-examples.sh` puts under `target/` (tests skip when neither exists).
#[cfg(test)]
pub(crate) fn test_examples_dir() -> Result<String, std::env::VarError> {
    std::env::var("FHIR_EXAMPLES_DIR").or_else(|e| {
        let fetched = concat!(env!("CARGO_MANIFEST_DIR"), "/target/fhir-examples/package");
        if std::path::Path::new(fetched).is_dir() {
            Ok(fetched.to_string())
        } else {
            Err(e)
        }
    })
}
