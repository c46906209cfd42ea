//! One patient's registry record: the Patient, the qualifying Conditions, the Observation
//! series and the treatments the definition asks for, assembled from one page of rows.

use super::definition::Definition;
use super::select::PageResources;
use crate::fhir::json::{patient_of, str_at, ICD10CM};
use serde_json::Value;
use std::collections::BTreeMap;

/// Everything sent about one patient.
#[derive(Debug, Clone, Default)]
pub struct Record {
    pub patient: Value,
    pub conditions: Vec<Value>,
    pub observations: Vec<Value>,
    pub procedures: Vec<Value>,
    pub medications: Vec<Value>,
}

impl Record {
    /// Every resource, Patient first.
    pub fn resources(&self) -> impl Iterator<Item = &Value> {
        std::iter::once(&self.patient)
            .chain(&self.conditions)
            .chain(&self.observations)
            .chain(&self.procedures)
            .chain(&self.medications)
    }

    /// `Type/id` of every resource (for the disclosure record).
    pub fn entities(&self) -> Vec<String> {
        self.resources()
            .filter_map(|r| {
                Some(format!(
                    "{}/{}",
                    r.get("resourceType")?.as_str()?,
                    r.get("id")?.as_str()?
                ))
            })
            .collect()
    }

    pub fn patient_id(&self) -> String {
        str_at(&self.patient, &["id"]).unwrap_or_default()
    }

    /// The same record with every resource passed through `f` (de-identification).
    pub fn map(&self, f: impl Fn(&Value) -> Value) -> Record {
        let all = |list: &[Value]| list.iter().map(&f).collect();
        Record {
            patient: f(&self.patient),
            conditions: all(&self.conditions),
            observations: all(&self.observations),
            procedures: all(&self.procedures),
            medications: all(&self.medications),
        }
    }
}

/// The ICD-10-CM code of a Condition.
pub fn icd10cm(condition: &Value) -> Option<String> {
    condition
        .pointer("/code/coding")?
        .as_array()?
        .iter()
        .find(|c| c.get("system").and_then(Value::as_str) == Some(ICD10CM))
        .and_then(|c| str_at(c, &["code"]))
}

/// Diagnosis date of a Condition: onset, else the recorded date (as written).
pub fn diagnosis_date(condition: &Value) -> Option<String> {
    str_at(condition, &["onsetDateTime"])
        .or_else(|| str_at(condition, &["onsetPeriod", "start"]))
        .or_else(|| str_at(condition, &["recordedDate"]))
}

/// When a Procedure was done or a MedicationRequest written.
pub fn treatment_date(resource: &Value) -> Option<String> {
    str_at(resource, &["performedDateTime"])
        .or_else(|| str_at(resource, &["performedPeriod", "start"]))
        .or_else(|| str_at(resource, &["authoredOn"]))
}

/// The Condition ids a treatment gives as its reason.
pub fn reason_ids(resource: &Value) -> Vec<String> {
    resource
        .get("reasonReference")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("reference")?.as_str())
        .filter_map(crate::fhir::json::reference_parts)
        .filter(|(t, _)| t == "Condition")
        .map(|(_, id)| id)
        .collect()
}

fn reason_code_qualifies(definition: &Definition, resource: &Value) -> bool {
    resource
        .get("reasonCode")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("coding")?.as_array())
        .flatten()
        .any(|c| {
            c.get("system").and_then(Value::as_str) == Some(ICD10CM)
                && c.get("code")
                    .and_then(Value::as_str)
                    .is_some_and(|code| definition.qualifies(code))
        })
}

fn listed_medication(definition: &Definition, resource: &Value) -> bool {
    resource
        .pointer("/medicationCodeableConcept/coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|c| c.get("code").and_then(Value::as_str))
        .any(|code| {
            definition
                .treatment
                .medication_codes
                .iter()
                .any(|m| m == code)
        })
}

/// Groups one page into records, in patient-id order. `visible` decides per resource
/// (security labels, Consent); a patient without a visible qualifying Condition is left out.
pub fn assemble(
    definition: &Definition,
    page: PageResources,
    visible: impl Fn(&Value) -> bool,
) -> Vec<Record> {
    let mut records: BTreeMap<String, Record> = BTreeMap::new();
    for patient in page.patients.into_iter().filter(|p| visible(p)) {
        if let Some(id) = str_at(&patient, &["id"]) {
            records.insert(
                id,
                Record {
                    patient,
                    ..Record::default()
                },
            );
        }
    }
    let owner = |r: &Value| patient_of(r).filter(|_| visible(r));
    for condition in page.conditions {
        if !icd10cm(&condition).is_some_and(|c| definition.qualifies(&c)) {
            continue;
        }
        if let Some(record) = owner(&condition).and_then(|p| records.get_mut(&p)) {
            record.conditions.push(condition);
        }
    }
    records.retain(|_, r| !r.conditions.is_empty());
    for observation in page.observations {
        if let Some(record) = owner(&observation).and_then(|p| records.get_mut(&p)) {
            record.observations.push(observation);
        }
    }
    for (list, is_procedure) in [(page.procedures, true), (page.medications, false)] {
        for treatment in list {
            let Some(record) = owner(&treatment).and_then(|p| records.get_mut(&p)) else {
                continue;
            };
            let condition_ids: Vec<String> = record
                .conditions
                .iter()
                .filter_map(|c| str_at(c, &["id"]))
                .collect();
            let linked = reason_ids(&treatment)
                .iter()
                .any(|id| condition_ids.contains(id))
                || reason_code_qualifies(definition, &treatment)
                || (!is_procedure && listed_medication(definition, &treatment));
            let first_diagnosis = record.conditions.iter().filter_map(diagnosis_date).min();
            let after_diagnosis = match (first_diagnosis, treatment_date(&treatment)) {
                (Some(dx), Some(done)) if definition.per_condition => {
                    done.get(..10).unwrap_or(&done) >= dx.get(..10).unwrap_or(&dx)
                }
                _ => true,
            };
            if linked && after_diagnosis {
                if is_procedure {
                    record.procedures.push(treatment);
                } else {
                    record.medications.push(treatment);
                }
            }
        }
    }
    records.into_values().collect()
}
