//! Builders shared by the audit tests.

use chrono::NaiveDate;

use super::{date, TERMS};
use crate::coding::{audit, AuditDx, AuditInput, AuditPx, Finding, Sex};

pub(super) fn encounter(
    discharge: NaiveDate,
    age: u32,
    sex: Sex,
    dx: &[&str],
    px: &[(&str, Option<NaiveDate>)],
) -> AuditInput {
    AuditInput {
        admit_date: discharge - chrono::Days::new(3),
        discharge_date: discharge,
        age_years_at_admission: age,
        age_days_at_admission: None,
        sex,
        diagnoses: dx
            .iter()
            .enumerate()
            .map(|(i, code)| AuditDx {
                code: code.to_string(),
                rank: Some(i as u32 + 1),
                poa: Some("Y".into()),
                expression: format!("Encounter.diagnosis[{i}]"),
            })
            .collect(),
        procedures: px
            .iter()
            .enumerate()
            .map(|(i, (code, date))| AuditPx {
                code: code.to_string(),
                date: *date,
                expression: format!("Procedure[{i}].code"),
            })
            .collect(),
        encounter_class: Some("IMP".into()),
    }
}

pub(super) fn run(input: &AuditInput) -> Vec<Finding> {
    audit(input, &TERMS)
}

pub(super) fn has(findings: &[Finding], edit: &str) -> bool {
    findings.iter().any(|f| f.edit == edit)
}

pub(super) fn the<'a>(findings: &'a [Finding], edit: &str) -> &'a Finding {
    findings
        .iter()
        .find(|f| f.edit == edit)
        .unwrap_or_else(|| panic!("no {edit} in {findings:#?}"))
}

const DAY: (i32, u32, u32) = (2026, 1, 15);

pub(super) fn day() -> NaiveDate {
    date(DAY.0, DAY.1, DAY.2)
}
