//! Implicit value sets of the two code systems (FHIR icd.html, terminologies.html):
//! `[system]?fhir_vs` (all codes), `[system]?fhir_vs=isa/[code]` (the code and everything
//! below it; for ICD-10-PCS a code prefix such as `0DT`), and the chartroom extension
//! `[system]?fhir_vs=range/[spec]` with an ICD-10-CM spec such as `C00-C96` or `E10,E11`.

use super::{unknown_system, CodeSystem};
use crate::coding::codes::normalize;
use crate::coding::CodeSpec;
use crate::error::{AppError, AppResult};

/// Which codes an implicit value set holds.
#[derive(Debug, Clone)]
pub enum Selection {
    /// Every code of the system.
    All,
    /// Codes whose undotted key starts with this key.
    IsA(String),
    /// ICD-10-CM codes in a spec.
    Spec(CodeSpec),
}

/// A parsed implicit value set URL.
#[derive(Debug, Clone)]
pub struct ImplicitValueSet {
    /// The code system.
    pub system: CodeSystem,
    /// Its codes.
    pub selection: Selection,
}

impl ImplicitValueSet {
    /// Parses `[system]?fhir_vs[=isa/code | =range/spec]`; 404 for any other URL.
    pub fn parse(url: &str) -> AppResult<ImplicitValueSet> {
        let url = url.split('|').next().unwrap_or("").trim();
        let (base, query) = url.split_once('?').unwrap_or((url, ""));
        let system = CodeSystem::of(base).ok_or_else(|| unknown_system(base))?;
        let unknown = || {
            AppError::NotFound(format!(
                "ValueSet '{url}' is not known; implicit value sets are {base}?fhir_vs, ?fhir_vs=isa/[code] and ?fhir_vs=range/[codes]"
            ))
        };
        let selection = match query.split_once('=') {
            None if query == "fhir_vs" => Selection::All,
            Some(("fhir_vs", value)) => match value.split_once('/') {
                Some(("isa", code)) => Selection::IsA(isa_key(system, code).ok_or_else(unknown)?),
                Some(("range", spec)) if system == CodeSystem::Cm => {
                    Selection::Spec(CodeSpec::parse(spec).ok_or_else(unknown)?)
                }
                _ => return Err(unknown()),
            },
            _ => return Err(unknown()),
        };
        Ok(ImplicitValueSet { system, selection })
    }

    /// True when the code (any spelling) is in the set.
    pub fn contains(&self, code: &str) -> bool {
        let Some(key) = normalize(code).or_else(|| pcs_prefix(code)) else {
            return false;
        };
        match &self.selection {
            Selection::All => true,
            Selection::IsA(prefix) => key.starts_with(prefix.as_str()),
            Selection::Spec(spec) => spec.contains(&key),
        }
    }
}

fn isa_key(system: CodeSystem, code: &str) -> Option<String> {
    match system {
        CodeSystem::Cm => normalize(code),
        CodeSystem::Pcs => pcs_prefix(code),
    }
}

/// An ICD-10-PCS code or prefix (1–7 letters and digits), upper-cased.
fn pcs_prefix(code: &str) -> Option<String> {
    let code = code.trim();
    (!code.is_empty() && code.len() <= 7 && code.chars().all(|c| c.is_ascii_alphanumeric()))
        .then(|| code.to_ascii_uppercase())
}
