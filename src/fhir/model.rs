//! The fhirbolt (R4 model) gate. Every fhirbolt call lives here so its large generic code
//! is compiled in one place only.

use serde_json::Value;

/// Parses `resource` into fhirbolt's typed R4 model (strict mode: unknown elements,
/// wrong JSON types and missing required elements fail). Returns the parser's message.
pub fn check(resource: &Value) -> Result<(), String> {
    let owned = resource.clone();
    // fhirbolt 0.4 can panic on some malformed input (e.g. empty arrays); our own validator
    // rejects those first, and this guard keeps any other case from reaching the client.
    let outcome = std::panic::catch_unwind(move || {
        fhirbolt::json::from_json_value::<fhirbolt::model::r4::Resource>(owned, None)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    match outcome {
        Ok(result) => result,
        Err(_) => Err("the resource could not be parsed as FHIR R4".into()),
    }
}
