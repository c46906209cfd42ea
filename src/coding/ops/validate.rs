//! `CodeSystem/$validate-code` and `ValueSet/$validate-code`, and the verdict on one code
//! that validation on write shares.

use chrono::NaiveDate;
use serde_json::Value;

use super::value_set::ImplicitValueSet;
use super::{param, parameters, CodeSystem, OpParams};
use crate::coding::codes::cm_display_form;
use crate::coding::{CmCheck, PcsCheck, PcsConcept, Terminology};
use crate::error::AppResult;

/// How a code fares on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The code exists and is in force on the date (and the display, if given, matches).
    pub result: bool,
    /// A code the code system holds that should still not be used as sent (header, no 7th
    /// character): `result` stays true, `message` says what to use instead.
    pub advice: bool,
    /// What is wrong or worth knowing, naming the code in dotted form.
    pub message: Option<String>,
    /// The official display, when the code is known.
    pub display: Option<String>,
    /// The coding-audit edit id the problem corresponds to (`invalid-code`, `header-code`,
    /// `missing-7th-character`, `invalid-procedure-code`), if any.
    pub edit: Option<&'static str>,
    /// Only the display is wrong.
    pub wrong_display: bool,
}

/// Checks one code of `system` for use on `date`, and its display when given.
pub fn verdict(
    terms: &Terminology,
    system: CodeSystem,
    code: &str,
    display: Option<&str>,
    date: NaiveDate,
) -> Verdict {
    match system {
        CodeSystem::Cm => cm_verdict(terms, code, display, date),
        CodeSystem::Pcs => pcs_verdict(terms, code, display, date),
    }
}

fn spans_text(spans: &[(NaiveDate, Option<NaiveDate>)]) -> String {
    spans
        .iter()
        .map(|(start, end)| match end {
            Some(end) => format!("{start} to {end}"),
            None => format!("from {start}"),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn cm_verdict(terms: &Terminology, code: &str, display: Option<&str>, date: NaiveDate) -> Verdict {
    let dotted = cm_display_form(code);
    let official = terms.cm_display(code).map(str::to_string);
    let check = terms.check_cm(code, date, display);
    let edit = match &check {
        CmCheck::NotFound | CmCheck::NotValidOnDate { .. } => Some("invalid-code"),
        CmCheck::Header { .. } => Some("header-code"),
        CmCheck::Missing7th { .. } => Some("missing-7th-character"),
        CmCheck::Valid | CmCheck::WrongDisplay { .. } => None,
    };
    let wrong_display = matches!(check, CmCheck::WrongDisplay { .. });
    let (result, advice, message) = match check {
        CmCheck::Valid => (true, false, None),
        CmCheck::NotFound => (
            false,
            false,
            Some(format!("{dotted} is not an ICD-10-CM code")),
        ),
        CmCheck::NotValidOnDate { valid } => (
            false,
            false,
            Some(format!(
                "ICD-10-CM {dotted} is not valid on {date}; it is valid {}",
                spans_text(&valid)
            )),
        ),
        CmCheck::Header {
            billable_children_sample,
        } => (
            true,
            true,
            Some(format!(
                "ICD-10-CM {dotted} is a header (not billable); code a more specific one, e.g. {}",
                billable_children_sample.join(", ")
            )),
        ),
        CmCheck::Missing7th {
            required_chars,
            placeholder_needed,
        } => {
            let chars = required_chars
                .iter()
                .map(|(c, meaning)| format!("{c} ({meaning})"))
                .collect::<Vec<_>>()
                .join(", ");
            let fill = if placeholder_needed {
                ", after filling it to six characters with the placeholder X"
            } else {
                ""
            };
            (
                true,
                true,
                Some(format!(
                    "ICD-10-CM {dotted} needs a 7th character{fill}: {chars}"
                )),
            )
        }
        CmCheck::WrongDisplay { expected } => (
            false,
            false,
            Some(format!(
                "the display '{}' is not the display of ICD-10-CM {dotted}; expected '{expected}'",
                display.unwrap_or_default()
            )),
        ),
    };
    Verdict {
        result,
        advice,
        message,
        display: official,
        edit,
        wrong_display,
    }
}

/// True when `given` names the code's root operation and body part (axes 3 and 4): every
/// word of their labels occurs in it. CMS long descriptions reorder labels ("Knee Joint,
/// Right" → "Right Knee Joint") and add words ("Approach"), so exact text is not required.
fn pcs_display_matches(concept: &PcsConcept, given: &str) -> bool {
    let words = |text: &str| -> Vec<String> {
        text.split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_lowercase)
            .collect()
    };
    let given = words(given);
    concept
        .axes
        .iter()
        .filter(|a| matches!(a.position, 3 | 4))
        .flat_map(|a| words(&a.label))
        .all(|w| given.contains(&w))
}

fn pcs_verdict(terms: &Terminology, code: &str, display: Option<&str>, date: NaiveDate) -> Verdict {
    let shown = code.trim().to_uppercase();
    let concept = terms.pcs_lookup(code);
    let mut wrong_display = false;
    let (result, message) = match terms.check_pcs(code, date) {
        PcsCheck::Valid => match (display, &concept) {
            (Some(given), Some(concept)) if !pcs_display_matches(concept, given) => {
                wrong_display = true;
                (
                    false,
                    Some(format!(
                        "the display '{given}' does not describe ICD-10-PCS {shown}; expected '{}'",
                        concept.display
                    )),
                )
            }
            _ => (true, None),
        },
        PcsCheck::NotFound => (false, Some(format!("{shown} is not an ICD-10-PCS code"))),
        PcsCheck::Incomplete { sample } => (
            false,
            Some(format!(
                "{shown} is not a complete ICD-10-PCS code (7 characters); codes starting with it include {}",
                sample.join(", ")
            )),
        ),
        PcsCheck::NotValidOnDate { valid } => (
            false,
            Some(format!(
                "ICD-10-PCS {shown} is not valid on {date}; it is valid {}",
                spans_text(&valid)
            )),
        ),
    };
    Verdict {
        edit: (!result && !wrong_display).then_some("invalid-procedure-code"),
        result,
        advice: false,
        message,
        display: concept.map(|c| c.display),
        wrong_display,
    }
}

fn verdict_parameters(verdict: Verdict) -> Value {
    let mut out = vec![param("result", "valueBoolean", verdict.result)];
    if let Some(message) = verdict.message {
        out.push(param("message", "valueString", message));
    }
    if let Some(display) = verdict.display {
        out.push(param("display", "valueString", display));
    }
    parameters(out)
}

fn unknown_result(message: String) -> Value {
    parameters(vec![
        param("result", "valueBoolean", false),
        param("message", "valueString", message),
    ])
}

/// `CodeSystem/$validate-code` (`url`/`system`, `code`, `display`, `date` — default today,
/// or a `coding`). An unknown code system answers `result=false`.
pub fn validate_code(terms: &Terminology, params: &OpParams) -> AppResult<Value> {
    let url = params.require(&["url", "system", "coding.system"], "url")?;
    let code = params.require(&["code", "coding.code"], "code")?;
    let display = params.first_of(&["display", "coding.display"]);
    let date = params
        .date("date")?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let Some(system) = CodeSystem::of(url) else {
        return Ok(unknown_result(format!(
            "CodeSystem '{url}' is not known to this server"
        )));
    };
    Ok(verdict_parameters(verdict(
        terms, system, code, display, date,
    )))
}

/// `ValueSet/$validate-code` on an implicit value set (`url`, `system`, `code`, `display`,
/// `date`): false when the code is outside the set or not valid on the date.
pub fn vs_validate_code(terms: &Terminology, params: &OpParams) -> AppResult<Value> {
    let url = params.require(&["url"], "url")?;
    let vs = ImplicitValueSet::parse(url)?;
    let code = params.require(&["code", "coding.code"], "code")?;
    let display = params.first_of(&["display", "coding.display"]);
    let date = params
        .date("date")?
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    if let Some(system) = params.first_of(&["system", "coding.system"]) {
        if CodeSystem::of(system) != Some(vs.system) {
            return Ok(unknown_result(format!(
                "the value set {url} holds no codes of system '{system}'"
            )));
        }
    }
    if !vs.contains(code) {
        return Ok(unknown_result(format!(
            "{} is not in the value set {url}",
            code.trim()
        )));
    }
    Ok(verdict_parameters(verdict(
        terms, vs.system, code, display, date,
    )))
}
