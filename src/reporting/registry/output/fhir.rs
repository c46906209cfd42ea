//! FHIR outputs: a `collection` Bundle written entry by entry, and NDJSON.

use super::super::record::Record;
use crate::fhir::json::{instant, now_ms};
use serde_json::{json, Value};
use std::io::{Result, Write};

pub fn bundle_begin(out: &mut dyn Write) -> Result<()> {
    write!(
        out,
        "{{\"resourceType\":\"Bundle\",\"type\":\"collection\",\"timestamp\":{}",
        json!(instant(now_ms()))
    )
}

fn entry(resource: &Value, base_url: Option<&str>) -> Value {
    let mut entry = json!({});
    if let (Some(base), Some(t), Some(id)) = (
        base_url,
        resource.get("resourceType").and_then(Value::as_str),
        resource.get("id").and_then(Value::as_str),
    ) {
        entry["fullUrl"] = json!(format!("{base}/{t}/{id}"));
    }
    entry["resource"] = resource.clone();
    entry
}

pub fn bundle_entries(
    out: &mut dyn Write,
    record: &Record,
    base_url: Option<&str>,
    first: bool,
) -> Result<()> {
    // FHIR forbids an empty array, so `entry` opens with the first record
    if first {
        out.write_all(b",\"entry\":[")?;
    }
    for (i, resource) in record.resources().enumerate() {
        if !(first && i == 0) {
            out.write_all(b",")?;
        }
        serde_json::to_writer(&mut *out, &entry(resource, base_url))?;
    }
    Ok(())
}

pub fn bundle_end(out: &mut dyn Write, any: bool) -> Result<()> {
    out.write_all(if any { b"]}" } else { b"}" })
}

pub fn ndjson(out: &mut dyn Write, record: &Record) -> Result<()> {
    for resource in record.resources() {
        serde_json::to_writer(&mut *out, resource)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}
