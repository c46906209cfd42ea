//! FHIRPath Patch (fhirpatch.html): a `Parameters` resource of `operation` parameters
//! (add, insert, delete, replace, move). Paths are located with the FHIRPath engine;
//! the selected JSON nodes are mapped back to JSON Pointers by address.

use super::pointer::{self, add, remove, replace};
use super::unprocessable;
use crate::error::{AppError, AppResult};
use crate::fhir::fhirpath::{self, Item};
use crate::fhir::validate::repeats_at;
use serde_json::{Map, Value};
use std::collections::HashMap;

pub fn apply(resource: &Value, params: &Value) -> AppResult<Value> {
    let operations: Vec<&Value> = params
        .get("parameter")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|p| p.get("name").and_then(Value::as_str) == Some("operation"))
        .collect();
    if operations.is_empty() {
        return Err(AppError::invalid(
            "a FHIRPath Patch needs at least one 'operation' parameter",
        ));
    }
    let mut doc = resource.clone();
    for (i, op) in operations.iter().enumerate() {
        let parts = Parts::read(op)?;
        apply_one(&mut doc, &parts).map_err(|e| match e {
            AppError::BadRequest(_) | AppError::Unprocessable(_) => prefix(e, i),
            other => other,
        })?;
    }
    Ok(doc)
}

fn prefix(err: AppError, i: usize) -> AppError {
    let map = |issues: Vec<crate::fhir::outcome::Issue>| {
        issues
            .into_iter()
            .map(|mut issue| {
                issue.diagnostics = format!("FHIRPath Patch operation {i}: {}", issue.diagnostics);
                issue
            })
            .collect()
    };
    match err {
        AppError::BadRequest(issues) => AppError::BadRequest(map(issues)),
        AppError::Unprocessable(issues) => AppError::Unprocessable(map(issues)),
        other => other,
    }
}

/// The parts of one `operation` parameter.
#[derive(Default)]
struct Parts {
    kind: String,
    path: String,
    name: Option<String>,
    value: Option<Value>,
    index: Option<usize>,
    source: Option<usize>,
    destination: Option<usize>,
}

impl Parts {
    fn read(op: &Value) -> AppResult<Parts> {
        let mut parts = Parts::default();
        for part in op
            .get("part")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let name = part.get("name").and_then(Value::as_str).unwrap_or("");
            let text = || value_x(part).and_then(|v| v.as_str().map(str::to_string));
            let number = || {
                value_x(part)
                    .and_then(Value::as_u64)
                    .and_then(|n| usize::try_from(n).ok())
            };
            match name {
                "type" => parts.kind = text().unwrap_or_default(),
                "path" => parts.path = text().unwrap_or_default(),
                "name" => parts.name = text(),
                "value" => parts.value = Some(part_value(part)),
                "index" => parts.index = number(),
                "source" => parts.source = number(),
                "destination" => parts.destination = number(),
                _ => {}
            }
        }
        if parts.path.is_empty() {
            return Err(AppError::invalid("an operation needs a 'path'"));
        }
        Ok(parts)
    }
}

/// The `value[x]` of a parameter part.
fn value_x(part: &Value) -> Option<&Value> {
    part.as_object()?
        .iter()
        .find(|(k, _)| k.starts_with("value") && k.len() > 5)
        .map(|(_, v)| v)
}

/// A `value` part: a `value[x]`, a resource, or nested parts building a complex value.
fn part_value(part: &Value) -> Value {
    if let Some(v) = value_x(part).or_else(|| part.get("resource")) {
        return v.clone();
    }
    let mut object = Map::new();
    for child in part
        .get("part")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(name) = child.get("name").and_then(Value::as_str) else {
            continue;
        };
        let value = part_value(child);
        match object.get_mut(name) {
            Some(Value::Array(items)) => items.push(value),
            Some(existing) => *existing = Value::Array(vec![existing.take(), value]),
            None => {
                object.insert(name.to_string(), value);
            }
        }
    }
    Value::Object(object)
}

fn required<T: Clone>(value: &Option<T>, what: &str, kind: &str) -> AppResult<T> {
    value
        .clone()
        .ok_or_else(|| AppError::invalid(format!("a '{kind}' operation needs '{what}'")))
}

fn apply_one(doc: &mut Value, op: &Parts) -> AppResult<()> {
    let targets = locate(doc, &op.path)?;
    let kind = op.kind.as_str();
    match kind {
        "add" => {
            let name = required(&op.name, "name", kind)?;
            let value = required(&op.value, "value", kind)?;
            let container = single(&targets, &op.path)?;
            let mut at = container.clone();
            at.push(name.clone());
            match pointer::get(doc, &at) {
                Some(Value::Array(_)) => {
                    at.push("-".into());
                    add(doc, &at, value)
                }
                Some(_) => Err(unprocessable(format!(
                    "'{}' already has a value for '{name}'; use replace",
                    op.path
                ))),
                None => {
                    let steps: Vec<&str> = container.iter().map(String::as_str).collect();
                    let value = if repeats_at(doc, &steps, &name) == Some(true) {
                        Value::Array(vec![value])
                    } else {
                        value
                    };
                    add(doc, &at, value)
                }
            }
        }
        "insert" => {
            let value = required(&op.value, "value", kind)?;
            let index = required(&op.index, "index", kind)?;
            let (list, len) = list_of(doc, &targets, &op.path)?;
            if index > len {
                return Err(unprocessable(format!(
                    "index {index} is beyond the {len} items of '{}'",
                    op.path
                )));
            }
            add(doc, &child(&list, index), value)
        }
        "delete" => match targets.as_slice() {
            [] => Ok(()),
            [one] => delete(doc, one),
            _ => Err(unprocessable(format!(
                "'{}' selects {} elements; delete needs one",
                op.path,
                targets.len()
            ))),
        },
        "replace" => {
            let value = required(&op.value, "value", kind)?;
            replace(doc, single(&targets, &op.path)?, value)
        }
        "move" => {
            let source = required(&op.source, "source", kind)?;
            let destination = required(&op.destination, "destination", kind)?;
            let (list, len) = list_of(doc, &targets, &op.path)?;
            if source >= len || destination >= len {
                return Err(unprocessable(format!(
                    "move {source} → {destination} is outside the {len} items of '{}'",
                    op.path
                )));
            }
            let value = remove(doc, &child(&list, source))?;
            add(doc, &child(&list, destination), value)
        }
        other => Err(AppError::invalid(format!(
            "'{other}' is not a FHIRPath Patch operation type (add, insert, delete, replace, move)"
        ))),
    }
}

fn child(list: &[String], index: usize) -> Vec<String> {
    let mut at = list.to_vec();
    at.push(index.to_string());
    at
}

fn single<'t>(targets: &'t [Vec<String>], path: &str) -> AppResult<&'t Vec<String>> {
    match targets {
        [one] => Ok(one),
        _ => Err(unprocessable(format!(
            "'{path}' selects {} elements; exactly one is needed",
            targets.len()
        ))),
    }
}

/// The array whose items `targets` are, and its length.
fn list_of(doc: &Value, targets: &[Vec<String>], path: &str) -> AppResult<(Vec<String>, usize)> {
    let parent = targets
        .first()
        .and_then(|t| t.split_last())
        .map(|(_, parent)| parent.to_vec());
    let Some(parent) = parent.filter(|p| {
        targets
            .iter()
            .all(|t| t.len() == p.len() + 1 && t.starts_with(p))
    }) else {
        return Err(unprocessable(format!("'{path}' does not select a list")));
    };
    match pointer::get(doc, &parent) {
        Some(Value::Array(items)) => Ok((parent, items.len())),
        _ => Err(unprocessable(format!("'{path}' does not select a list"))),
    }
}

/// Removes one element; an emptied list goes too (FHIR has no empty arrays), and a
/// primitive's `_name` companion with it.
fn delete(doc: &mut Value, at: &[String]) -> AppResult<()> {
    let at = at.to_vec();
    remove(doc, &at)?;
    let Some((last, parent)) = at.split_last() else {
        return Ok(());
    };
    if matches!(pointer::get(doc, parent), Some(Value::Array(items)) if items.is_empty()) {
        return delete(doc, parent);
    }
    if let Some(Value::Object(map)) = pointer::get(doc, parent) {
        let companion = format!("_{last}");
        if map.contains_key(&companion) {
            let mut path = parent.to_vec();
            path.push(companion);
            remove(doc, &path)?;
        }
    }
    Ok(())
}

/// JSON Pointers of the elements `path` selects.
fn locate(doc: &Value, path: &str) -> AppResult<Vec<Vec<String>>> {
    let expr =
        fhirpath::compile(path).map_err(|e| AppError::invalid(format!("path '{path}': {e}")))?;
    let items =
        fhirpath::evaluate(&expr, doc).map_err(|e| unprocessable(format!("path '{path}': {e}")))?;
    let mut index = HashMap::new();
    addresses(doc, &mut Vec::new(), &mut index);
    items
        .iter()
        .map(|item| {
            let found = match item {
                Item::Node(node) => node
                    .value
                    .and_then(|v| index.get(&(v as *const Value)))
                    .cloned(),
                _ => None,
            };
            found.ok_or_else(|| {
                unprocessable(format!(
                    "'{path}' selects a computed value, not an element of the resource"
                ))
            })
        })
        .collect()
}

/// Address of every JSON value in `value` → its pointer tokens.
fn addresses(value: &Value, at: &mut Vec<String>, out: &mut HashMap<*const Value, Vec<String>>) {
    out.insert(value as *const Value, at.clone());
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                at.push(k.clone());
                addresses(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(i.to_string());
                addresses(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn op(parts: Value) -> Value {
        json!({"resourceType": "Parameters", "parameter": [{"name": "operation", "part": parts}]})
    }

    fn patient() -> Value {
        json!({"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01",
               "identifier": [{"value": "a"}, {"value": "b"}, {"value": "c"}]})
    }

    #[test]
    fn each_operation() {
        let p = patient();
        let added = apply(&p, &op(json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
            {"name": "name", "valueString": "gender"}, {"name": "value", "valueCode": "female"}]))).unwrap();
        assert_eq!(added["gender"], "female");
        let list = apply(&p, &op(json!([{"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
            {"name": "name", "valueString": "name"}, {"name": "value", "part": [{"name": "family", "valueString": "Z"}]}]))).unwrap();
        assert_eq!(list["name"], json!([{"family": "Z"}]));
        let inserted = apply(&p, &op(json!([{"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.identifier"},
            {"name": "index", "valueInteger": 1}, {"name": "value", "valueIdentifier": {"value": "x"}}]))).unwrap();
        assert_eq!(inserted["identifier"][1]["value"], "x");
        let deleted = apply(&p, &op(json!([{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.identifier.where(value = 'b')"}]))).unwrap();
        assert_eq!(
            deleted["identifier"],
            json!([{"value": "a"}, {"value": "c"}])
        );
        let replaced = apply(&p, &op(json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.birthDate"},
            {"name": "value", "valueDate": "1980-02-02"}]))).unwrap();
        assert_eq!(replaced["birthDate"], "1980-02-02");
        let moved = apply(&p, &op(json!([{"name": "type", "valueCode": "move"}, {"name": "path", "valueString": "Patient.identifier"},
            {"name": "source", "valueInteger": 0}, {"name": "destination", "valueInteger": 2}]))).unwrap();
        assert_eq!(
            moved["identifier"],
            json!([{"value": "b"}, {"value": "c"}, {"value": "a"}])
        );
        let nothing = apply(&p, &op(json!([{"name": "type", "valueCode": "delete"}, {"name": "path", "valueString": "Patient.gender"}]))).unwrap();
        assert_eq!(nothing, p);
    }

    #[test]
    fn refusals() {
        let p = patient();
        let many = apply(
            &p,
            &op(
                json!([{"name": "type", "valueCode": "replace"}, {"name": "path", "valueString": "Patient.identifier"},
            {"name": "value", "valueIdentifier": {"value": "x"}}]),
            ),
        );
        assert_eq!(many.unwrap_err().status(), 422);
        let unknown = apply(
            &p,
            &op(
                json!([{"name": "type", "valueCode": "frob"}, {"name": "path", "valueString": "Patient"}]),
            ),
        );
        assert_eq!(unknown.unwrap_err().status(), 400);
        let out_of_range = apply(
            &p,
            &op(
                json!([{"name": "type", "valueCode": "insert"}, {"name": "path", "valueString": "Patient.identifier"},
            {"name": "index", "valueInteger": 9}, {"name": "value", "valueIdentifier": {"value": "x"}}]),
            ),
        );
        assert_eq!(out_of_range.unwrap_err().status(), 422);
    }
}
