//! Shape questions about one element of a resource, answered from the element model
//! (FHIRPath Patch: whether a new element is a list; export `_elements`: mandatory elements).

use super::model::{model, Kind, NodeId};
use serde_json::Value;

/// Whether child `name` of the object at `path` (JSON property names; array indexes are
/// skipped) inside `resource` repeats. None when the model does not know the element.
pub fn repeats_at(resource: &Value, path: &[&str], name: &str) -> Option<bool> {
    let model = model().ok()?;
    let mut node = model.resource_root(resource.get("resourceType")?.as_str()?)?;
    let mut value = resource;
    for step in path {
        value = match value {
            Value::Array(items) => items.get(step.parse::<usize>().ok()?)?,
            Value::Object(map) => {
                let inner = map.get(*step)?;
                node = next_node(node, step, inner)?;
                inner
            }
            _ => return None,
        };
    }
    let (child, _) = model.nodes.get(node)?.find(name)?;
    Some(model.nodes[node].children[child].repeats)
}

/// The node describing the value of property `name` of an object of `node`.
fn next_node(node: NodeId, name: &str, value: &Value) -> Option<NodeId> {
    let model = model().ok()?;
    let (child, variant) = model.nodes.get(node)?.find(name)?;
    match model.nodes[node].children[child]
        .variants
        .get(variant)?
        .kind
    {
        Kind::Complex(id) => Some(id),
        Kind::Resource => {
            let first = match value {
                Value::Array(items) => items.first()?,
                other => other,
            };
            model.resource_root(first.get("resourceType")?.as_str()?)
        }
        _ => None,
    }
}

/// The top-level elements of `res_type` with a minimum cardinality of one or more (choice
/// elements by their base name, `value` for `value[x]`); empty for an unknown type.
pub fn required_elements(res_type: &str) -> Vec<String> {
    let Ok(model) = model() else {
        return Vec::new();
    };
    let Some(root) = model.resource_root(res_type) else {
        return Vec::new();
    };
    model.nodes[root]
        .children
        .iter()
        .filter(|c| c.min > 0)
        .map(|c| c.name.to_string())
        .collect()
}
