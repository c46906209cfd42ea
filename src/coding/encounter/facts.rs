//! What the audit needs to know about an encounter, whatever its source, and the
//! OperationOutcome rendering of the findings.

use chrono::{Datelike, NaiveDate};
use serde_json::Value;

use crate::coding::on_write::EDIT_SYSTEM;
use crate::coding::{
    AuditDx, AuditInput, AuditPx, Finding, Severity, Sex, ICD10CM_SYSTEM, ICD10PCS_SYSTEM,
};
use crate::error::{AppError, AppResult};
use crate::fhir::outcome::{self, operation_outcome, Issue};

/// One `Encounter.diagnosis` entry with the code of the Condition it references.
#[derive(Debug, Clone, Default)]
pub struct DxFact {
    /// Where the diagnosis is (FHIRPath, e.g. `Encounter.diagnosis[0]`), echoed in findings.
    pub expression: String,
    /// `rank` (1 = principal).
    pub rank: Option<i64>,
    /// Present-on-admission indicator.
    pub poa: Option<String>,
    /// (system, code) of the referenced Condition's code, when found.
    pub coding: Option<(String, String)>,
}

/// One Procedure of the encounter.
#[derive(Debug, Clone, Default)]
pub struct PxFact {
    /// (system, code).
    pub coding: Option<(String, String)>,
    /// Day performed.
    pub date: Option<NaiveDate>,
    /// Where the code is (FHIRPath), echoed in findings.
    pub expression: String,
}

/// An encounter as the audit sees it.
#[derive(Debug, Clone, Default)]
pub struct EncounterFacts {
    /// Reference used in messages (`Encounter/123`).
    pub label: String,
    /// `Encounter.class.code`.
    pub class: Option<String>,
    /// Admission day (period start).
    pub admit: Option<NaiveDate>,
    /// Discharge day (period end).
    pub discharge: Option<NaiveDate>,
    /// The patient's birth date.
    pub birth_date: Option<NaiveDate>,
    /// The patient's administrative gender.
    pub gender: Option<String>,
    /// Diagnoses in `Encounter.diagnosis` order.
    pub diagnoses: Vec<DxFact>,
    /// Procedures.
    pub procedures: Vec<PxFact>,
}

/// Parses a `YYYY-MM-DD` (or longer) date text.
pub(crate) fn day(text: Option<&str>) -> Option<NaiveDate> {
    let text = text?;
    NaiveDate::parse_from_str(text.get(..10).unwrap_or(text), "%Y-%m-%d").ok()
}

fn years_between(birth: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

impl EncounterFacts {
    /// The audit input, plus information issues for diagnoses the audit cannot read.
    /// 422 when the patient's birth date is unknown (the age edits need it).
    pub fn to_input(&self) -> AppResult<(AuditInput, Vec<Issue>)> {
        let today = chrono::Utc::now().date_naive();
        let admit = self.admit.or(self.discharge).unwrap_or(today);
        let discharge = self.discharge.unwrap_or(admit);
        let birth = self.birth_date.ok_or_else(|| {
            AppError::Unprocessable(vec![Issue::error(
                "business-rule",
                format!(
                    "{}: the patient's birthDate is unknown; the coding audit needs the age on admission",
                    self.label
                ),
            )])
        })?;
        let sex = match self.gender.as_deref() {
            Some("male") => Sex::Male,
            Some("female") => Sex::Female,
            Some("other") => Sex::Other,
            _ => Sex::Unknown,
        };
        let mut notes = Vec::new();
        let diagnoses = self
            .diagnoses
            .iter()
            .filter_map(|d| {
                let expression = d.expression.clone();
                match &d.coding {
                    Some((system, code)) if system == ICD10CM_SYSTEM => Some(AuditDx {
                        code: code.clone(),
                        rank: d.rank.and_then(|r| u32::try_from(r).ok()),
                        poa: d.poa.clone(),
                        expression,
                    }),
                    _ => {
                        notes.push(
                            Issue::new(
                                outcome::Severity::Information,
                                "informational",
                                "this diagnosis references no Condition with an ICD-10-CM code; the audit skipped it",
                            )
                            .at(expression),
                        );
                        None
                    }
                }
            })
            .collect();
        let procedures = self
            .procedures
            .iter()
            .filter_map(|p| match &p.coding {
                Some((system, code)) if system == ICD10PCS_SYSTEM => Some(AuditPx {
                    code: code.clone(),
                    date: p.date,
                    expression: p.expression.clone(),
                }),
                _ => None,
            })
            .collect();
        let input = AuditInput {
            admit_date: admit,
            discharge_date: discharge,
            age_years_at_admission: years_between(birth, admit),
            age_days_at_admission: u32::try_from((admit - birth).num_days()).ok(),
            sex,
            diagnoses,
            procedures,
            encounter_class: self.class.clone(),
        };
        Ok((input, notes))
    }
}

fn issue_type(edit: &str) -> &'static str {
    match edit {
        "invalid-code" | "invalid-procedure-code" | "header-code" | "missing-7th-character" => {
            "code-invalid"
        }
        _ => "business-rule",
    }
}

/// One issue per finding (then the notes); one `information` issue when there is nothing.
pub fn findings_outcome(label: &str, findings: &[Finding], notes: Vec<Issue>) -> Value {
    let mut issues = finding_issues(findings);
    issues.extend(notes);
    if issues.is_empty() {
        issues.push(Issue::new(
            outcome::Severity::Information,
            "informational",
            format!("{label}: the coding audit found nothing to fix"),
        ));
    }
    operation_outcome(&issues)
}

/// One OperationOutcome issue per finding: severity, `details.coding` = the edit id,
/// `details.text` = the codes concerned, `expression` = the element.
pub fn finding_issues(findings: &[Finding]) -> Vec<Issue> {
    findings
        .iter()
        .map(|f| {
            let severity = match f.severity {
                Severity::Error => outcome::Severity::Error,
                Severity::Warning => outcome::Severity::Warning,
                Severity::Information => outcome::Severity::Information,
            };
            let mut issue = Issue::new(severity, issue_type(f.edit), f.text.clone());
            if !f.expression.is_empty() {
                issue = issue.at(f.expression.clone());
            }
            issue.details = Some((EDIT_SYSTEM.to_string(), f.edit.to_string()));
            issue.details_text = Some(if f.codes.is_empty() {
                f.edit.to_string()
            } else {
                format!("{} ({})", f.codes.join(", "), f.edit)
            });
            issue
        })
        .collect()
}
