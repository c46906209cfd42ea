//! A `Parameters` resource as operation input: its entries in order, each with its name and
//! `value[x]` elements, and the text form of primitive values. Pure.

use crate::error::{AppError, AppResult};
use serde_json::Value;

/// One `Parameters.parameter`: its name (None when missing) and its `value[x]` elements.
pub struct Entry<'a> {
    pub name: Option<&'a str>,
    pub values: Vec<(&'a str, &'a Value)>,
}

/// The entries of `body`, which must be a Parameters resource (400 naming `operation`).
pub fn entries<'a>(body: &'a Value, operation: &str) -> AppResult<Vec<Entry<'a>>> {
    if body.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
        return Err(AppError::invalid(format!(
            "the body of {operation} must be a Parameters resource"
        )));
    }
    Ok(body
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .map(|param| Entry {
            name: param.get("name").and_then(Value::as_str),
            values: param
                .iter()
                .filter(|(k, _)| k.starts_with("value"))
                .map(|(k, v)| (k.as_str(), v))
                .collect(),
        })
        .collect())
}

/// The text of a primitive value (`valueString`, `valueInteger`, `valueBoolean` ...).
pub fn primitive_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(_) | Value::Bool(_) => Some(value.to_string()),
        _ => None,
    }
}
