//! Audit input of a not-yet-submitted institutional Claim: diagnoses in `Claim.diagnosis`
//! (sequence, `type` principal, `onAdmission`), procedures in `Claim.procedure`, the stay
//! from `billablePeriod`, the patient and encounter by reference. References resolve
//! through the caller's resolver (contained resources, Bundle entries, stored resources).

use serde_json::Value;

use super::facts::{day, DxFact, EncounterFacts, PxFact};
use crate::coding::{ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
use crate::fhir::json::{codeable_first, str_at};

/// Finds the resource a reference text names (`#id`, `Patient/1`, a fullUrl), if known.
pub type Resolve<'r> = dyn Fn(&str) -> Option<Value> + 'r;

const DIAGNOSIS_TYPE_PRINCIPAL: &str = "principal";

fn items<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = (usize, &'v Value)> {
    value[key].as_array().into_iter().flatten().enumerate()
}

/// A reference text, resolving `#id` against the Claim's contained resources first.
fn resolve(claim: &Value, reference: &Value, resolver: &Resolve<'_>) -> Option<Value> {
    let text = reference.get("reference")?.as_str()?;
    if let Some(local) = text.strip_prefix('#') {
        return items(claim, "contained")
            .map(|(_, r)| r)
            .find(|r| r["id"].as_str() == Some(local))
            .cloned();
    }
    resolver(text)
}

/// (system, code) of a `*CodeableConcept` or of the `code` of the resource a `*Reference` names.
fn coding(
    claim: &Value,
    item: &Value,
    concept_key: &str,
    reference_key: &str,
    system: &str,
    resolver: &Resolve<'_>,
) -> Option<(String, String)> {
    let concept = match item.get(concept_key) {
        Some(concept) => concept.clone(),
        None => resolve(claim, item.get(reference_key)?, resolver)?
            .get("code")?
            .clone(),
    };
    codeable_first(&concept, Some(system)).map(|(s, c, _)| (s, c))
}

fn is_principal(diagnosis: &Value) -> bool {
    items(diagnosis, "type").any(|(_, t)| {
        items(t, "coding").any(|(_, c)| c["code"].as_str() == Some(DIAGNOSIS_TYPE_PRINCIPAL))
    })
}

/// The facts of `claim`; `root` is the FHIRPath of the Claim (`Claim`, or
/// `Bundle.entry[3].resource`) for the findings' expressions.
pub fn facts_of(claim: &Value, root: &str, resolver: &Resolve<'_>) -> EncounterFacts {
    let patient = claim
        .get("patient")
        .and_then(|r| resolve(claim, r, resolver));
    let encounter = items(claim, "item")
        .flat_map(|(_, item)| {
            items(item, "encounter")
                .map(|(_, e)| e.clone())
                .collect::<Vec<_>>()
        })
        .find_map(|reference| resolve(claim, &reference, resolver));
    let mut diagnoses: Vec<(i64, usize, &Value)> = items(claim, "diagnosis")
        .map(|(i, d)| (d["sequence"].as_i64().unwrap_or(i64::MAX), i, d))
        .collect();
    diagnoses.sort_by_key(|(sequence, i, _)| (*sequence, *i));
    // The principal is the diagnosis typed `principal`, else the first in sequence; it gets
    // rank 1 and the others follow in sequence order.
    let principal = diagnoses
        .iter()
        .position(|(_, _, d)| is_principal(d))
        .unwrap_or(0);
    let mut rank = 1;
    let mut facts: Vec<DxFact> = Vec::new();
    for (n, (_, i, d)) in diagnoses.iter().enumerate() {
        let this_rank = if n == principal {
            1
        } else {
            rank += 1;
            rank
        };
        facts.push(DxFact {
            expression: format!("{root}.diagnosis[{i}]"),
            rank: Some(this_rank),
            poa: d
                .get("onAdmission")
                .and_then(|c| codeable_first(c, None))
                .map(|(_, code, _)| code.to_uppercase()),
            coding: coding(
                claim,
                d,
                "diagnosisCodeableConcept",
                "diagnosisReference",
                ICD10CM_SYSTEM,
                resolver,
            ),
        });
    }
    let procedures = items(claim, "procedure")
        .map(|(i, p)| PxFact {
            coding: coding(
                claim,
                p,
                "procedureCodeableConcept",
                "procedureReference",
                ICD10PCS_SYSTEM,
                resolver,
            ),
            date: day(str_at(p, &["date"]).as_deref()),
            expression: format!("{root}.procedure[{i}]"),
        })
        .collect();
    let period_day = |key: &str| {
        day(str_at(claim, &["billablePeriod", key])
            .or_else(|| encounter.as_ref().and_then(|e| str_at(e, &["period", key])))
            .as_deref())
    };
    EncounterFacts {
        label: match str_at(claim, &["id"]) {
            Some(id) => format!("Claim/{id}"),
            None => "the Claim".into(),
        },
        class: encounter
            .as_ref()
            .and_then(|e| str_at(e, &["class", "code"])),
        admit: period_day("start"),
        discharge: period_day("end"),
        birth_date: patient
            .as_ref()
            .and_then(|p| day(str_at(p, &["birthDate"]).as_deref())),
        gender: patient.as_ref().and_then(|p| str_at(p, &["gender"])),
        diagnoses: facts,
        procedures,
    }
}
