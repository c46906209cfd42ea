//! Validation on write of ICD-10-CM/PCS codes (setting `coding_validation`): every coding
//! whose system is ICD-10-CM or ICD-10-PCS in a Condition, Procedure, Encounter, Claim or
//! ExplanationOfBenefit is checked for the code set in force on the resource's date.
//! `strict` refuses unknown or out-of-date codes (422); `warn` stores them and reports; a
//! header code, a missing 7th character or a wrong display is always a warning.

use chrono::NaiveDate;
use serde_json::Value;

use super::ops::{verdict, CodeSystem};
use super::shared::terminology;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{date_part, str_at};
use crate::fhir::outcome::{Issue, Severity};

/// System of the `details.coding` of coding issues (the coding-audit edit ids).
pub const EDIT_SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/coding-edit";

/// The `coding_validation` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodingValidation {
    /// No checks.
    Off,
    /// Store, and report problems as warnings.
    Warn,
    /// Refuse unknown codes with 422.
    Strict,
}

impl CodingValidation {
    /// From the setting's text (`off`, `warn`, `strict`; anything else is `warn`).
    pub fn from_setting(value: &str) -> CodingValidation {
        match value {
            "off" => CodingValidation::Off,
            "strict" => CodingValidation::Strict,
            _ => CodingValidation::Warn,
        }
    }
}

const CHECKED: &[&str] = &[
    "Condition",
    "Procedure",
    "Encounter",
    "Claim",
    "ExplanationOfBenefit",
];

/// Checks the ICD-10 codings of `resource`; the warnings to report, or 422 in strict mode
/// when a code is unknown or not valid on the resource's date.
pub fn check(mode: CodingValidation, res_type: &str, resource: &Value) -> AppResult<Vec<Issue>> {
    if mode == CodingValidation::Off || !CHECKED.contains(&res_type) {
        return Ok(Vec::new());
    }
    let mut found = Vec::new();
    collect(resource, res_type.to_string(), &mut found);
    if found.is_empty() {
        return Ok(Vec::new());
    }
    let _span = tracing::info_span!(
        "coding.validate",
        resource_type = res_type,
        codings = found.len()
    )
    .entered();
    let terms = terminology()?;
    let date = resource_date(res_type, resource).unwrap_or_else(|| chrono::Utc::now().date_naive());
    let mut issues = Vec::new();
    let mut refused = false;
    for (path, system, coding) in found {
        let code = str_at(coding, &["code"]).unwrap_or_default();
        let display = str_at(coding, &["display"]);
        let v = verdict(&terms, system, &code, display.as_deref(), date);
        let Some(message) = v.message else {
            continue;
        };
        let blocking = !v.result && !v.wrong_display;
        let severity = if blocking && mode == CodingValidation::Strict {
            refused = true;
            Severity::Error
        } else {
            Severity::Warning
        };
        let mut issue = Issue::new(severity, "code-invalid", message).at(format!("{path}.code"));
        issue.details_text = Some(code.trim().to_string());
        if let Some(edit) = v.edit {
            issue.details = Some((EDIT_SYSTEM.to_string(), edit.to_string()));
        }
        issues.push(issue);
    }
    if refused {
        issues.sort_by_key(|i| i.severity != Severity::Error);
        return Err(AppError::Unprocessable(issues));
    }
    Ok(issues)
}

/// Every object with an ICD-10 `system` and a `code`, with its FHIRPath location.
fn collect<'a>(value: &'a Value, path: String, out: &mut Vec<(String, CodeSystem, &'a Value)>) {
    match value {
        Value::Object(map) => {
            let system = map
                .get("system")
                .and_then(Value::as_str)
                .and_then(CodeSystem::of);
            if let (Some(system), Some(Value::String(_))) = (system, map.get("code")) {
                out.push((path.clone(), system, value));
            }
            for (key, child) in map {
                if matches!(key.as_str(), "meta" | "text") {
                    continue;
                }
                if child.is_object() || child.is_array() {
                    collect(child, format!("{path}.{key}"), out);
                }
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                collect(item, format!("{path}[{i}]"), out);
            }
        }
        _ => {}
    }
}

/// The day the codes must be valid on: Encounter period end (else start), Condition
/// recordedDate (else onset), Procedure performed, Claim billable period end (else created).
fn resource_date(res_type: &str, r: &Value) -> Option<NaiveDate> {
    let paths: &[&[&str]] = match res_type {
        "Encounter" => &[&["period", "end"], &["period", "start"]],
        "Condition" => &[
            &["recordedDate"],
            &["onsetDateTime"],
            &["onsetPeriod", "start"],
        ],
        "Procedure" => &[
            &["performedDateTime"],
            &["performedPeriod", "end"],
            &["performedPeriod", "start"],
        ],
        _ => &[
            &["billablePeriod", "end"],
            &["billablePeriod", "start"],
            &["created"],
        ],
    };
    paths
        .iter()
        .filter_map(|p| str_at(r, p))
        .find_map(|text| date_part(&text))
        .and_then(|d| NaiveDate::parse_from_str(&d, "%Y-%m-%d").ok())
}
