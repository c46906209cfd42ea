//! Walks a JSON resource against the element model and collects issues. Applies the
//! FHIR JSON rules: arrays exactly where an element repeats, `_name` companions for
//! primitives (with `null` placeholders in parallel arrays), no nulls or empties.

use serde_json::{Map, Value};

use super::model::{Child, Kind, Model, NodeId, Variant};
use super::path::Location;
use super::primitive::json_kind;
use super::{Severity, ValidationIssue};

/// Deeper than any real resource; stops runaway recursion on hostile input.
const MAX_DEPTH: usize = 256;

/// Issues reported in full; beyond this one closing issue says the rest were left out.
const MAX_ISSUES: usize = 1000;

/// Validates one resource (the root of a request body).
pub(super) fn validate<'a>(model: &'a Model, resource: &'a Value) -> Vec<ValidationIssue> {
    let mut walker = Walker {
        model,
        location: Location::default(),
        issues: Vec::new(),
    };
    walker.resource(resource);
    walker.issues
}

struct Walker<'a> {
    model: &'a Model,
    location: Location<'a>,
    issues: Vec<ValidationIssue>,
}

impl<'a> Walker<'a> {
    fn report(&mut self, code: &'static str, extra: Option<&str>, message: String) {
        if self.issues.len() > MAX_ISSUES {
            return;
        }
        let (expression, message) = if self.issues.len() == MAX_ISSUES {
            (
                "Resource".to_string(),
                format!("More than {MAX_ISSUES} issues; the rest are not listed"),
            )
        } else {
            (self.location.render(extra), message)
        };
        self.issues.push(ValidationIssue {
            severity: Severity::Error,
            code,
            expression,
            message,
        });
    }

    /// A resource at the current location (the document root, or e.g. a contained one).
    fn resource(&mut self, value: &'a Value) {
        let Value::Object(object) = value else {
            let found = json_kind(value);
            return self.report(
                "structure",
                None,
                format!("A resource must be a JSON object, found {found}"),
            );
        };
        let Some(type_value) = object.get("resourceType") else {
            return self.report("required", None, "The resource has no resourceType".into());
        };
        let Some(type_name) = type_value.as_str() else {
            let found = json_kind(type_value);
            return self.report(
                "invalid",
                None,
                format!("resourceType must be a string, found {found}"),
            );
        };
        let Some(root) = self.model.resource_root(type_name) else {
            let shown: String = type_name.chars().take(80).collect();
            return self.report(
                "invalid",
                None,
                format!("'{shown}' is not an R4 resource type"),
            );
        };
        let at_document_root = self.location.depth() == 0;
        if at_document_root {
            self.location.push_name(type_name);
        }
        self.object(root, object, true);
        if at_document_root {
            self.location.pop();
        }
    }

    fn object(&mut self, node_id: NodeId, object: &'a Map<String, Value>, resource_root: bool) {
        if object.is_empty() {
            return self.report("structure", None, "Empty objects are not allowed".into());
        }
        if self.location.depth() > MAX_DEPTH {
            return self.report(
                "structure",
                None,
                "The resource is nested too deeply".into(),
            );
        }
        let model = self.model;
        let node = &model.nodes[node_id];
        let has_companions = object.keys().any(|key| key.starts_with('_'));
        // Per child: the variant seen (choice elements allow only one).
        let mut seen: Vec<Option<usize>> = vec![None; node.children.len()];
        for (key, value) in object {
            if resource_root && key == "resourceType" {
                continue;
            }
            let (name, is_companion) = match key.strip_prefix('_') {
                Some(name) => (name, true),
                None => (key.as_str(), false),
            };
            let found = node.find(name).map(|(c, v)| (c, v, &node.children[c]));
            let Some((child_index, variant_index, child)) = found else {
                let message = if key == "resourceType" {
                    "resourceType is only allowed at the root of a resource".to_string()
                } else {
                    format!("Unknown element '{key}'")
                };
                self.report("structure", Some(key), message);
                continue;
            };
            let variant = &child.variants[variant_index];
            if is_companion && !matches!(variant.kind, Kind::Primitive(_)) {
                self.report(
                    "structure",
                    Some(key),
                    format!("Unknown element '{key}': '{name}' is not a primitive"),
                );
                continue;
            }
            match seen[child_index] {
                Some(previous) if previous != variant_index => {
                    self.enter(child, variant);
                    let message = format!(
                        "Only one of {}[x] may be present; found {name} too",
                        child.name
                    );
                    self.report("structure", None, message);
                    self.leave(child);
                    continue;
                }
                _ => seen[child_index] = Some(variant_index),
            }
            if is_companion && object.contains_key(name) {
                continue; // validated together with the value
            }
            let (value, companion) = if is_companion {
                (None, Some(value))
            } else if has_companions && matches!(variant.kind, Kind::Primitive(_)) {
                (Some(value), object.get(&format!("_{key}")))
            } else {
                (Some(value), None)
            };
            self.element(child, variant, value, companion);
        }
        for (child, seen) in node.children.iter().zip(&seen) {
            if child.min > 0 && seen.is_none() {
                let suffix = if child.choice { "[x]" } else { "" };
                let message = format!("Missing required element '{}{suffix}'", child.name);
                self.report("required", Some(&child.name), message);
            }
        }
    }

    fn enter(&mut self, child: &'a Child, variant: &'a Variant) {
        self.location.push_name(&child.name);
        if child.choice {
            self.location.push_type(&variant.type_name);
        }
    }

    fn leave(&mut self, child: &Child) {
        self.location.pop();
        if child.choice {
            self.location.pop();
        }
    }

    /// One element: its value and/or its `_name` companion, in JSON shape.
    fn element(
        &mut self,
        child: &'a Child,
        variant: &'a Variant,
        value: Option<&'a Value>,
        companion: Option<&'a Value>,
    ) {
        self.enter(child, variant);
        if child.repeats {
            self.repeating(child, variant, value, companion);
        } else {
            for (item, is_companion) in [(value, false), (companion, true)] {
                match item {
                    Some(Value::Array(_)) => {
                        let message =
                            format!("'{}' does not repeat: it must not be an array", child.name);
                        self.report("structure", None, message);
                    }
                    Some(item) if is_companion => self.companion(item),
                    Some(item) => self.item(child, variant, item),
                    None => {}
                }
            }
        }
        self.leave(child);
    }

    fn repeating(
        &mut self,
        child: &'a Child,
        variant: &'a Variant,
        value: Option<&'a Value>,
        companion: Option<&'a Value>,
    ) {
        let mut arrays: [&'a [Value]; 2] = [&[], &[]];
        for (slot, item) in arrays.iter_mut().zip([value, companion]) {
            match item {
                Some(Value::Array(items)) if items.is_empty() => {
                    self.report("structure", None, "Empty arrays are not allowed".into());
                }
                Some(Value::Array(items)) => *slot = items,
                Some(_) => {
                    let message = format!("'{}' repeats: it must be an array", child.name);
                    return self.report("structure", None, message);
                }
                None => {}
            }
        }
        let [values, companions] = arrays;
        if !values.is_empty() && !companions.is_empty() && values.len() != companions.len() {
            let message = format!("'_{0}' must have as many items as '{0}'", child.name);
            self.report("structure", None, message);
        }
        for index in 0..values.len().max(companions.len()) {
            self.location.push_index(index);
            let item = values.get(index).filter(|v| !v.is_null());
            let extra = companions.get(index).filter(|v| !v.is_null());
            if item.is_none() && extra.is_none() {
                self.report("structure", None, "null is not allowed here".into());
            }
            if let Some(item) = item {
                self.item(child, variant, item);
            }
            if let Some(extra) = extra {
                self.companion(extra);
            }
            self.location.pop();
        }
    }

    /// The `_name` object of a primitive: only `id` and `extension`.
    fn companion(&mut self, value: &'a Value) {
        match value {
            Value::Object(object) => self.object(self.model.element_node, object, false),
            other => {
                let message = format!(
                    "A primitive's extension part must be a JSON object, found {}",
                    json_kind(other)
                );
                self.report("structure", None, message);
            }
        }
    }

    fn item(&mut self, child: &'a Child, variant: &'a Variant, value: &'a Value) {
        if value.is_null() {
            return self.report("structure", None, "null is not allowed".into());
        }
        let model = self.model;
        let value_set = child.binding.and_then(|index| model.value_sets.get(index));
        match variant.kind {
            Kind::Primitive(id) | Kind::Attribute(id) => {
                let Some(primitive) = model.primitives.get(id) else {
                    return;
                };
                if let Err(error) = primitive.check(value) {
                    return self.report(error.code, None, error.message);
                }
                if let (Some(value_set), Value::String(code)) = (value_set, value) {
                    if !value_set.contains_code(code) {
                        self.report("code-invalid", None, value_set.message(code));
                    }
                }
            }
            Kind::Complex(node) => {
                let Value::Object(object) = value else {
                    let message = format!(
                        "A {} must be a JSON object, found {}",
                        variant.type_name,
                        json_kind(value)
                    );
                    return self.report("structure", None, message);
                };
                self.object(node, object, false);
                if let Some(value_set) = value_set {
                    self.codings(value_set, &variant.type_name, value);
                }
            }
            Kind::Resource => self.resource(value),
        }
    }

    fn codings(
        &mut self,
        value_set: &'a super::binding::ValueSet,
        type_name: &str,
        value: &'a Value,
    ) {
        for invalid in value_set.invalid_codings(type_name, value) {
            let depth = self.location.depth();
            if let Some(index) = invalid.coding_index {
                self.location.push_name("coding");
                self.location.push_index(index);
            }
            self.report(
                "code-invalid",
                Some("code"),
                value_set.message(invalid.code),
            );
            self.location.truncate(depth);
        }
    }
}
