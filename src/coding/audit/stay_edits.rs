//! Edits on the stay: procedure dates outside admission–discharge, and
//! present-on-admission indicators on inpatient encounters.
//!
//! The CMS POA-exempt list is not shipped: external-cause codes (V00–Y99) and
//! Z codes (Z00–Z99) are treated as exempt instead.

use super::{finding, Ctx, Finding, Severity};
use crate::coding::codes::{key_in_range, normalize};

const INPATIENT_CLASSES: [&str; 4] = ["IMP", "ACUTE", "NONAC", "INPATIENT"];
const POA_VALUES: [&str; 5] = ["Y", "N", "U", "W", "1"];

pub(super) fn run(ctx: &Ctx<'_>, out: &mut Vec<Finding>) {
    let (admit, discharge) = (ctx.input.admit_date, ctx.input.discharge_date);
    for px in &ctx.input.procedures {
        let Some(date) = px.date else { continue };
        if date < admit || date > discharge {
            let code = normalize(&px.code).unwrap_or_else(|| px.code.trim().to_string());
            out.push(finding(
                "procedure-date-outside-stay",
                Severity::Warning,
                vec![code.clone()],
                &px.expression,
                format!("{code} is dated {date}, outside the stay {admit} to {discharge}; check the date or the encounter."),
            ));
        }
    }
    if !is_inpatient(ctx.input.encounter_class.as_deref()) {
        return;
    }
    for dx in &ctx.dx {
        let Some(key) = dx.key.as_deref().filter(|_| dx.in_table) else {
            continue;
        };
        if poa_exempt(key) {
            continue;
        }
        let poa = dx
            .src
            .poa
            .as_deref()
            .map(str::trim)
            .filter(|p| !p.is_empty());
        let code = &dx.code;
        let text = match poa {
            None => format!("{code} has no present-on-admission indicator; report Y, N, U or W."),
            Some(value) if !POA_VALUES.iter().any(|v| v.eq_ignore_ascii_case(value)) => {
                format!("{code} has present-on-admission indicator {value:?}, which is not one of Y, N, U, W, 1.")
            }
            Some(_) => continue,
        };
        out.push(finding(
            "poa-missing",
            Severity::Warning,
            vec![code.clone()],
            &dx.src.expression,
            text,
        ));
    }
}

fn is_inpatient(class: Option<&str>) -> bool {
    class.is_some_and(|c| {
        INPATIENT_CLASSES
            .iter()
            .any(|k| k.eq_ignore_ascii_case(c.trim()))
    })
}

fn poa_exempt(key: &str) -> bool {
    key_in_range(key, "V00", "Y99") || key_in_range(key, "Z00", "Z99")
}
