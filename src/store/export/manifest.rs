//! The Bulk Data completion manifest (`transactionTime`, `request`, `requiresAccessToken`,
//! `output`, `error`). Pure.

use crate::db::export_jobs::FileRow;
use crate::fhir::json::instant;
use serde_json::{json, Value};

/// The manifest of a finished export; `url` gives each file's download address.
pub fn build(
    transaction_time: i64,
    request: &str,
    requires_access_token: bool,
    files: &[FileRow],
    url: impl Fn(&FileRow) -> String,
) -> Value {
    let output: Vec<Value> = files
        .iter()
        .map(|f| json!({"type": f.res_type, "url": url(f), "count": f.resources}))
        .collect();
    json!({
        "transactionTime": instant(transaction_time),
        "request": request,
        "requiresAccessToken": requires_access_token,
        "output": output,
        "error": [],
    })
}
