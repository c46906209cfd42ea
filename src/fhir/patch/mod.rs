//! PATCH bodies applied to a resource, pure: JSON Patch (RFC 6902) and FHIRPath Patch
//! (http.html#patch, fhirpatch.html). The caller validates the result like an update.

mod fhirpath_patch;
mod json_patch;
mod pointer;

use crate::error::{AppError, AppResult};
use crate::fhir::outcome::Issue;
use base64::Engine;
use serde_json::Value;

/// A parsed PATCH body.
#[derive(Debug, Clone)]
pub enum Patch {
    /// RFC 6902 operations array (`application/json-patch+json`).
    Json(Value),
    /// A `Parameters` resource of `operation` parameters.
    FhirPath(Value),
}

/// Media type of JSON Patch bodies.
pub const JSON_PATCH: &str = "application/json-patch+json";

impl Patch {
    /// Reads a PATCH body given its media type (without parameters).
    pub fn from_body(media: &str, body: Value) -> AppResult<Patch> {
        match media {
            JSON_PATCH => Ok(Patch::Json(body)),
            "application/fhir+json" | "application/json" | "application/json+fhir" => {
                match body.get("resourceType").and_then(Value::as_str) {
                    Some("Parameters") => Ok(Patch::FhirPath(body)),
                    _ if body.is_array() => Ok(Patch::Json(body)),
                    _ => Err(AppError::invalid(
                        "a FHIRPath Patch body must be a Parameters resource",
                    )),
                }
            }
            other => Err(AppError::UnsupportedMediaType(format!(
                "PATCH with Content-Type {other} is not supported; send {JSON_PATCH} or application/fhir+json (Parameters)"
            ))),
        }
    }

    /// The patch carried by a transaction entry: a Binary holding base64 JSON Patch, or Parameters.
    pub fn from_entry_resource(resource: Value) -> AppResult<Patch> {
        match resource.get("resourceType").and_then(Value::as_str) {
            Some("Parameters") => Ok(Patch::FhirPath(resource)),
            Some("Binary") => {
                let data = resource.get("data").and_then(Value::as_str).unwrap_or("");
                let bytes = base64::engine::general_purpose::STANDARD
                    .decode(data.trim())
                    .map_err(|e| AppError::invalid(format!("Binary.data is not base64: {e}")))?;
                let body: Value = serde_json::from_slice(&bytes).map_err(|e| {
                    AppError::invalid(format!("Binary.data does not hold a JSON Patch: {e}"))
                })?;
                Ok(Patch::Json(body))
            }
            _ => Err(AppError::invalid(
                "a PATCH entry's resource must be a Binary (JSON Patch) or Parameters (FHIRPath Patch)",
            )),
        }
    }

    /// The patched copy of `resource`; 400 for a malformed patch, 422 when it cannot apply.
    pub fn apply(&self, resource: &Value) -> AppResult<Value> {
        match self {
            Patch::Json(ops) => json_patch::apply(resource, ops),
            Patch::FhirPath(params) => fhirpath_patch::apply(resource, params),
        }
    }
}

/// 422 with one issue: the patch is well-formed but does not apply to this resource.
fn unprocessable(message: impl Into<String>) -> AppError {
    AppError::Unprocessable(vec![Issue::error("processing", message)])
}
