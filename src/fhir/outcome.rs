//! OperationOutcome: the one shape every error and warning takes on the wire.

use serde_json::{json, Value};

/// Issue severity (FHIR `IssueSeverity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Fatal => "fatal",
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Information => "information",
        }
    }
}

/// One OperationOutcome issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub severity: Severity,
    /// FHIR `IssueType` code (`invalid`, `structure`, `not-found`, ...).
    pub code: String,
    pub diagnostics: String,
    /// FHIRPath locations of the offending element(s).
    pub expression: Vec<String>,
    /// Optional coded detail (`details.coding`), e.g. a coding-audit edit id.
    pub details: Option<(String, String)>,
    /// Optional `details.text`.
    pub details_text: Option<String>,
}

impl Issue {
    pub fn new(severity: Severity, code: &str, diagnostics: impl Into<String>) -> Issue {
        Issue {
            severity,
            code: code.to_string(),
            diagnostics: diagnostics.into(),
            expression: Vec::new(),
            details: None,
            details_text: None,
        }
    }

    pub fn error(code: &str, diagnostics: impl Into<String>) -> Issue {
        Issue::new(Severity::Error, code, diagnostics)
    }

    pub fn at(mut self, expression: impl Into<String>) -> Issue {
        self.expression.push(expression.into());
        self
    }

    fn to_json(&self) -> Value {
        let mut issue = json!({
            "severity": self.severity.as_str(),
            "code": self.code,
            "diagnostics": self.diagnostics,
        });
        if self.details.is_some() || self.details_text.is_some() {
            let mut details = json!({});
            if let Some((system, code)) = &self.details {
                details["coding"] = json!([{ "system": system, "code": code }]);
            }
            if let Some(text) = &self.details_text {
                details["text"] = json!(text);
            }
            issue["details"] = details;
        }
        if !self.expression.is_empty() {
            issue["expression"] = json!(self.expression);
        }
        issue
    }
}

/// Builds an OperationOutcome resource from issues (an empty list yields one informational issue).
pub fn operation_outcome(issues: &[Issue]) -> Value {
    let issues: Vec<Value> = if issues.is_empty() {
        vec![Issue::new(Severity::Information, "informational", "All OK").to_json()]
    } else {
        issues.iter().map(Issue::to_json).collect()
    };
    json!({ "resourceType": "OperationOutcome", "issue": issues })
}
