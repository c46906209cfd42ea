//! Operation inputs: query parameters of a GET, or a `Parameters` resource of a POST,
//! flattened to (name, text) pairs. A `valueCoding` named `coding` becomes `coding.system`,
//! `coding.code`, `coding.display`; a `valueCodeableConcept` contributes its first coding
//! the same way.

use serde_json::Value;

use crate::error::{AppError, AppResult};
use crate::fhir::parameters;

/// Flattened operation parameters, in the order given.
#[derive(Debug, Clone, Default)]
pub struct OpParams {
    pairs: Vec<(String, String)>,
}

impl OpParams {
    /// From query pairs (already percent-decoded).
    pub fn from_pairs(pairs: Vec<(String, String)>) -> OpParams {
        OpParams { pairs }
    }

    /// From a `Parameters` resource (400 for anything else).
    pub fn from_parameters(body: &Value) -> AppResult<OpParams> {
        let mut pairs = Vec::new();
        for entry in parameters::entries(body, "this operation")? {
            let Some(name) = entry.name else {
                continue;
            };
            for (key, value) in entry.values {
                match key {
                    "valueCoding" => push_coding(&mut pairs, name, value),
                    "valueCodeableConcept" => {
                        if let Some(coding) = value.pointer("/coding/0") {
                            push_coding(&mut pairs, name, coding);
                        }
                    }
                    _ => {
                        if let Some(text) = parameters::primitive_text(value) {
                            pairs.push((name.to_string(), text));
                        }
                    }
                }
            }
        }
        Ok(OpParams { pairs })
    }

    /// The first value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The first of `names` present.
    pub fn first_of(&self, names: &[&str]) -> Option<&str> {
        names.iter().find_map(|n| self.get(n))
    }

    /// A value required by the operation (400 when absent).
    pub fn require(&self, names: &[&str], what: &str) -> AppResult<&str> {
        self.first_of(names)
            .ok_or_else(|| AppError::invalid(format!("parameter {what} is required")))
    }

    /// A non-negative whole number (400 when it is not one).
    pub fn number(&self, name: &str) -> AppResult<Option<usize>> {
        self.get(name)
            .map(|v| {
                v.parse::<usize>().map_err(|_| {
                    AppError::invalid(format!("parameter {name}: '{v}' is not a whole number"))
                })
            })
            .transpose()
    }

    /// A `date` parameter as a calendar day (400 when it is not a date).
    pub fn date(&self, name: &str) -> AppResult<Option<chrono::NaiveDate>> {
        self.get(name)
            .map(|v| {
                v.get(..10)
                    .and_then(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
                    .ok_or_else(|| {
                        AppError::invalid(format!("parameter {name}: '{v}' is not a FHIR date"))
                    })
            })
            .transpose()
    }
}

fn push_coding(pairs: &mut Vec<(String, String)>, name: &str, coding: &Value) {
    for part in ["system", "code", "display", "version"] {
        if let Some(text) = coding.get(part).and_then(Value::as_str) {
            pairs.push((format!("{name}.{part}"), text.to_string()));
        }
    }
}
