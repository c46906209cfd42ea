//! CSV (RFC 4180): one row per patient, or per tumour when the definition says so. Lists
//! inside a cell are `;`-separated; an Observation history is `date=value` items.

use super::super::definition::Definition;
use super::super::elements::{condition_codes, patient_facts, readings, tumors};
use super::super::record::{diagnosis_date, Record};
use serde_json::Value;
use std::io::{Result, Write};

const PATIENT: &[&str] = &[
    "patient_id",
    "sex",
    "birth_date",
    "age_group",
    "deceased",
    "city",
    "state",
    "postal_code",
];

const TUMOR: &[&str] = &[
    "condition_id",
    "icd10cm",
    "diagnosis_date",
    "primary_site",
    "histology_icdo3",
    "behavior_icdo3",
    "clinical_stage",
    "pathologic_stage",
    "surgery_date",
    "systemic_therapy_date",
    "procedures",
    "medications",
];

/// The column names for a registry.
pub fn columns(definition: &Definition) -> Vec<String> {
    let mut out: Vec<String> = PATIENT.iter().map(|c| c.to_string()).collect();
    if definition.per_condition {
        out.extend(TUMOR.iter().map(|c| c.to_string()));
        return out;
    }
    out.push("icd10cm_codes".into());
    out.push("first_diagnosis_date".into());
    if definition.complications {
        out.push("complications".into());
    }
    for set in &definition.observations {
        for suffix in ["count", "last", "last_date", "history"] {
            out.push(format!("{}_{suffix}", set.label));
        }
    }
    if definition.treatment.medications {
        out.push("medications".into());
    }
    if definition.treatment.procedures {
        out.push("procedures".into());
    }
    out
}

fn cell(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

fn line(out: &mut dyn Write, cells: &[String]) -> Result<()> {
    let joined: Vec<String> = cells.iter().map(|c| cell(c)).collect();
    out.write_all(joined.join(",").as_bytes())?;
    out.write_all(b"\r\n")
}

pub fn header(out: &mut dyn Write, definition: &Definition) -> Result<()> {
    line(out, &columns(definition))
}

fn opt(value: &Option<String>) -> String {
    value.clone().unwrap_or_default()
}

fn codes_of(list: &[Value], key: &str) -> String {
    list.iter()
        .filter_map(|r| {
            r.pointer(&format!("/{key}/coding/0/code"))
                .and_then(Value::as_str)
        })
        .collect::<Vec<_>>()
        .join(";")
}

pub fn rows(out: &mut dyn Write, definition: &Definition, record: &Record) -> Result<()> {
    let p = patient_facts(record);
    let patient = vec![
        p.id.clone(),
        opt(&p.sex),
        opt(&p.birth_date),
        opt(&p.age_group),
        p.deceased.to_string(),
        opt(&p.city),
        opt(&p.state),
        opt(&p.postal_code),
    ];
    if definition.per_condition {
        for t in tumors(record) {
            let mut cells = patient.clone();
            cells.extend([
                t.condition_id,
                t.icd10cm,
                opt(&t.diagnosis_date),
                opt(&t.primary_site),
                opt(&t.histology),
                opt(&t.behavior),
                opt(&t.clinical_stage),
                opt(&t.pathologic_stage),
                opt(&t.surgery_date),
                opt(&t.systemic_date),
                t.procedures.join(";"),
                t.medications.join(";"),
            ]);
            line(out, &cells)?;
        }
        return Ok(());
    }
    let mut cells = patient;
    let (codes, complications) = condition_codes(record);
    cells.push(codes.join(";"));
    cells.push(
        record
            .conditions
            .iter()
            .filter_map(diagnosis_date)
            .min()
            .unwrap_or_default(),
    );
    if definition.complications {
        cells.push(complications.join(";"));
    }
    for set in &definition.observations {
        let series = readings(record, &set.codes);
        let last = series.last().cloned().unwrap_or_default();
        cells.push(series.len().to_string());
        cells.push(last.1);
        cells.push(last.0);
        cells.push(
            series
                .iter()
                .map(|(d, v)| format!("{d}={v}"))
                .collect::<Vec<_>>()
                .join(";"),
        );
    }
    if definition.treatment.medications {
        cells.push(codes_of(&record.medications, "medicationCodeableConcept"));
    }
    if definition.treatment.procedures {
        cells.push(codes_of(&record.procedures, "code"));
    }
    line(out, &cells)
}
