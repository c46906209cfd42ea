//! Transaction and batch Bundles as protocol (bundle.html, http.html#transaction): reading
//! each entry's request, locating errors at `Bundle.entry[i]`, and rendering the
//! per-entry `response` of the reply Bundle. Pure; the store executes the entries.

use super::json::instant;
use super::validate::is_resource_type;
use crate::error::{AppError, AppResult};
use crate::fhir::outcome::Issue;
use serde_json::{json, Map, Value};

/// Bundle types the server processes on `POST [base]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleKind {
    Transaction,
    Batch,
}

/// The HTTP verb of an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    /// Processing order inside a transaction: DELETE, POST, PUT/PATCH, GET.
    pub fn order(self) -> u8 {
        match self {
            Method::Delete => 0,
            Method::Post => 1,
            Method::Put | Method::Patch => 2,
            Method::Get => 3,
        }
    }
}

/// One entry's request, read from `Bundle.entry[index]`.
#[derive(Debug, Clone)]
pub struct EntryRequest {
    pub index: usize,
    pub method: Method,
    pub full_url: Option<String>,
    pub res_type: String,
    pub id: Option<String>,
    /// `_history/[vid]` of a GET.
    pub version: Option<i64>,
    /// Search criteria of a conditional PUT/PATCH/DELETE (the URL's query).
    pub criteria: Option<String>,
    pub resource: Option<Value>,
    pub if_none_exist: Option<String>,
    pub if_match: Option<i64>,
}

/// `Bundle.type` of a Bundle posted to the base URL.
pub fn bundle_kind(bundle: &Value) -> AppResult<BundleKind> {
    if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
        return Err(AppError::invalid_at(
            "POST to the base URL takes a Bundle of type transaction or batch",
            "resourceType",
        ));
    }
    match bundle.get("type").and_then(Value::as_str) {
        Some("transaction") => Ok(BundleKind::Transaction),
        Some("batch") => Ok(BundleKind::Batch),
        other => Err(AppError::invalid_at(
            format!(
                "Bundle.type {} cannot be processed; send transaction or batch",
                other.unwrap_or("(missing)")
            ),
            "Bundle.type",
        )),
    }
}

/// Reads every entry; each result stands alone so a batch can answer per entry.
pub fn entries(bundle: Value, base: &str) -> Vec<AppResult<EntryRequest>> {
    let Value::Object(mut bundle) = bundle else {
        return Vec::new();
    };
    let Some(Value::Array(entries)) = bundle.remove("entry") else {
        return Vec::new();
    };
    entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| entry_request(i, entry, base).map_err(|e| at_entry(e, i)))
        .collect()
}

fn entry_request(index: usize, entry: Value, base: &str) -> AppResult<EntryRequest> {
    let Value::Object(mut entry) = entry else {
        return Err(AppError::invalid("the entry is not an object"));
    };
    let request = entry.remove("request").unwrap_or(Value::Null);
    let text = |name: &str| {
        request
            .get(name)
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let method = match text("method").as_deref() {
        Some("GET") | Some("HEAD") => Method::Get,
        Some("POST") => Method::Post,
        Some("PUT") => Method::Put,
        Some("PATCH") => Method::Patch,
        Some("DELETE") => Method::Delete,
        other => {
            return Err(AppError::invalid(format!(
                "request.method {} is not one of GET, POST, PUT, PATCH, DELETE",
                other.unwrap_or("(missing)")
            )))
        }
    };
    let url = text("url").ok_or_else(|| AppError::invalid("the entry has no request.url"))?;
    let relative = url
        .strip_prefix(base)
        .unwrap_or(&url)
        .trim_start_matches('/');
    let (path, query) = match relative.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string())),
        None => (relative, None),
    };
    let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let (res_type, id, version) = match segments.as_slice() {
        [t] => (*t, None, None),
        [t, id] => (*t, Some(id.to_string()), None),
        [t, id, "_history", v] if method == Method::Get => {
            let v = v
                .parse()
                .map_err(|_| AppError::invalid(format!("'{v}' is not a version number")))?;
            (*t, Some(id.to_string()), Some(v))
        }
        _ => {
            return Err(AppError::invalid(format!(
                "request.url '{url}' is not supported in a Bundle entry"
            )))
        }
    };
    if !is_resource_type(res_type) {
        return Err(AppError::NotFound(format!(
            "'{res_type}' is not a FHIR R4 resource type"
        )));
    }
    let resource = entry.remove("resource");
    let needs_body = matches!(method, Method::Post | Method::Put | Method::Patch);
    if needs_body && resource.is_none() {
        return Err(AppError::invalid("the entry has no resource"));
    }
    let criteria = match (method, &id, query) {
        (Method::Post, _, _) => None,
        (Method::Get, None, _) => {
            return Err(AppError::invalid(
                "search entries are not supported in Bundles yet; use read or vread",
            ))
        }
        (_, None, None) => {
            return Err(AppError::invalid(format!(
                "request.url '{url}' needs an id or search criteria"
            )))
        }
        (_, None, Some(q)) => Some(q),
        _ => None,
    };
    let if_match = match text("ifMatch") {
        None => None,
        Some(tag) => Some(
            tag.trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .map_err(|_| AppError::invalid(format!("ifMatch '{tag}' is not a version ETag")))?,
        ),
    };
    Ok(EntryRequest {
        index,
        method,
        full_url: entry
            .get("fullUrl")
            .and_then(Value::as_str)
            .map(str::to_string),
        res_type: res_type.to_string(),
        id,
        version,
        criteria,
        resource,
        if_none_exist: text("ifNoneExist").filter(|c| !c.is_empty()),
        if_match,
    })
}

/// Names the entry in an error: `Bundle.entry[i]` first in each issue's expression and
/// at the start of its text; the status is kept.
pub fn at_entry(err: AppError, index: usize) -> AppError {
    let place = format!("Bundle.entry[{index}]");
    let locate = |issues: Vec<Issue>| {
        issues
            .into_iter()
            .map(|mut issue| {
                issue.diagnostics = format!("{place}: {}", issue.diagnostics);
                issue.expression.insert(0, place.clone());
                issue
            })
            .collect()
    };
    let text = |m: String| format!("{place}: {m}");
    match err {
        AppError::BadRequest(issues) => AppError::BadRequest(locate(issues)),
        AppError::Unprocessable(issues) => AppError::Unprocessable(locate(issues)),
        AppError::NotFound(m) => AppError::NotFound(text(m)),
        AppError::Gone(m) => AppError::Gone(text(m)),
        AppError::Conflict(m) => AppError::Conflict(text(m)),
        AppError::PreconditionFailed(m) => AppError::PreconditionFailed(text(m)),
        AppError::MethodNotAllowed(m) => AppError::MethodNotAllowed(text(m)),
        AppError::UnsupportedMediaType(m) => AppError::UnsupportedMediaType(text(m)),
        other => other,
    }
}

/// What one entry's `response` says.
#[derive(Debug, Clone, Default)]
pub struct EntryResponse {
    pub status: u16,
    /// `Type/id/_history/v`, relative to the base.
    pub location: Option<String>,
    pub version: Option<i64>,
    pub last_modified: Option<i64>,
    pub resource: Option<Value>,
    pub outcome: Option<Value>,
    /// `Type/id` of the resource the entry is about.
    pub target: Option<String>,
}

impl EntryResponse {
    /// The entry of a `transaction-response` / `batch-response` Bundle.
    pub fn to_entry(&self, base: &str) -> Value {
        let mut response = Map::new();
        response.insert("status".into(), json!(status_line(self.status)));
        if let Some(location) = &self.location {
            response.insert("location".into(), json!(location));
        }
        if let Some(v) = self.version {
            response.insert("etag".into(), json!(format!("W/\"{v}\"")));
        }
        if let Some(ms) = self.last_modified {
            response.insert("lastModified".into(), json!(instant(ms)));
        }
        if let Some(outcome) = &self.outcome {
            response.insert("outcome".into(), outcome.clone());
        }
        let mut entry = Map::new();
        if let Some(target) = &self.target {
            entry.insert("fullUrl".into(), json!(format!("{base}/{target}")));
        }
        if let Some(resource) = &self.resource {
            entry.insert("resource".into(), resource.clone());
        }
        entry.insert("response".into(), Value::Object(response));
        Value::Object(entry)
    }
}

/// `201 Created`, `412 Precondition Failed`, ...
pub fn status_line(status: u16) -> String {
    let reason = match status {
        200 => "OK",
        201 => "Created",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        412 => "Precondition Failed",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        503 => "Service Unavailable",
        _ => "Internal Server Error",
    };
    format!("{status} {reason}")
}
