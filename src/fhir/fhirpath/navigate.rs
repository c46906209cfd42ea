//! Child-element navigation over FHIR JSON: arrays are flattened, primitive
//! `_name` siblings are paired with their values, and choice elements
//! (`value` -> `valueQuantity`) are found by their type suffix.

use serde_json::Value;

use super::item::{choice_type, Item, Node};
use super::model;

/// Children named `name` of every item, in order.
pub fn members<'a>(items: &[Item<'a>], name: &str, out: &mut Vec<Item<'a>>) {
    for item in items {
        if let Item::Node(node) = item {
            node_members(node, name, out);
        }
    }
}

fn node_members<'a>(node: &Node<'a>, name: &str, out: &mut Vec<Item<'a>>) {
    match node.value {
        Some(Value::Object(map)) => {
            let value = map.get(name);
            let extra = underscore_sibling(map, name);
            if value.is_some() || extra.is_some() {
                push_element(value, extra, declared(node, name), out);
                return;
            }
            for (key, value) in map {
                if let Some(suffix) = key.strip_prefix(name) {
                    if let Some(type_name) = choice_type(suffix) {
                        let extra = underscore_sibling(map, key);
                        push_element(Some(value), extra, (Some(type_name), None), out);
                    }
                }
            }
            // A choice element present only as `_valueString` (extensions, no value).
            for (key, extra) in map {
                if let Some(suffix) = key.strip_prefix('_').and_then(|k| k.strip_prefix(name)) {
                    let has_value = map.contains_key(&key[1..]);
                    if let (false, Some(type_name)) = (has_value, choice_type(suffix)) {
                        push_element(None, Some(extra), (Some(type_name), None), out);
                    }
                }
            }
        }
        // Primitive: `id` and `extension` live in the `_name` sibling.
        _ => {
            if let Some(Value::Object(extra)) = node.extra {
                if let Some(value) = extra.get(name) {
                    push_element(Some(value), None, declared(node, name), out);
                }
            }
        }
    }
}

/// Declared type and binding of child `name` of `node`, from the element model.
fn declared<'a>(node: &Node<'a>, name: &str) -> Declared<'a> {
    let found = node.type_name.and_then(|owner| model::child(owner, name));
    match (found, name) {
        (Some((type_name, binding)), _) => (Some(type_name), binding),
        (None, "extension" | "modifierExtension") => (Some("Extension"), None),
        (None, "id") if node.type_name.is_some() => (Some("string"), None),
        _ => (None, None),
    }
}

/// (type name, required binding) of an element.
type Declared<'a> = (Option<&'a str>, Option<&'a str>);

fn underscore_sibling<'a>(
    map: &'a serde_json::Map<String, Value>,
    name: &str,
) -> Option<&'a Value> {
    if map.is_empty() {
        return None;
    }
    let mut key = String::with_capacity(name.len() + 1);
    key.push('_');
    key.push_str(name);
    map.get(&key)
}

/// Push one element (possibly an array) paired with its `_` sibling.
fn push_element<'a>(
    value: Option<&'a Value>,
    extra: Option<&'a Value>,
    declared: Declared<'a>,
    out: &mut Vec<Item<'a>>,
) {
    match (value, extra) {
        (Some(Value::Array(values)), extra) => {
            let extras = extra.and_then(Value::as_array);
            for (i, v) in values.iter().enumerate() {
                let e = extras.and_then(|e| e.get(i)).filter(|e| !e.is_null());
                push_single(Some(v).filter(|v| !v.is_null()), e, declared, out);
            }
        }
        (None, Some(Value::Array(extras))) => {
            for e in extras.iter().filter(|e| !e.is_null()) {
                push_single(None, Some(e), declared, out);
            }
        }
        (value, extra) => push_single(value.filter(|v| !v.is_null()), extra, declared, out),
    }
}

fn push_single<'a>(
    value: Option<&'a Value>,
    extra: Option<&'a Value>,
    (type_name, binding): Declared<'a>,
    out: &mut Vec<Item<'a>>,
) {
    if value.is_none() && extra.is_none() {
        return;
    }
    // Contained resources and bundle entries are declared `Resource`: use the actual type.
    let actual = value
        .and_then(|v| v.get("resourceType"))
        .and_then(Value::as_str);
    let type_name = actual.or(type_name);
    out.push(Item::Node(Node {
        value,
        extra,
        type_name,
        binding,
    }));
}

/// All direct children of every item (for `children()`).
pub fn children<'a>(items: &[Item<'a>], out: &mut Vec<Item<'a>>) {
    for item in items {
        let Item::Node(node) = item else { continue };
        let Some(Value::Object(map)) = node.value else {
            continue;
        };
        for (key, value) in map {
            if key == "resourceType" {
                continue;
            }
            if let Some(name) = key.strip_prefix('_') {
                if !map.contains_key(name) {
                    push_element(None, Some(value), declared(node, name), out);
                }
                continue;
            }
            let mut element = declared(node, key);
            if element.0.is_none() {
                element.0 = choice_suffix_type(key).filter(|t| shape_fits(t, value));
            }
            let extra = underscore_sibling(map, key);
            push_element(Some(value), extra, element, out);
        }
    }
}

/// Whether a JSON value can hold type `type_name` (primitive types are
/// lowercase and never objects), so `reasonCode` (a CodeableConcept array) is
/// not mistaken for a `code`.
fn shape_fits(type_name: &str, value: &Value) -> bool {
    let first = match value {
        Value::Array(items) => items.first(),
        other => Some(other),
    };
    let is_object = matches!(first, Some(Value::Object(_)));
    is_object == type_name.starts_with(|c: char| c.is_ascii_uppercase())
}

/// Type from a choice key such as `valueQuantity`, if the key ends in a type suffix
/// after a lowercase stem.
fn choice_suffix_type(key: &str) -> Option<&'static str> {
    let split = key.find(|c: char| c.is_ascii_uppercase())?;
    if split == 0 {
        return None;
    }
    choice_type(&key[split..])
}
