//! The searchset Bundle: self and next links, matches then includes.

use super::elements::subset;
use super::parse::SearchRequest;
use super::run::SearchResult;
use crate::db::rows::VersionRow;
use crate::fhir::bundle::BundleBuilder;
use serde_json::{json, Value};

/// Builds the Bundle; `self_base` is the search URL without its query.
pub fn searchset(req: &SearchRequest, result: &SearchResult, base: &str, self_base: &str) -> Value {
    let mut bundle = BundleBuilder::new("searchset");
    if let Some(total) = result.total {
        bundle.total(total);
    }
    let encode = |pairs: &[(String, String)]| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
    };
    let self_query = encode(&req.applied);
    bundle.link(
        "self",
        if self_query.is_empty() {
            self_base.to_string()
        } else {
            format!("{self_base}?{self_query}")
        },
    );
    if let Some(cursor) = &result.next_cursor {
        let mut pairs = req.applied.clone();
        if !pairs.iter().any(|(k, _)| k == "_count") {
            pairs.push(("_count".into(), req.count.to_string()));
        }
        pairs.push(("_cursor".into(), cursor.clone()));
        bundle.link("next", format!("{self_base}?{}", encode(&pairs)));
    }
    for row in &result.matches {
        if let Some(entry) = entry(row, base, "match", req) {
            bundle.entry(entry);
        }
    }
    for row in &result.included {
        if let Some(entry) = entry(row, base, "include", req) {
            bundle.entry(entry);
        }
    }
    if !req.ignored.is_empty() {
        bundle.entry(json!({
            "resource": crate::fhir::outcome::operation_outcome(&[crate::fhir::outcome::Issue::new(
                crate::fhir::outcome::Severity::Warning,
                "not-supported",
                format!("ignored unknown or unsupported search parameters: {}", req.ignored.join(", ")),
            )]),
            "search": { "mode": "outcome" }
        }));
    }
    bundle.build()
}

fn entry(row: &VersionRow, base: &str, mode: &str, req: &SearchRequest) -> Option<Value> {
    let resource: Value = serde_json::from_str(row.content.as_deref()?).ok()?;
    let resource = if mode == "match" {
        subset(resource, req.summary, &req.elements)
    } else {
        resource
    };
    Some(json!({
        "fullUrl": format!("{base}/{}/{}", row.res_type, row.res_id),
        "resource": resource,
        "search": { "mode": mode }
    }))
}
