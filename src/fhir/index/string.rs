//! `string` parameter values: plain strings, HumanName parts, Address parts.

use serde_json::Value;

use super::{normalize_string, IndexValue};
use crate::fhir::fhirpath::Item;

const NAME_PARTS: [&str; 5] = ["family", "given", "prefix", "suffix", "text"];
const ADDRESS_PARTS: [&str; 7] = [
    "line",
    "city",
    "district",
    "state",
    "postalCode",
    "country",
    "text",
];

fn push(text: &str, out: &mut Vec<IndexValue>) {
    let normalized = normalize_string(text);
    if normalized.is_empty() {
        return;
    }
    out.push(IndexValue::String {
        normalized,
        exact: text.to_string(),
    });
}

/// String values of one item.
pub fn extract(item: &Item, out: &mut Vec<IndexValue>) {
    match item {
        Item::String(s) => push(s, out),
        Item::Node(node) => match node.value {
            Some(Value::String(s)) => push(s, out),
            Some(Value::Object(map)) => {
                let parts: &[&str] = match node.effective_type() {
                    Some("HumanName") => &NAME_PARTS,
                    Some("Address") => &ADDRESS_PARTS,
                    // Other complex types: their human-readable text, if any.
                    _ => &["text", "display", "name"],
                };
                for part in parts {
                    match map.get(*part) {
                        Some(Value::String(s)) => push(s, out),
                        Some(Value::Array(list)) => list
                            .iter()
                            .filter_map(Value::as_str)
                            .for_each(|s| push(s, out)),
                        _ => {}
                    }
                }
            }
            _ => {}
        },
        _ => {}
    }
}
