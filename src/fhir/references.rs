//! Finding and rewriting `Reference.reference` strings anywhere in a resource (nested
//! elements, extensions, contained resources), for transaction Bundles.

use serde_json::Value;

/// Replaces every `reference` string inside an object for which `map` gives a new value.
pub fn rewrite(value: &mut Value, map: &dyn Fn(&str) -> Option<String>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object.iter_mut() {
                if key == "reference" {
                    if let Value::String(text) = child {
                        if let Some(new) = map(text) {
                            *text = new;
                        }
                        continue;
                    }
                }
                rewrite(child, map);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| rewrite(item, map)),
        _ => {}
    }
}

/// Every `reference` string in `value`, in document order.
pub fn collect<'a>(value: &'a Value, out: &mut Vec<&'a str>) {
    match value {
        Value::Object(object) => {
            for (key, child) in object {
                match (key.as_str(), child) {
                    ("reference", Value::String(text)) => out.push(text),
                    _ => collect(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect(item, out)),
        _ => {}
    }
}

/// A conditional reference `Type?criteria` split into type and query.
pub fn conditional(reference: &str) -> Option<(&str, &str)> {
    let (res_type, query) = reference.split_once('?')?;
    let plain = !res_type.is_empty()
        && res_type.chars().all(|c| c.is_ascii_alphanumeric())
        && res_type.starts_with(|c: char| c.is_ascii_uppercase());
    plain.then_some((res_type, query))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_at_any_depth() {
        let mut r = json!({"resourceType": "Encounter",
            "extension": [{"url": "x", "valueReference": {"reference": "urn:uuid:1"}}],
            "contained": [{"resourceType": "Condition", "subject": {"reference": "urn:uuid:1"}}],
            "diagnosis": [{"condition": {"reference": "urn:uuid:2"}}],
            "note": [{"text": "urn:uuid:1"}]});
        rewrite(&mut r, &|s| {
            (s == "urn:uuid:1").then(|| "Patient/a".to_string())
        });
        let mut refs = Vec::new();
        collect(&r, &mut refs);
        assert_eq!(refs, vec!["Patient/a", "Patient/a", "urn:uuid:2"]);
        assert_eq!(r["note"][0]["text"], "urn:uuid:1");
        assert_eq!(
            conditional("Patient?identifier=a|b"),
            Some(("Patient", "identifier=a|b"))
        );
        assert_eq!(conditional("http://x/y?z"), None);
    }
}
