//! JSON Patch (RFC 6902): add, remove, replace, move, copy, test — applied in order,
//! all or nothing.

use super::pointer::{self, add, get, remove, replace};
use super::unprocessable;
use crate::error::{AppError, AppResult};
use serde_json::Value;

pub fn apply(resource: &Value, ops: &Value) -> AppResult<Value> {
    let Some(ops) = ops.as_array() else {
        return Err(AppError::invalid(
            "a JSON Patch body must be an array of operations",
        ));
    };
    let mut doc = resource.clone();
    for (i, op) in ops.iter().enumerate() {
        apply_one(&mut doc, op).map_err(|e| locate(e, i))?;
    }
    Ok(doc)
}

/// Prefixes the operation index to the message of an error.
fn locate(err: AppError, i: usize) -> AppError {
    let prefix = |issues: Vec<crate::fhir::outcome::Issue>| {
        issues
            .into_iter()
            .map(|mut issue| {
                issue.diagnostics = format!("JSON Patch operation {i}: {}", issue.diagnostics);
                issue
            })
            .collect()
    };
    match err {
        AppError::BadRequest(issues) => AppError::BadRequest(prefix(issues)),
        AppError::Unprocessable(issues) => AppError::Unprocessable(prefix(issues)),
        other => other,
    }
}

fn member<'a>(op: &'a Value, name: &str) -> AppResult<&'a Value> {
    op.get(name)
        .ok_or_else(|| AppError::invalid(format!("the operation has no '{name}'")))
}

fn path_of(op: &Value, name: &str) -> AppResult<Vec<String>> {
    let text = member(op, name)?
        .as_str()
        .ok_or_else(|| AppError::invalid(format!("'{name}' must be a JSON Pointer string")))?;
    pointer::parse(text)
}

fn apply_one(doc: &mut Value, op: &Value) -> AppResult<()> {
    let kind = member(op, "op")?.as_str().unwrap_or("");
    let path = path_of(op, "path")?;
    match kind {
        "add" => add(doc, &path, member(op, "value")?.clone()),
        "remove" => remove(doc, &path).map(drop),
        "replace" => replace(doc, &path, member(op, "value")?.clone()),
        "move" => {
            let from = path_of(op, "from")?;
            if path.len() > from.len() && path.starts_with(&from) {
                return Err(unprocessable(format!(
                    "cannot move '{}' into itself",
                    pointer::render(&from)
                )));
            }
            let value = remove(doc, &from)?;
            add(doc, &path, value)
        }
        "copy" => {
            let from = path_of(op, "from")?;
            let value = get(doc, &from).cloned().ok_or_else(|| {
                unprocessable(format!("path '{}' does not exist", pointer::render(&from)))
            })?;
            add(doc, &path, value)
        }
        "test" => {
            let expected = member(op, "value")?;
            match get(doc, &path) {
                Some(actual) if json_equal(actual, expected) => Ok(()),
                Some(actual) => Err(unprocessable(format!(
                    "test failed: '{}' is {actual}, not {expected}",
                    pointer::render(&path)
                ))),
                None => Err(unprocessable(format!(
                    "test failed: '{}' does not exist",
                    pointer::render(&path)
                ))),
            }
        }
        other => Err(AppError::invalid(format!(
            "'{other}' is not a JSON Patch operation (add, remove, replace, move, copy, test)"
        ))),
    }
}

/// RFC 6902 equality: numbers by value, objects regardless of member order.
fn json_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || matches!((x.as_f64(), y.as_f64()), (Some(p), Some(q)) if p == q)
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_equal(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| json_equal(v, w)))
        }
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, ops: Value) -> AppResult<Value> {
        apply(&doc, &ops)
    }

    #[test]
    fn rfc_operations() {
        let doc = json!({"a": {"b/c": 1, "d~e": [1, 2]}});
        let out = run(
            doc,
            json!([
                {"op": "add", "path": "/a/d~0e/1", "value": 9},
                {"op": "add", "path": "/a/d~0e/-", "value": 3},
                {"op": "replace", "path": "/a/b~1c", "value": 2},
                {"op": "copy", "from": "/a/b~1c", "path": "/x"},
                {"op": "move", "from": "/x", "path": "/y"},
                {"op": "remove", "path": "/a/d~0e/0"},
                {"op": "test", "path": "/y", "value": 2.0}
            ]),
        )
        .unwrap();
        assert_eq!(out, json!({"a": {"b/c": 2, "d~e": [9, 2, 3]}, "y": 2}));
    }

    #[test]
    fn failures() {
        let doc = json!({"a": [1]});
        let test = run(
            doc.clone(),
            json!([{"op": "test", "path": "/a/0", "value": 2}]),
        );
        assert_eq!(test.unwrap_err().status(), 422);
        let missing = run(doc.clone(), json!([{"op": "remove", "path": "/b"}]));
        assert_eq!(missing.unwrap_err().status(), 422);
        let leading_zero = run(
            doc.clone(),
            json!([{"op": "replace", "path": "/a/00", "value": 1}]),
        );
        assert_eq!(leading_zero.unwrap_err().status(), 422);
        let bad = run(doc.clone(), json!([{"op": "frob", "path": "/a"}]));
        assert_eq!(bad.unwrap_err().status(), 400);
        let into_itself = run(doc, json!([{"op": "move", "from": "/a", "path": "/a/0"}]));
        assert_eq!(into_itself.unwrap_err().status(), 422);
    }
}
