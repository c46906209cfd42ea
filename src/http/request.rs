//! Request helpers: query pairs, base URL, conditional headers, body reading, blocking calls.

use crate::error::{AppError, AppResult};
use actix_web::{web, HttpRequest};
use futures_util::StreamExt;

/// Query parameters in order, percent-decoded (`+` as space).
pub fn query_pairs(req: &HttpRequest) -> Vec<(String, String)> {
    url::form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect()
}

/// The FHIR base URL for links: configured, or derived from the request.
pub fn base_url(req: &HttpRequest, configured: Option<&str>) -> String {
    if let Some(base) = configured {
        return base.to_string();
    }
    let info = req.connection_info();
    format!("{}://{}/fhir", info.scheme(), info.host())
}

/// The version named by a weak or strong ETag (`W/"3"`, `"3"`, `3`).
pub fn etag_version(value: &str) -> Option<i64> {
    value
        .trim()
        .trim_start_matches("W/")
        .trim_matches('"')
        .parse()
        .ok()
}

/// The `If-Match` version, if the header is present (400 when it is unreadable).
pub fn if_match(req: &HttpRequest) -> AppResult<Option<i64>> {
    match req.headers().get("If-Match").and_then(|v| v.to_str().ok()) {
        None => Ok(None),
        Some(v) => etag_version(v).map(Some).ok_or_else(|| {
            AppError::invalid(format!("If-Match '{v}' is not a version ETag like W/\"3\""))
        }),
    }
}

pub fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers().get(name).and_then(|v| v.to_str().ok())
}

/// Refuses request bodies that are not FHIR JSON (415).
pub fn require_json_body(req: &HttpRequest) -> AppResult<()> {
    let Some(content_type) = header(req, "Content-Type") else {
        return Ok(());
    };
    let media = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if matches!(
        media.as_str(),
        "application/fhir+json" | "application/json" | "application/json+fhir" | ""
    ) {
        Ok(())
    } else {
        Err(AppError::UnsupportedMediaType(format!(
            "Content-Type {content_type} is not supported; send application/fhir+json"
        )))
    }
}

/// Reads the whole body, refusing more than `limit` bytes (413).
pub async fn read_body(mut payload: web::Payload, limit: usize) -> AppResult<web::BytesMut> {
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|e| AppError::invalid(format!("could not read the request body: {e}")))?;
        if body.len() + chunk.len() > limit {
            return Err(AppError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Runs blocking (database) work on actix's blocking pool, inside the request's span (so
/// database spans are its children).
pub async fn blocking<T, F>(work: F) -> AppResult<T>
where
    F: FnOnce() -> AppResult<T> + Send + 'static,
    T: Send + 'static,
{
    let span = tracing::Span::current();
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    web::block(move || tracing::dispatcher::with_default(&dispatch, || span.in_scope(work)))
        .await
        .map_err(|e| AppError::internal(format!("blocking task failed: {e}")))?
}

/// The body of a create or update: a JSON media type, within the size limit, parsed.
pub async fn resource_body(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
) -> AppResult<serde_json::Value> {
    require_json_body(req)?;
    let body = read_body(payload, limit).await?;
    crate::fhir::resource::parse_json(&body)
}
