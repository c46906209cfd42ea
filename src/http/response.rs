//! Response rendering: content type, `_format`/`_pretty`, version headers and `Prefer`.

use crate::db::rows::VersionRow;
use crate::error::{AppError, AppResult};
use crate::fhir::json::http_date;
use crate::fhir::outcome::{operation_outcome, Issue, Severity};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse};
use serde_json::Value;

pub const FHIR_JSON: &str = "application/fhir+json; charset=utf-8";

/// How the client wants bodies: pretty-printed or not.
#[derive(Debug, Clone, Copy, Default)]
pub struct Format {
    pub pretty: bool,
}

/// Reads `_format`, `_pretty` and `Accept`; refuses anything but JSON (406).
pub fn format_of(req: &HttpRequest) -> AppResult<Format> {
    let query = super::request::query_pairs(req);
    let mut format = Format::default();
    for (name, value) in &query {
        match name.as_str() {
            "_format" if !is_json_type(value) => {
                return Err(AppError::NotAcceptable(format!(
                    "_format={value} is not supported; chartroom speaks FHIR JSON (json, application/fhir+json)"
                )))
            }
            "_pretty" => format.pretty = value == "true",
            _ => {}
        }
    }
    if !query.iter().any(|(n, _)| n == "_format") {
        if let Some(accept) = req.headers().get("Accept").and_then(|v| v.to_str().ok()) {
            let acceptable = accept.split(',').any(|part| {
                let media = part.split(';').next().unwrap_or("").trim();
                media.is_empty()
                    || media == "*/*"
                    || media == "application/*"
                    || is_json_type(media)
            });
            if !acceptable {
                return Err(AppError::NotAcceptable(format!(
                    "Accept: {accept} cannot be served; chartroom answers application/fhir+json"
                )));
            }
        }
    }
    Ok(format)
}

fn is_json_type(value: &str) -> bool {
    let media = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    matches!(
        media.as_str(),
        "json" | "application/json" | "application/fhir+json" | "application/json+fhir"
    )
}

/// Serializes a JSON value as a FHIR response body.
pub fn json_body(value: &Value, format: Format) -> String {
    if format.pretty {
        serde_json::to_string_pretty(value).unwrap_or_default()
    } else {
        value.to_string()
    }
}

/// Stored JSON text as a response body (re-rendered only when pretty output is asked for).
pub fn stored_body(text: &str, format: Format) -> String {
    if format.pretty {
        if let Ok(value) = serde_json::from_str::<Value>(text) {
            return json_body(&value, format);
        }
    }
    text.to_string()
}

/// A FHIR JSON response with a status.
pub fn fhir(status: StatusCode, value: &Value, format: Format) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .body(json_body(value, format))
}

/// `W/"n"`
pub fn etag(version: i64) -> String {
    format!("W/\"{version}\"")
}

/// The response for one stored version: body plus ETag and Last-Modified.
pub fn version_response(status: StatusCode, row: &VersionRow, format: Format) -> HttpResponse {
    HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .insert_header(("ETag", etag(row.version)))
        .insert_header(("Last-Modified", http_date(row.last_updated)))
        .body(
            row.content
                .as_deref()
                .map(|c| stored_body(c, format))
                .unwrap_or_default(),
        )
}

/// What `Prefer: return=` asks a write to answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReturnPref {
    Minimal,
    Representation,
    OperationOutcome,
}

pub fn return_pref(req: &HttpRequest) -> ReturnPref {
    let prefer = req
        .headers()
        .get_all("Prefer")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .map(|p| p.trim().to_string())
        .find_map(|p| p.strip_prefix("return=").map(str::to_string));
    match prefer.as_deref() {
        Some("minimal") => ReturnPref::Minimal,
        Some("OperationOutcome") => ReturnPref::OperationOutcome,
        _ => ReturnPref::Representation,
    }
}

/// The body of a successful write, as `Prefer` asks (`warnings` join the OperationOutcome).
pub fn write_body(
    pref: ReturnPref,
    content: Option<&str>,
    message: &str,
    warnings: &[Issue],
    format: Format,
) -> Option<String> {
    match pref {
        ReturnPref::Minimal => None,
        ReturnPref::Representation => content.map(|c| stored_body(c, format)),
        ReturnPref::OperationOutcome => {
            let mut issues = vec![Issue::new(Severity::Information, "informational", message)];
            issues.extend(warnings.iter().cloned());
            Some(json_body(&operation_outcome(&issues), format))
        }
    }
}
