//! The body of a `POST` kick-off: a FHIR `Parameters` resource → the same name/value pairs
//! a `GET` kick-off has in its query, checking each value's type as the Bulk Data IG gives
//! it. Pure.

use crate::error::{AppError, AppResult};
use crate::fhir::parameters;
use serde_json::Value;

/// The `value[x]` types each kick-off parameter may use (others take any primitive).
fn types_of(name: &str) -> Option<&'static [&'static str]> {
    Some(match name {
        "_outputFormat" | "_type" | "_typeFilter" | "_elements" => &["valueString"],
        "_since" => &["valueInstant"],
        "patient" => &["valueReference"],
        "includeAssociatedData" => &["valueCode", "valueString"],
        _ => return None,
    })
}

/// The kick-off parameters of a `Parameters` body, in order (repeats kept).
pub fn pairs(body: &Value) -> AppResult<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    for entry in parameters::entries(body, "a POST $export")? {
        let name = entry
            .name
            .ok_or_else(|| AppError::invalid("a Parameters parameter has no name"))?;
        let [(key, value)] = entry.values.as_slice() else {
            return Err(AppError::invalid(format!(
                "parameter '{name}' needs exactly one value[x]"
            )));
        };
        if let Some(allowed) = types_of(name) {
            if !allowed.contains(key) {
                return Err(AppError::invalid(format!(
                    "parameter '{name}' takes {}, not {key}",
                    allowed.join(" or ")
                )));
            }
        }
        let text = match *key {
            "valueReference" => value
                .get("reference")
                .and_then(Value::as_str)
                .map(str::to_string),
            _ => parameters::primitive_text(value),
        };
        let text = text.ok_or_else(|| {
            AppError::invalid(format!("parameter '{name}': {key} has no usable value"))
        })?;
        pairs.push((name.to_string(), text));
    }
    Ok(pairs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_become_pairs_and_wrong_types_are_refused() {
        let body = json!({"resourceType": "Parameters", "parameter": [
            {"name": "_type", "valueString": "Patient,Condition"},
            {"name": "_since", "valueInstant": "2026-01-01T00:00:00Z"},
            {"name": "patient", "valueReference": {"reference": "Patient/p1"}},
            {"name": "patient", "valueReference": {"reference": "Patient/p2"}},
            {"name": "includeAssociatedData", "valueCode": "LatestProvenanceResources"}
        ]});
        let got = pairs(&body).unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[2], ("patient".to_string(), "Patient/p1".to_string()));
        for bad in [
            json!({"resourceType": "Bundle"}),
            json!({"resourceType": "Parameters", "parameter": [{"name": "patient", "valueString": "Patient/1"}]}),
            json!({"resourceType": "Parameters", "parameter": [{"name": "_type"}]}),
            json!({"resourceType": "Parameters", "parameter": [{"valueString": "x"}]}),
        ] {
            assert!(pairs(&bad).is_err(), "{bad}");
        }
    }
}
