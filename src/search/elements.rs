//! `_summary` and `_elements`: the subset of a resource a client asked for, tagged
//! SUBSETTED as the spec requires.

use super::parse::Summary;
use once_cell::sync::Lazy;
use serde_json::{json, Map, Value};
use std::collections::HashMap;

/// Top-level `isSummary` elements per resource type, from the official StructureDefinitions.
static SUMMARY: Lazy<HashMap<String, Vec<String>>> = Lazy::new(|| {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/data/fhir/summary-elements.json"
    )))
    .unwrap_or_default()
});

const ALWAYS: &[&str] = &["resourceType", "id", "meta"];

/// Decides whether a top-level element stays.
type KeepElement = Box<dyn Fn(&str) -> bool>;

/// True when an element `key` (JSON name, `valueQuantity` etc.) is one of `names`.
fn named(key: &str, names: &[String]) -> bool {
    let key = key.trim_start_matches('_');
    names.iter().any(|n| {
        key == n
            || (key.starts_with(n.as_str())
                && key[n.len()..].starts_with(|c: char| c.is_ascii_uppercase()))
    })
}

/// Applies `_summary`/`_elements` to a resource.
pub fn subset(resource: Value, summary: Summary, elements: &[String]) -> Value {
    let Value::Object(map) = resource else {
        return resource;
    };
    let res_type = map
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let keep: Option<KeepElement> = match summary {
        Summary::True => {
            let names = SUMMARY.get(&res_type).cloned().unwrap_or_default();
            Some(Box::new(move |k: &str| named(k, &names)))
        }
        Summary::Text => Some(Box::new(|k: &str| k == "text")),
        Summary::Data => Some(Box::new(|k: &str| k != "text")),
        _ if !elements.is_empty() => {
            let names = elements.to_vec();
            Some(Box::new(move |k: &str| named(k, &names)))
        }
        _ => None,
    };
    let Some(keep) = keep else {
        return Value::Object(map);
    };
    let mut out = Map::new();
    for (key, value) in map {
        if ALWAYS.contains(&key.as_str()) || keep(&key) {
            out.insert(key, value);
        }
    }
    tag_subsetted(&mut out);
    Value::Object(out)
}

fn tag_subsetted(map: &mut Map<String, Value>) {
    let meta = map.entry("meta").or_insert_with(|| json!({}));
    if let Some(meta) = meta.as_object_mut() {
        let tags = meta.entry("tag").or_insert_with(|| json!([]));
        if let Some(tags) = tags.as_array_mut() {
            tags.push(json!({"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationValue", "code": "SUBSETTED"}));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_keeps_summary_elements() {
        let patient = json!({"resourceType": "Patient", "id": "1", "name": [{"family": "X"}], "photo": [{"url": "http://x"}], "text": {"status": "generated", "div": "<div/>"}});
        let out = subset(patient.clone(), Summary::True, &[]);
        assert!(out.get("name").is_some());
        assert!(out.get("photo").is_none());
        assert!(out.get("text").is_none());
        assert_eq!(out["meta"]["tag"][0]["code"], "SUBSETTED");
        let out = subset(patient, Summary::False, &["photo".into()]);
        assert!(out.get("photo").is_some() && out.get("name").is_none());
    }
}
