//! Deliberate coding errors planted in inpatient diagnosis lists, each of which a coding
//! audit is expected to flag with a known edit id.

use super::catalog::dx;
use super::events::{MANIFESTATIONS, OBSTETRIC_CONFLICT};
use super::record::{Coding, NewCondition};
use super::rng::Rng;

/// A planted error.
pub struct Seeded {
    /// Expected edit id.
    pub edit_id: &'static str,
    /// UUID of the Condition concerned.
    pub condition: Option<String>,
    /// The code concerned.
    pub code: Option<String>,
    /// Detail for the ground truth.
    pub detail: String,
}

/// The ICD-10-CM category (header) above a dotted code, if the code has subdivisions.
pub fn header_of(code: &str) -> Option<&str> {
    code.split_once('.').map(|(category, _)| category)
}

/// A 7-character injury code with its 7th character removed.
pub fn without_seventh(code: &str) -> Option<&str> {
    let injury = matches!(code.as_bytes().first(), Some(b'S' | b'T'));
    let seven = code.chars().filter(|c| *c != '.').count() == 7;
    (injury && seven).then(|| &code[..code.len() - 1])
}

/// Plants one applicable error (chosen at random) in an inpatient coding; `age` is the
/// patient's age at admission. Returns what was planted.
pub fn seed_error(rng: &mut Rng, coding: &mut Coding, age: f64) -> Option<Seeded> {
    let (principal_uuid, principal_dx, _) = coding.lines.first().cloned()?;
    let principal_index = coding
        .conditions
        .iter()
        .position(|c| c.uuid == principal_uuid && !c.problem_list);
    let mut kinds: Vec<&'static str> = vec!["missing-principal", "manifestation-as-principal"];
    if principal_index.is_some() {
        if without_seventh(principal_dx.code).is_some() {
            kinds.push("missing-7th-character");
            kinds.push("missing-7th-character");
        } else if header_of(principal_dx.code).is_some() {
            kinds.push("header-code");
            kinds.push("header-code");
        }
    }
    if age >= 65.0 {
        kinds.push("age-conflict");
    }
    let kind = *rng.pick(&kinds);
    match kind {
        "missing-principal" => {
            coding.lines.remove(0);
            coding.first_rank = 2;
            Some(Seeded {
                edit_id: kind,
                condition: Some(principal_uuid),
                code: Some(principal_dx.code.to_string()),
                detail: "no diagnosis with rank 1; the principal condition is recorded but not sequenced".into(),
            })
        }
        "manifestation-as-principal" => {
            let manifestation = *rng.pick(MANIFESTATIONS);
            let uuid = rng.uuid();
            let first = coding.conditions.iter().find(|c| c.uuid == principal_uuid);
            let (onset, abatement) = first.map_or((None, None), |c| (c.onset, c.abatement));
            coding.conditions.push(NewCondition {
                uuid: uuid.clone(),
                dx: manifestation,
                onset,
                abatement,
                problem_list: false,
                security: None,
            });
            coding
                .lines
                .insert(0, (uuid.clone(), manifestation, Some("y")));
            Some(Seeded {
                edit_id: kind,
                condition: Some(uuid),
                code: Some(manifestation.code.to_string()),
                detail: format!(
                    "manifestation code {} sequenced before {}",
                    manifestation.code, principal_dx.code
                ),
            })
        }
        "age-conflict" => {
            let uuid = rng.uuid();
            let first = coding.conditions.iter().find(|c| c.uuid == principal_uuid);
            let onset = first.and_then(|c| c.onset);
            coding.conditions.push(NewCondition {
                uuid: uuid.clone(),
                dx: OBSTETRIC_CONFLICT,
                onset,
                abatement: None,
                problem_list: false,
                security: None,
            });
            coding
                .lines
                .push((uuid.clone(), OBSTETRIC_CONFLICT, Some("y")));
            Some(Seeded {
                edit_id: kind,
                condition: Some(uuid),
                code: Some(OBSTETRIC_CONFLICT.code.to_string()),
                detail: format!("obstetric code on a patient aged {}", age.floor()),
            })
        }
        _ => {
            let index = principal_index?;
            let original = principal_dx.code;
            let wrong: &'static str = if kind == "header-code" {
                header_of(original)?
            } else {
                without_seventh(original)?
            };
            coding.conditions[index].dx = dx(wrong, principal_dx.display);
            coding.lines[0].1 = coding.conditions[index].dx;
            Some(Seeded {
                edit_id: kind,
                condition: Some(principal_uuid),
                code: Some(wrong.to_string()),
                detail: format!("{wrong} coded instead of {original}"),
            })
        }
    }
}
