//! FHIR R4 terminology operations over the coding tables (terminology-service.html):
//! `CodeSystem/$lookup`, `$validate-code`, `$subsumes`, `ValueSet/$expand` and
//! `ValueSet/$validate-code` for ICD-10-CM and ICD-10-PCS. Inputs are [`OpParams`];
//! outputs are FHIR JSON (`Parameters`, `ValueSet`). No HTTP here.

mod expand;
mod lookup;
mod params;
mod validate;
pub mod value_set;

use serde_json::{json, Value};

use super::{ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
use crate::error::{AppError, AppResult};

pub use expand::expand;
pub use lookup::{lookup, subsumes};
pub use params::OpParams;
pub use validate::{validate_code, verdict, vs_validate_code, Verdict};

/// The two code systems served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeSystem {
    /// ICD-10-CM.
    Cm,
    /// ICD-10-PCS.
    Pcs,
}

impl CodeSystem {
    /// The system of a canonical URL (a trailing `|version` is ignored).
    pub fn of(url: &str) -> Option<CodeSystem> {
        match url.split('|').next().unwrap_or("").trim() {
            ICD10CM_SYSTEM => Some(CodeSystem::Cm),
            ICD10PCS_SYSTEM => Some(CodeSystem::Pcs),
            _ => None,
        }
    }

    /// The canonical URL.
    pub fn url(self) -> &'static str {
        match self {
            CodeSystem::Cm => ICD10CM_SYSTEM,
            CodeSystem::Pcs => ICD10PCS_SYSTEM,
        }
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            CodeSystem::Cm => "ICD-10-CM",
            CodeSystem::Pcs => "ICD-10-PCS",
        }
    }
}

/// The code system an operation names (`system`, `url` or a coding's system): 404 when
/// it is one this server does not hold, 400 when none is given.
fn system_param(params: &OpParams, names: &[&str]) -> AppResult<CodeSystem> {
    let url = params.require(names, "system")?;
    CodeSystem::of(url).ok_or_else(|| unknown_system(url))
}

fn unknown_system(url: &str) -> AppError {
    AppError::NotFound(format!(
        "CodeSystem '{url}' is not known to this server (it serves {ICD10CM_SYSTEM} and {ICD10PCS_SYSTEM})"
    ))
}

/// A `Parameters` resource from (name, value[x] key, value) triples and prebuilt parameters.
fn parameters(parameter: Vec<Value>) -> Value {
    json!({ "resourceType": "Parameters", "parameter": parameter })
}

fn param(name: &str, kind: &str, value: impl Into<Value>) -> Value {
    let mut p = json!({ "name": name });
    p[kind] = value.into();
    p
}

/// The fiscal year version string of the loaded ICD-10-CM tabular (`2026`).
fn version(terms: &super::Terminology) -> String {
    terms.cm.fiscal_year.to_string()
}
