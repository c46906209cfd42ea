//! Structural validation of FHIR R4 JSON resources, run before anything else reads a
//! resource a client writes. Owns: element names and nesting, JSON shape (arrays,
//! `_name` primitive companions, no nulls or empties), primitive formats, cardinality,
//! choice types and required bindings, each reported with a FHIRPath location.
//! Does not evaluate invariants, profiles, or extensible/preferred bindings.
//!
//! Locations are FHIRPath: `Patient.name[0].given[1]`; repeating elements always carry
//! an index; a choice variant is written `Observation.value.ofType(Quantity)`; nested
//! resources continue the path of the element holding them (`Bundle.entry[0].resource.id`).
//! A root that is not a resource at all is located as `Resource`. At most 1,000 issues
//! are listed, then one more saying the rest were left out.

mod binding;
mod model;
mod path;
mod primitive;
mod shape;
mod walker;

pub use shape::{repeats_at, required_elements};

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_examples;
#[cfg(test)]
mod tests_values;

use once_cell::sync::Lazy;

/// How serious a [`ValidationIssue`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// The resource must be rejected.
    Error,
    /// Worth telling the client; the resource may be accepted.
    Warning,
}

/// One problem found in a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationIssue {
    /// Error or warning.
    pub severity: Severity,
    /// FHIR `IssueType` code: `structure`, `required`, `value`, `code-invalid` or `invalid`.
    pub code: &'static str,
    /// FHIRPath of the offending element, e.g. `Patient.name[0].given[1]`.
    pub expression: String,
    /// Human-readable explanation.
    pub message: String,
}

/// Validates one FHIR R4 JSON resource; an empty result means it is structurally valid.
pub fn validate_resource(resource: &serde_json::Value) -> Vec<ValidationIssue> {
    match model::model() {
        Ok(model) => walker::validate(model, resource),
        Err(reason) => vec![ValidationIssue {
            severity: Severity::Error,
            code: "invalid",
            expression: "Resource".to_string(),
            message: format!("FHIR definitions are unavailable: {reason}"),
        }],
    }
}

/// Whether `name` is one of the concrete R4 resource types (`Patient`, `Bundle`, ...).
pub fn is_resource_type(name: &str) -> bool {
    model::model().is_ok_and(|model| model.resource_root(name).is_some())
}

static RESOURCE_TYPES: Lazy<Vec<&'static str>> = Lazy::new(|| match model::model() {
    Ok(model) => model
        .resource_types
        .iter()
        .map(|name| name.as_ref())
        .collect(),
    Err(_) => Vec::new(),
});

/// All 146 concrete R4 resource types, sorted by name.
pub fn resource_types() -> &'static [&'static str] {
    &RESOURCE_TYPES
}
