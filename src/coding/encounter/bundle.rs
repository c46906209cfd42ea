//! Audit input of a not-yet-stored encounter sent as a Bundle (transaction, batch or
//! collection) holding the Encounter, its Patient, the Conditions its diagnoses reference
//! and its Procedures — or holding a Claim instead of the Encounter, or a bare Claim.
//! References resolve by `fullUrl` or `Type/id` within the Bundle, then through the
//! caller's resolver (stored resources).

use std::collections::HashMap;

use serde_json::Value;

use super::claim::{self, Resolve};
use super::facts::{day, DxFact, EncounterFacts, PxFact};
use crate::coding::{audit, Terminology, ICD10CM_SYSTEM, ICD10PCS_SYSTEM};
use crate::error::{AppError, AppResult};
use crate::fhir::json::{codeable_first, poa_indicator, reference_parts, str_at};

/// Resources of a Bundle by every name a reference may use.
struct Entries<'a> {
    by_ref: HashMap<String, (usize, &'a Value)>,
    all: Vec<(usize, &'a Value)>,
}

impl<'a> Entries<'a> {
    fn new(bundle: &'a Value) -> Entries<'a> {
        let mut by_ref = HashMap::new();
        let mut all = Vec::new();
        for (i, entry) in bundle
            .get("entry")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            let Some(resource) = entry.get("resource") else {
                continue;
            };
            all.push((i, resource));
            if let Some(full) = entry.get("fullUrl").and_then(Value::as_str) {
                by_ref.insert(full.to_string(), (i, resource));
                if let Some((t, id)) = reference_parts(full) {
                    by_ref.insert(format!("{t}/{id}"), (i, resource));
                }
            }
            if let (Some(t), Some(id)) = (
                str_at(resource, &["resourceType"]),
                str_at(resource, &["id"]),
            ) {
                by_ref.insert(format!("{t}/{id}"), (i, resource));
            }
        }
        Entries { by_ref, all }
    }

    fn resolve(&self, reference: Option<&Value>) -> Option<(usize, &'a Value)> {
        self.resolve_text(reference?.get("reference")?.as_str()?)
    }

    fn resolve_text(&self, text: &str) -> Option<(usize, &'a Value)> {
        self.by_ref.get(text).copied().or_else(|| {
            let (t, id) = reference_parts(text)?;
            self.by_ref.get(&format!("{t}/{id}")).copied()
        })
    }

    fn of_type(&self, res_type: &str) -> impl Iterator<Item = (usize, &'a Value)> + '_ {
        let res_type = res_type.to_string();
        self.all.iter().copied().filter(move |(_, r)| {
            str_at(r, &["resourceType"]).as_deref() == Some(res_type.as_str())
        })
    }
}

fn coding_of(resource: &Value, system: &str) -> Option<(String, String)> {
    resource
        .get("code")
        .and_then(|c| codeable_first(c, Some(system)))
        .map(|(s, c, _)| (s, c))
}

/// Gathers the facts of a bare Claim, or of the first Encounter of a Bundle, or of its
/// first Claim when it holds no Encounter (400 otherwise).
fn facts_of(body: &Value, stored: &Resolve<'_>) -> AppResult<EncounterFacts> {
    match str_at(body, &["resourceType"]).as_deref() {
        Some("Claim") => return Ok(claim::facts_of(body, "Claim", stored)),
        Some("Bundle") => {}
        _ => {
            return Err(AppError::invalid(
                "$audit-coding takes a Claim, or a Bundle holding an Encounter (or a Claim), its Patient, Conditions and Procedures",
            ))
        }
    }
    let entries = Entries::new(body);
    let Some((enc_at, encounter)) = entries.of_type("Encounter").next() else {
        let (at, claim) = entries
            .of_type("Claim")
            .next()
            .ok_or_else(|| AppError::invalid("the Bundle holds no Encounter and no Claim"))?;
        let resolver = |text: &str| {
            entries
                .resolve_text(text)
                .map(|(_, r)| r.clone())
                .or_else(|| stored(text))
        };
        return Ok(claim::facts_of(
            claim,
            &format!("Bundle.entry[{at}].resource"),
            &resolver,
        ));
    };
    let patient = entries
        .resolve(encounter.get("subject"))
        .or_else(|| entries.of_type("Patient").next())
        .map(|(_, p)| p);
    let diagnoses = encounter
        .get("diagnosis")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
        .map(|(ordinal, d)| DxFact {
            expression: format!("Encounter.diagnosis[{ordinal}]"),
            rank: d.get("rank").and_then(Value::as_i64),
            poa: poa_indicator(d),
            coding: entries
                .resolve(d.get("condition"))
                .and_then(|(_, c)| coding_of(c, ICD10CM_SYSTEM)),
        })
        .collect();
    let procedures = entries
        .of_type("Procedure")
        .filter(|(_, p)| match p.get("encounter") {
            None => true,
            Some(reference) => entries.resolve(Some(reference)).map(|(i, _)| i) == Some(enc_at),
        })
        .map(|(i, p)| PxFact {
            coding: coding_of(p, ICD10PCS_SYSTEM),
            date: day(str_at(p, &["performedDateTime"])
                .or_else(|| str_at(p, &["performedPeriod", "start"]))
                .as_deref()),
            expression: format!("Bundle.entry[{i}].resource.code"),
        })
        .collect();
    Ok(EncounterFacts {
        label: "the Bundle's Encounter".into(),
        class: str_at(encounter, &["class", "code"]),
        admit: day(str_at(encounter, &["period", "start"]).as_deref()),
        discharge: day(str_at(encounter, &["period", "end"]).as_deref()),
        birth_date: patient.and_then(|p| day(str_at(p, &["birthDate"]).as_deref())),
        gender: patient.and_then(|p| str_at(p, &["gender"])),
        diagnoses,
        procedures,
    })
}

/// `POST $audit-coding` with a Bundle or a Claim: the OperationOutcome of the audit.
/// `stored` resolves references to stored resources the caller may read.
pub fn audit_bundle(terms: &Terminology, body: &Value, stored: &Resolve<'_>) -> AppResult<Value> {
    let facts = facts_of(body, stored)?;
    let (input, notes) = facts.to_input()?;
    let findings = audit(&input, terms);
    Ok(super::findings_outcome(&facts.label, &findings, notes))
}
