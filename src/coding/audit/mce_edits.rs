//! Medicare Code Editor edits, with the flags in force on the discharge date: age and
//! sex conflicts, codes not allowed as principal, unspecified codes, questionable
//! admissions, non-covered procedures and procedure/sex conflicts.

use chrono::NaiveDate;

use super::{finding, Ctx, Finding, Severity, Sex};
use crate::coding::codes::normalize;
use crate::coding::mce::{MceFlag, MceFlags, MceTable};

/// First discharge date with the FY2020 maternity age range (9–64 instead of 12–55).
fn maternity_range(discharge: NaiveDate) -> (u32, u32) {
    match NaiveDate::from_ymd_opt(2019, 10, 1) {
        Some(fy2020) if discharge < fy2020 => (12, 55),
        _ => (9, 64),
    }
}

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let age = ctx.input.age_years_at_admission;
    for dx in &ctx.dx {
        let Some(flags) = dx.flags else { continue };
        let (code, expr) = (&dx.code, dx.src.expression.as_str());
        if let Some(range) = age_violation(flags, age, ctx.input.discharge_date) {
            out.push(finding(
                "age-conflict",
                Severity::Error,
                vec![code.clone()],
                expr,
                format!("{code} is a {range} diagnosis but the patient was {age} at admission; check the code or the age."),
            ));
        }
        if let Some(key) = &dx.key {
            sex_edit(
                ctx,
                "sex-conflict",
                Severity::Error,
                MceTable::Dx,
                key,
                code,
                expr,
                out,
            );
        }
        if dx.principal {
            let principal_edits = [
                (MceFlag::Manifestation, "manifestation-as-principal", "is a manifestation code and cannot be principal; sequence the underlying condition first"),
                (MceFlag::Unacceptable, "unacceptable-principal", "is not acceptable as principal diagnosis; choose the condition that occasioned the admission"),
                (MceFlag::EcodePdx, "external-cause-as-principal", "is an external-cause code and cannot be principal; sequence the injury or condition first"),
            ];
            for (flag, edit, what) in principal_edits {
                if flags.contains(flag) {
                    out.push(finding(
                        edit,
                        Severity::Error,
                        vec![code.clone()],
                        expr,
                        format!("{code} {what}."),
                    ));
                }
            }
            if flags.contains(MceFlag::Qadm) {
                out.push(finding(
                    "questionable-admission",
                    Severity::Warning,
                    vec![code.clone()],
                    expr,
                    format!("{code} as principal diagnosis is a questionable reason for inpatient admission; document medical necessity."),
                ));
            }
        }
        if flags.contains(MceFlag::Unspecified) {
            out.push(finding(
                "unspecified-code",
                Severity::Warning,
                vec![code.clone()],
                expr,
                format!("{code} is an unspecified code; use a more specific code when the record supports it."),
            ));
        }
    }
    for px in &ctx.input.procedures {
        let Some(key) = normalize(&px.code) else {
            continue;
        };
        let span = ctx
            .terms
            .mce
            .span_on(MceTable::Sg, &key, ctx.input.discharge_date);
        if span.is_some_and(|s| s.flags.contains(MceFlag::Noncovered)) {
            out.push(finding(
                "noncovered-procedure",
                Severity::Warning,
                vec![key.clone()],
                &px.expression,
                format!(
                    "{key} is a non-covered procedure for Medicare; check the payer's coverage."
                ),
            ));
        }
        if span.is_some() {
            sex_edit(
                ctx,
                "procedure-sex-conflict",
                Severity::Warning,
                MceTable::Sg,
                &key,
                &key,
                &px.expression,
                out,
            );
        }
    }
}

fn age_violation(flags: MceFlags, age: u32, discharge: NaiveDate) -> Option<String> {
    let (mat_lo, mat_hi) = maternity_range(discharge);
    let rules = [
        (MceFlag::Newborn, 0, 0, "newborn (age 0)".to_string()),
        (
            MceFlag::Pediatric,
            0,
            17,
            "pediatric (age 0-17)".to_string(),
        ),
        (
            MceFlag::Maternity,
            mat_lo,
            mat_hi,
            format!("maternity (age {mat_lo}-{mat_hi})"),
        ),
        (MceFlag::Adult, 15, 124, "adult (age 15-124)".to_string()),
    ];
    rules
        .into_iter()
        .find(|(flag, lo, hi, _)| flags.contains(*flag) && !(*lo..=*hi).contains(&age))
        .map(|(_, _, _, name)| name)
}

/// Sex edit with the flags in force on the discharge date; when the code has none then,
/// the last sex flags it ever had give an information finding (CMS dropped the edit
/// from FY2025).
#[allow(clippy::too_many_arguments)]
fn sex_edit(
    ctx: &Ctx<'_>,
    edit: &'static str,
    enforced: Severity,
    table: MceTable,
    key: &str,
    code: &str,
    expr: &str,
    out: &mut Vec<Finding>,
) {
    let opposite = match ctx.input.sex {
        Sex::Male => MceFlag::Female,
        Sex::Female => MceFlag::Male,
        Sex::Other | Sex::Unknown => return,
    };
    let has_sex = |f: &MceFlags| f.contains(MceFlag::Male) || f.contains(MceFlag::Female);
    let spans = ctx.terms.mce.spans(table, key);
    let current = spans
        .iter()
        .find(|s| s.covers(ctx.input.discharge_date))
        .map(|s| s.flags)
        .filter(has_sex);
    let (flags, severity) = match current {
        Some(flags) => (flags, enforced),
        None => match spans.iter().rev().map(|s| s.flags).find(has_sex) {
            Some(flags) => (flags, Severity::Information),
            None => return,
        },
    };
    if !flags.contains(opposite) {
        return;
    }
    let (code_sex, patient_sex) = match opposite {
        MceFlag::Female => ("female", "male"),
        _ => ("male", "female"),
    };
    let text = if severity == Severity::Information {
        format!("{code} is a {code_sex}-only code and the patient is {patient_sex}; CMS no longer applies this edit on this discharge date, but check the code and the recorded sex.")
    } else {
        format!("{code} is a {code_sex}-only code but the patient is {patient_sex}; correct the code or the recorded sex.")
    };
    out.push(finding(edit, severity, vec![code.to_string()], expr, text));
}
