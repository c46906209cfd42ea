//! The coding audit: runs the claim-level edits (code validity, MCE age/sex/principal
//! edits, Excludes1 and sequencing notes, procedure and POA checks) over one
//! encounter's codes and returns findings. Pure; the caller gathers the input.

mod mce_edits;
mod note_edits;
mod stay_edits;
mod validity;

use chrono::NaiveDate;
use serde::Serialize;

use super::codes::{cm_display_form, normalize};
use super::mce::{MceFlags, MceTable};
use super::Terminology;

/// Administrative sex of the patient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Sex {
    /// Male.
    Male,
    /// Female.
    Female,
    /// Other.
    Other,
    /// Unknown.
    Unknown,
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The claim would be rejected or the coding is wrong.
    Error,
    /// Probably wrong or incomplete; review.
    Warning,
    /// For the coder's information.
    Information,
}

/// A diagnosis on the encounter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditDx {
    /// ICD-10-CM code, dotted or not.
    pub code: String,
    /// Rank; 1 = principal (first-listed) diagnosis.
    pub rank: Option<u32>,
    /// Present-on-admission indicator: Y, N, U, W or 1.
    pub poa: Option<String>,
    /// Where the code sits in the source resource (FHIRPath), echoed in findings.
    pub expression: String,
}

/// A procedure on the encounter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditPx {
    /// ICD-10-PCS code.
    pub code: String,
    /// When it was performed.
    pub date: Option<NaiveDate>,
    /// Where the code sits in the source resource, echoed in findings.
    pub expression: String,
}

/// One encounter's coding, as the audit needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditInput {
    /// Admission date.
    pub admit_date: NaiveDate,
    /// Discharge date: selects the code set and MCE edits in force.
    pub discharge_date: NaiveDate,
    /// Age in whole years at admission.
    pub age_years_at_admission: u32,
    /// Age in days at admission, when known.
    pub age_days_at_admission: Option<u32>,
    /// Administrative sex.
    pub sex: Sex,
    /// Diagnoses.
    pub diagnoses: Vec<AuditDx>,
    /// Procedures.
    pub procedures: Vec<AuditPx>,
    /// v3 ActCode encounter class (`IMP`, `ACUTE`, `NONAC` are inpatient).
    pub encounter_class: Option<String>,
}

/// One problem found by the audit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Edit id (`invalid-code`, `age-conflict`, ...).
    pub edit: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The codes concerned, dotted.
    pub codes: Vec<String>,
    /// Expression of the (first) element concerned.
    pub expression: String,
    /// What is wrong and what to do, naming the codes in dotted form.
    pub text: String,
}

/// A diagnosis prepared for the edits.
struct Dx<'a> {
    src: &'a AuditDx,
    key: Option<String>,
    code: String,
    /// Known to the tabular (any status).
    in_table: bool,
    /// MCE flags on the discharge date; `None` when not valid then.
    flags: Option<MceFlags>,
    principal: bool,
}

/// What every edit reads.
struct Ctx<'a> {
    input: &'a AuditInput,
    terms: &'a Terminology,
    dx: Vec<Dx<'a>>,
}

impl Ctx<'_> {
    fn principal(&self) -> Option<&Dx<'_>> {
        self.dx.iter().find(|d| d.principal)
    }
}

fn finding(
    edit: &'static str,
    severity: Severity,
    codes: Vec<String>,
    expression: &str,
    text: String,
) -> Finding {
    Finding {
        edit,
        severity,
        codes,
        expression: expression.to_string(),
        text,
    }
}

/// Runs every edit over an encounter; findings come errors first, then in input order.
pub fn audit(input: &AuditInput, terms: &Terminology) -> Vec<Finding> {
    let _span = tracing::debug_span!("coding.audit").entered();
    let date = input.discharge_date;
    let mut seen_principal = false;
    let dx = input
        .diagnoses
        .iter()
        .map(|src| {
            let key = normalize(&src.code);
            let principal = src.rank == Some(1) && !seen_principal;
            seen_principal |= principal;
            Dx {
                in_table: key.as_deref().is_some_and(|k| terms.cm.node(k).is_some()),
                flags: key
                    .as_deref()
                    .and_then(|k| terms.mce.span_on(MceTable::Dx, k, date))
                    .map(|s| s.flags),
                code: cm_display_form(&src.code),
                key,
                src,
                principal,
            }
        })
        .collect();
    let ctx = Ctx { input, terms, dx };
    let mut findings = Vec::new();
    validity::run(&ctx, &mut findings);
    mce_edits::run(&ctx, &mut findings);
    note_edits::run(&ctx, &mut findings);
    stay_edits::run(&ctx, &mut findings);
    findings.sort_by_key(|f| f.severity);
    for finding in &findings {
        crate::telemetry::metrics::coding_finding(finding.edit);
    }
    findings
}
