//! FHIR protocol code, pure (no I/O): resource parsing and validation, OperationOutcome,
//! Bundles, CapabilityStatement, search-parameter registry, FHIRPath, index extraction.

pub mod bundle;
pub mod capability;
pub mod fhirpath;
pub mod index;
pub mod json;
pub mod model;
pub mod outcome;
pub mod resource;
pub mod search_params;
pub mod validate;
