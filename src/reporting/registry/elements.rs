//! Data elements read from a (possibly de-identified) record, for the flat formats (CSV,
//! NAACCR XML). What is read from where:
//! - primary site: `Condition.bodySite` coded in ICD-O-3 (`http://terminology.hl7.org/CodeSystem/icd-o-3`,
//!   topography `C50.9`); else, for C00–C80, derived from the ICD-10-CM category and 4th
//!   character (`C50.911` → `C509`), which is how ICD-10 and ICD-O-3 topography line up;
//! - histology/behaviour: the mCODE extension `…/mcode-histology-morphology-behavior` on the
//!   Condition, or an Observation LOINC 31206-6 (ICD-O-3 `8500/3`) whose `focus` is the
//!   Condition (or the patient's only tumour when unlinked);
//! - stage: `Condition.stage.summary` (clinical unless `stage.type` says pathologic), or
//!   Observations LOINC 21908-9 (clinical) / 21902-2 (pathologic stage group);
//! - first course of treatment: linked Procedures (surgery date) and MedicationRequests
//!   (systemic therapy date), earliest on or after diagnosis.

use super::record::{diagnosis_date, icd10cm, reason_ids, treatment_date, Record};
use crate::fhir::json::str_at;
use crate::reporting::deid::AGE_GROUP_EXTENSION;
use serde_json::Value;

pub const ICDO3: &str = "http://terminology.hl7.org/CodeSystem/icd-o-3";
const LOINC: &str = "http://loinc.org";

/// Demographics as the record holds them (absent elements stay None).
#[derive(Debug, Clone, Default)]
pub struct PatientFacts {
    pub id: String,
    pub family: Option<String>,
    pub given: Option<String>,
    pub sex: Option<String>,
    pub birth_date: Option<String>,
    /// `90+` when Safe Harbor grouped the age.
    pub age_group: Option<String>,
    pub deceased_date: Option<String>,
    pub deceased: bool,
    pub city: Option<String>,
    /// County (`address.district`).
    pub district: Option<String>,
    pub state: Option<String>,
    pub postal_code: Option<String>,
    pub country: Option<String>,
    pub mrn: Option<String>,
    pub ssn: Option<String>,
}

fn identifier_with_type(patient: &Value, type_code: &str) -> Option<String> {
    patient
        .get("identifier")?
        .as_array()?
        .iter()
        .find(|i| {
            i.pointer("/type/coding")
                .and_then(Value::as_array)
                .is_some_and(|cs| cs.iter().any(|c| c["code"] == type_code))
        })
        .and_then(|i| str_at(i, &["value"]))
}

/// Reads the Patient of a record.
pub fn patient_facts(record: &Record) -> PatientFacts {
    let p = &record.patient;
    let name = p.pointer("/name/0");
    let address = p.pointer("/address/0");
    let at = |v: Option<&Value>, key: &str| v.and_then(|v| str_at(v, &[key]));
    PatientFacts {
        id: record.patient_id(),
        family: at(name, "family"),
        given: name
            .and_then(|n| n.get("given"))
            .and_then(Value::as_array)
            .and_then(|g| g.first())
            .and_then(Value::as_str)
            .map(str::to_string),
        sex: str_at(p, &["gender"]),
        birth_date: str_at(p, &["birthDate"]),
        age_group: p
            .get("extension")
            .and_then(Value::as_array)
            .and_then(|es| es.iter().find(|e| e["url"] == AGE_GROUP_EXTENSION))
            .and_then(|e| str_at(e, &["valueCode"])),
        deceased_date: str_at(p, &["deceasedDateTime"]),
        deceased: p.get("deceasedDateTime").is_some()
            || p.get("deceasedBoolean").and_then(Value::as_bool) == Some(true),
        city: at(address, "city"),
        district: at(address, "district"),
        state: at(address, "state"),
        postal_code: at(address, "postalCode"),
        country: at(address, "country"),
        mrn: identifier_with_type(p, "MR"),
        ssn: identifier_with_type(p, "SS"),
    }
}

/// One reportable tumour (a qualifying Condition).
#[derive(Debug, Clone, Default)]
pub struct TumorFacts {
    pub condition_id: String,
    pub icd10cm: String,
    pub diagnosis_date: Option<String>,
    pub primary_site: Option<String>,
    pub histology: Option<String>,
    pub behavior: Option<String>,
    pub clinical_stage: Option<String>,
    pub pathologic_stage: Option<String>,
    pub surgery_date: Option<String>,
    pub systemic_date: Option<String>,
    pub procedures: Vec<String>,
    pub medications: Vec<String>,
}

fn coding_in<'a>(concept: &'a Value, system: &str) -> Option<&'a Value> {
    concept
        .get("coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(system))
}

fn first_code(concept: &Value) -> Option<String> {
    concept
        .get("coding")?
        .as_array()?
        .iter()
        .find_map(|c| str_at(c, &["code"]))
        .or_else(|| str_at(concept, &["text"]))
}

/// `C50.9` / `C509` → `C509` when it is a topography code.
fn topography(code: &str) -> Option<String> {
    let t: String = code
        .chars()
        .filter(|c| *c != '.')
        .collect::<String>()
        .to_uppercase();
    let ok = t.len() == 4 && t.starts_with('C') && t[1..].chars().all(|c| c.is_ascii_digit());
    ok.then_some(t)
}

fn derived_site(icd10: &str) -> Option<String> {
    let key: String = icd10
        .chars()
        .filter(|c| *c != '.')
        .collect::<String>()
        .to_uppercase();
    let category: u32 = key.get(1..3)?.parse().ok()?;
    if !key.starts_with('C') || category > 80 {
        return None;
    }
    let fourth = key
        .get(3..4)
        .filter(|c| c.chars().all(|d| d.is_ascii_digit()))
        .unwrap_or("9");
    Some(format!("{}{fourth}", &key[..3]))
}

/// `8500/3` → (`8500`, `3`).
fn morphology(code: &str) -> Option<(String, String)> {
    let (histology, behavior) = code.split_once('/')?;
    let ok = histology.len() == 4
        && histology.chars().all(|c| c.is_ascii_digit())
        && behavior.len() == 1
        && behavior.chars().all(|c| c.is_ascii_digit());
    ok.then(|| (histology.to_string(), behavior.to_string()))
}

fn observation_code(o: &Value) -> Option<&str> {
    coding_in(o.get("code")?, LOINC)?.get("code")?.as_str()
}

fn focuses(o: &Value, condition_ref: &str) -> bool {
    o.get("focus")
        .and_then(Value::as_array)
        .is_some_and(|fs| fs.iter().any(|f| f["reference"] == condition_ref))
}

/// The tumours of a cancer record.
pub fn tumors(record: &Record) -> Vec<TumorFacts> {
    let single = record.conditions.len() == 1;
    record
        .conditions
        .iter()
        .map(|c| {
            let id = str_at(c, &["id"]).unwrap_or_default();
            let reference = format!("Condition/{id}");
            let code = icd10cm(c).unwrap_or_default();
            let linked_obs = |loinc: &str| {
                record.observations.iter().find(|o| {
                    observation_code(o) == Some(loinc)
                        && (focuses(o, &reference) || (single && o.get("focus").is_none()))
                })
            };
            let morph = c
                .get("extension")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter(|e| {
                    e["url"]
                        .as_str()
                        .is_some_and(|u| u.ends_with("histology-morphology-behavior"))
                })
                .find_map(|e| coding_in(&e["valueCodeableConcept"], ICDO3))
                .or_else(|| {
                    linked_obs("31206-6").and_then(|o| coding_in(&o["valueCodeableConcept"], ICDO3))
                })
                .and_then(|coding| coding.get("code").and_then(Value::as_str))
                .and_then(morphology);
            let (mut clinical, mut pathologic) = (None, None);
            for stage in c
                .get("stage")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(summary) = stage.get("summary").and_then(first_code) else {
                    continue;
                };
                let is_path = stage
                    .get("type")
                    .map(|t| t.to_string().to_lowercase().contains("path"))
                    .unwrap_or(false);
                if is_path {
                    pathologic.get_or_insert(summary);
                } else {
                    clinical.get_or_insert(summary);
                }
            }
            clinical = clinical.or_else(|| {
                linked_obs("21908-9").and_then(|o| first_code(&o["valueCodeableConcept"]))
            });
            pathologic = pathologic.or_else(|| {
                linked_obs("21902-2").and_then(|o| first_code(&o["valueCodeableConcept"]))
            });
            let treats = |t: &&Value| reason_ids(t).contains(&id) || single;
            let procedures: Vec<&Value> = record.procedures.iter().filter(treats).collect();
            let medications: Vec<&Value> = record.medications.iter().filter(treats).collect();
            let codes = |list: &[&Value], key: &str| {
                list.iter()
                    .filter_map(|r| r.get(key).and_then(first_code))
                    .collect::<Vec<_>>()
            };
            TumorFacts {
                condition_id: id.clone(),
                icd10cm: code.clone(),
                diagnosis_date: diagnosis_date(c),
                primary_site: c
                    .get("bodySite")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .find_map(|b| {
                        coding_in(b, ICDO3)
                            .and_then(|x| x["code"].as_str())
                            .and_then(topography)
                    })
                    .or_else(|| derived_site(&code)),
                histology: morph.as_ref().map(|m| m.0.clone()),
                behavior: morph.map(|m| m.1),
                clinical_stage: clinical,
                pathologic_stage: pathologic,
                surgery_date: procedures.iter().filter_map(|p| treatment_date(p)).min(),
                systemic_date: medications.iter().filter_map(|m| treatment_date(m)).min(),
                procedures: codes(&procedures, "code"),
                medications: codes(&medications, "medicationCodeableConcept"),
            }
        })
        .collect()
}

/// The record's qualifying codes, and those that name a complication (not `.9` "without
/// complications").
pub fn condition_codes(record: &Record) -> (Vec<String>, Vec<String>) {
    let codes: Vec<String> = record.conditions.iter().filter_map(icd10cm).collect();
    let complications = codes
        .iter()
        .filter(|c| {
            let key: String = c.chars().filter(|x| *x != '.').collect();
            key.len() > 3 && !key[3..].starts_with('9')
        })
        .cloned()
        .collect();
    (codes, complications)
}

/// One reading of an Observation series: (date, value) with panels as `sys/dia`.
pub fn readings(record: &Record, codes: &[String]) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = record
        .observations
        .iter()
        .filter(|o| observation_code(o).is_some_and(|c| codes.iter().any(|x| x == c)))
        .filter_map(|o| {
            let date = str_at(o, &["effectiveDateTime"])
                .or_else(|| str_at(o, &["effectivePeriod", "start"]))
                .unwrap_or_default();
            let number = |v: &Value| v.pointer("/valueQuantity/value").map(|n| n.to_string());
            let value = number(o).or_else(|| {
                let parts: Vec<String> = o
                    .get("component")?
                    .as_array()?
                    .iter()
                    .filter_map(number)
                    .collect();
                (!parts.is_empty()).then(|| parts.join("/"))
            })?;
            Some((date, value))
        })
        .collect();
    out.sort();
    out
}
