//! Edits on the codes themselves: invalid or header diagnosis codes, missing 7th
//! characters, invalid procedure codes, a missing or duplicated principal diagnosis.

use chrono::NaiveDate;

use super::{finding, Ctx, Finding, Severity};
use crate::coding::{CmCheck, PcsCheck};

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let date = ctx.input.discharge_date;
    for dx in &ctx.dx {
        let code = &dx.code;
        let expr = dx.src.expression.as_str();
        match ctx.terms.check_cm(&dx.src.code, date, None) {
            CmCheck::Valid | CmCheck::WrongDisplay { .. } => {}
            CmCheck::NotFound => out.push(finding(
                "invalid-code",
                Severity::Error,
                vec![code.clone()],
                expr,
                format!("{code} is not an ICD-10-CM code; replace it with a valid code."),
            )),
            CmCheck::NotValidOnDate { valid } => out.push(finding(
                "invalid-code",
                Severity::Error,
                vec![code.clone()],
                expr,
                format!(
                    "{code} is not valid for a discharge on {date} (valid {}); use the code in force in that fiscal year.",
                    describe_spans(&valid)
                ),
            )),
            CmCheck::Header { billable_children_sample } => out.push(finding(
                "header-code",
                Severity::Error,
                vec![code.clone()],
                expr,
                format!(
                    "{code} is a category header, not billable; code to the highest specificity (e.g. {}).",
                    billable_children_sample.join(", ")
                ),
            )),
            CmCheck::Missing7th { required_chars, placeholder_needed } => {
                let chars: Vec<String> = required_chars.iter().map(|(c, m)| format!("{c} = {m}")).collect();
                let placeholder = if placeholder_needed { " after filling to six characters with placeholder X" } else { "" };
                out.push(finding(
                    "missing-7th-character",
                    Severity::Error,
                    vec![code.clone()],
                    expr,
                    format!("{code} needs a 7th character{placeholder}: {}.", chars.join("; ")),
                ));
            }
        }
    }
    for px in &ctx.input.procedures {
        let code = px.code.trim().to_uppercase();
        let text = match ctx.terms.check_pcs(&px.code, date) {
            PcsCheck::Valid => continue,
            PcsCheck::NotFound => format!("{code} is not an ICD-10-PCS code; replace it with a valid code."),
            PcsCheck::Incomplete { sample } => {
                format!("{code} is incomplete: ICD-10-PCS codes have 7 characters (e.g. {}).", sample.join(", "))
            }
            PcsCheck::NotValidOnDate { valid } => format!(
                "{code} is not valid for a discharge on {date} (valid {}); use the code in force in that fiscal year.",
                describe_spans(&valid)
            ),
        };
        out.push(finding(
            "invalid-procedure-code",
            Severity::Error,
            vec![code],
            &px.expression,
            text,
        ));
    }
    principal_edits(ctx, out);
}

fn principal_edits(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let Some(principal) = ctx.principal() else {
        out.push(finding(
            "missing-principal",
            Severity::Error,
            Vec::new(),
            "Encounter.diagnosis",
            "No principal diagnosis: mark one diagnosis with rank 1 (use billing).".to_string(),
        ));
        return;
    };
    for dx in ctx.dx.iter().filter(|d| !d.principal) {
        if dx.key.is_some() && dx.key == principal.key {
            out.push(finding(
                "duplicate-of-principal",
                Severity::Error,
                vec![dx.code.clone()],
                &dx.src.expression,
                format!("{} is reported as a secondary diagnosis and as the principal diagnosis; remove the secondary.", dx.code),
            ));
        }
    }
}

fn describe_spans(spans: &[(NaiveDate, Option<NaiveDate>)]) -> String {
    if spans.is_empty() {
        return "in no fiscal year the tables know".to_string();
    }
    spans
        .iter()
        .map(|(start, end)| match end {
            Some(end) => format!("{start} to {end}"),
            None => format!("from {start}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
