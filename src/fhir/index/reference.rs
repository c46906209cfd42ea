//! `reference` and `uri` parameter values. Literal references are split into
//! type and id (`Type/id`, `Type/id/_history/v`, absolute URLs ending in
//! `Type/id`, which also keep the URL); `urn:` and canonical references keep
//! the URL as written; logical references keep the identifier. Contained
//! references (`#id`) are not indexed.

use serde_json::Value;

use super::IndexValue;
use crate::fhir::fhirpath::{reference_parts, Item};

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_string)
}

/// Reference index value for a literal reference string (absolute, relative,
/// canonical with `|version`, or `urn:`).
fn literal(reference: &str, declared_type: Option<&str>) -> IndexValue {
    let unversioned = reference.split('|').next().unwrap_or(reference);
    let parts = reference_parts(unversioned);
    let is_relative = parts.is_some() && !reference.contains(':');
    IndexValue::Reference {
        target_type: owned(parts.map(|p| p.0).or(declared_type)),
        target_id: owned(parts.map(|p| p.1)),
        url: (!is_relative).then(|| reference.to_string()),
        identifier_system: None,
        identifier_value: None,
    }
}

/// Reference values of one item.
pub fn extract_reference(item: &Item, out: &mut Vec<IndexValue>) {
    let Item::Node(node) = item else { return };
    match node.value {
        Some(Value::String(s)) if !s.starts_with('#') => out.push(literal(s, None)),
        Some(Value::Object(map)) => {
            let declared = map.get("type").and_then(Value::as_str);
            let reference = map.get("reference").and_then(Value::as_str);
            let identifier = map.get("identifier");
            let id_field =
                |key: &str| owned(identifier.and_then(|i| i.get(key)).and_then(Value::as_str));
            let mut value = match reference {
                Some(r) if r.starts_with('#') => return,
                Some(r) => literal(r, declared),
                None if identifier.is_some() => IndexValue::Reference {
                    target_type: owned(declared),
                    target_id: None,
                    url: None,
                    identifier_system: None,
                    identifier_value: None,
                },
                None => return,
            };
            if let IndexValue::Reference {
                identifier_system,
                identifier_value,
                ..
            } = &mut value
            {
                *identifier_system = id_field("system");
                *identifier_value = id_field("value");
            }
            out.push(value);
        }
        _ => {}
    }
}

/// Uri values of one item.
pub fn extract_uri(item: &Item, out: &mut Vec<IndexValue>) {
    let value = match item {
        Item::String(s) => s.as_str(),
        Item::Node(node) => match node.value {
            Some(Value::String(s)) => s.as_str(),
            _ => return,
        },
        _ => return,
    };
    out.push(IndexValue::Uri {
        value: value.to_string(),
    });
}
