//! `resolve()` without fetching: a Reference (or canonical/uri) becomes a
//! placeholder typed by its target type, so `resolve() is Patient` works.
//! Contained references (`#id`) resolve to the contained resource itself.

use serde_json::Value;

use super::item::{Item, Node};
use crate::fhir::search_params::is_resource_type;

/// Resolve one item, or `None` when no target type can be determined.
pub fn resolve<'a>(resource: &'a Value, item: &Item<'a>) -> Option<Item<'a>> {
    let Item::Node(node) = item else { return None };
    let value = node.value?;
    let (reference, declared_type) = match value {
        Value::String(s) => (Some(s.as_str()), None),
        Value::Object(map) => (
            map.get("reference").and_then(Value::as_str),
            map.get("type").and_then(Value::as_str),
        ),
        _ => (None, None),
    };
    if let Some(local) = reference.and_then(|r| r.strip_prefix('#')) {
        let contained = resource.get("contained")?.as_array()?;
        let target = contained
            .iter()
            .find(|c| c.get("id").and_then(Value::as_str) == Some(local))?;
        return Some(Item::Node(Node::resource(target)));
    }
    let type_name = reference
        .and_then(|r| reference_parts(r).map(|(t, _)| t))
        .or(declared_type.filter(|t| is_resource_type(t)))?;
    Some(Item::Resolved {
        type_name,
        reference: value,
    })
}

/// Split a literal reference into (type, id): `Type/id`, `Type/id/_history/v`,
/// or an absolute URL ending in one of those. Returns `None` for `urn:` and
/// fragments, or when no known resource type precedes the id.
pub fn reference_parts(reference: &str) -> Option<(&str, &str)> {
    let path = reference.split(['?', '#']).next()?;
    if path.starts_with("urn:") {
        return None;
    }
    let segments: Vec<&str> = path.split('/').collect();
    let n = segments.len();
    let end = if n >= 4 && segments[n - 2] == "_history" {
        n - 2
    } else {
        n
    };
    if end < 2 {
        return None;
    }
    let (type_name, id) = (segments[end - 2], segments[end - 1]);
    (is_resource_type(type_name) && !id.is_empty()).then_some((type_name, id))
}
