//! Turning a client's request body into a resource fit to store: JSON parse, type and id
//! checks, structural validation, the fhirbolt model gate, and the server-owned `meta`.

use super::json::instant;
use super::outcome::{Issue, Severity};
use super::{model, validate};
use crate::error::{AppError, AppResult};
use serde_json::{Map, Value};

/// Parses a request body as JSON, answering 400 with the parser's position on failure.
pub fn parse_json(body: &[u8]) -> AppResult<Value> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(AppError::invalid(
            "the request body is empty; a FHIR JSON resource was expected",
        ));
    }
    serde_json::from_slice(body)
        .map_err(|e| AppError::invalid(format!("the request body is not valid JSON: {e}")))
}

/// What the URL says the body must be.
pub struct Expect<'a> {
    pub res_type: &'a str,
    /// The id from the URL (update); None for create, where a body id is ignored.
    pub id: Option<&'a str>,
}

/// Checks a parsed body against the URL and the FHIR R4 rules; returns it ready to stamp.
pub fn prepare(mut resource: Value, expect: &Expect<'_>) -> AppResult<Value> {
    let Some(object) = resource.as_object_mut() else {
        return Err(AppError::invalid(
            "the request body must be a JSON object (a FHIR resource)",
        ));
    };
    match object.get("resourceType").and_then(Value::as_str) {
        Some(t) if t == expect.res_type => {}
        Some(t) => {
            return Err(AppError::invalid_at(
                format!(
                    "resourceType '{t}' does not match the URL's type '{}'",
                    expect.res_type
                ),
                "resourceType",
            ))
        }
        None => {
            return Err(AppError::invalid_at(
                "the resource has no resourceType",
                "resourceType",
            ))
        }
    }
    let id_path = format!("{}.id", expect.res_type);
    match (expect.id, object.get("id")) {
        (Some(url_id), Some(Value::String(body_id))) if body_id == url_id => {}
        (Some(url_id), Some(body_id)) => {
            return Err(AppError::invalid_at(
                format!("the resource id {body_id} does not match the id '{url_id}' in the URL"),
                id_path,
            ))
        }
        (Some(_), None) => {
            return Err(AppError::invalid_at(
                "an update must carry the resource id in the body",
                id_path,
            ))
        }
        (None, _) => {
            object.remove("id");
        }
    }
    strip_server_meta(object);
    check(&resource)?;
    Ok(resource)
}

/// Structural validation then the fhirbolt model gate; 400 with every error found.
pub fn check(resource: &Value) -> AppResult<()> {
    let issues: Vec<Issue> = validate::validate_resource(resource)
        .into_iter()
        .filter(|i| matches!(i.severity, validate::Severity::Error))
        .map(|i| Issue::new(Severity::Error, i.code, i.message).at(i.expression))
        .collect();
    if !issues.is_empty() {
        return Err(AppError::BadRequest(issues));
    }
    model::check(resource).map_err(|message| {
        AppError::BadRequest(vec![Issue::error(
            "structure",
            format!("not a valid FHIR R4 resource: {message}"),
        )])
    })
}

/// Removes `meta.versionId` and `meta.lastUpdated`: the server owns them.
fn strip_server_meta(object: &mut Map<String, Value>) {
    let empty = match object.get_mut("meta").and_then(Value::as_object_mut) {
        Some(meta) => {
            meta.remove("versionId");
            meta.remove("lastUpdated");
            meta.is_empty()
        }
        None => false,
    };
    if empty {
        object.remove("meta");
    }
}

/// Sets id, `meta.versionId` and `meta.lastUpdated`, keeping `resourceType`, `id`, `meta` first.
pub fn stamp(resource: &mut Value, id: &str, version: i64, last_updated: i64) {
    let Some(object) = resource.as_object_mut() else {
        return;
    };
    let mut meta = match object.remove("meta") {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let mut new_meta = Map::new();
    new_meta.insert("versionId".into(), Value::String(version.to_string()));
    new_meta.insert("lastUpdated".into(), Value::String(instant(last_updated)));
    meta.remove("versionId");
    meta.remove("lastUpdated");
    new_meta.extend(meta);
    let rest = std::mem::take(object);
    let resource_type = rest.get("resourceType").cloned();
    if let Some(t) = resource_type {
        object.insert("resourceType".into(), t);
    }
    object.insert("id".into(), Value::String(id.to_string()));
    object.insert("meta".into(), Value::Object(new_meta));
    for (k, v) in rest {
        if k != "resourceType" && k != "id" {
            object.insert(k, v);
        }
    }
}

/// True for a valid FHIR id (1-64 of `A-Za-z0-9-.`).
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

/// A new server-assigned id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stamp_sets_meta_first() {
        let mut r = json!({"name": [{"family": "X"}], "resourceType": "Patient", "meta": {"tag": [{"code": "t"}], "versionId": "9"}});
        stamp(&mut r, "p1", 2, 0);
        let keys: Vec<&String> = r.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["resourceType", "id", "meta", "name"]);
        assert_eq!(r["meta"]["versionId"], "2");
        assert_eq!(r["meta"]["tag"][0]["code"], "t");
    }

    #[test]
    fn url_and_body_must_agree() {
        let body = json!({"resourceType": "Patient", "id": "a"});
        let err = prepare(
            body.clone(),
            &Expect {
                res_type: "Patient",
                id: Some("b"),
            },
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
        let err = prepare(
            body,
            &Expect {
                res_type: "Observation",
                id: None,
            },
        )
        .unwrap_err();
        assert_eq!(err.status(), 400);
    }

    #[test]
    fn ids() {
        assert!(is_valid_id("abc-1.2"));
        assert!(!is_valid_id("a b"));
        assert!(!is_valid_id(&"x".repeat(65)));
    }
}
