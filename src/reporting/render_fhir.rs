//! A report as a FHIR R4 `MeasureReport` (status complete, type summary): one group per
//! report group with its populations and score, one stratifier per stratify key (and one
//! for their cross-classification, with `stratum.component`). Suppressed counts carry the
//! data-absent-reason `masked` instead of a count.

use super::model::{Group, Report, Role, Stratifier, Val};
use serde_json::{json, Map, Value};

const BASE: &str = "http://chartroom.dev/fhir";
const POPULATION: &str = "http://terminology.hl7.org/CodeSystem/measure-population";
const ABSENT: &str = "http://hl7.org/fhir/StructureDefinition/data-absent-reason";
const STANDARD: &[&str] = &[
    "initial-population",
    "numerator",
    "numerator-exclusion",
    "denominator",
    "denominator-exclusion",
    "denominator-exception",
    "measure-population",
    "measure-population-exclusion",
    "measure-observation",
];

fn absent(reason: &str) -> Value {
    json!([{"url": ABSENT, "valueCode": reason}])
}

fn population(code: &str, value: Val) -> Value {
    let system = if STANDARD.contains(&code) {
        POPULATION.to_string()
    } else {
        format!("{BASE}/CodeSystem/report-population")
    };
    let mut out = json!({"code": {"coding": [{"system": system, "code": code}], "text": code}});
    match value {
        Val::Num(n) => out["count"] = json!(n.round() as i64),
        Val::Suppressed => out["extension"] = absent("masked"),
        Val::Missing => out["extension"] = absent("not-applicable"),
    }
    out
}

/// Populations, measureScore and other statistics of one cell into `into`.
fn cells(group: &Group, values: &[Val], into: &mut Map<String, Value>) {
    let mut populations = Vec::new();
    let mut extras = Vec::new();
    for (column, value) in group.columns.iter().zip(values) {
        match column.role {
            Role::Population(code) => populations.push(population(code, *value)),
            Role::Score => {
                let score = match value {
                    Val::Num(v) => json!({"value": v, "unit": group.unit}),
                    Val::Suppressed => json!({"extension": absent("masked")}),
                    Val::Missing => json!({"extension": absent("not-applicable")}),
                };
                into.insert("measureScore".into(), score);
            }
            Role::Extra => {
                let mut ext = json!({"url": format!("{BASE}/StructureDefinition/report-statistic"),
                    "extension": [{"url": "name", "valueString": column.name}]});
                if let Val::Num(v) = value {
                    ext["extension"]
                        .as_array_mut()
                        .expect("array")
                        .push(json!({"url": "value", "valueDecimal": v}));
                } else {
                    ext["extension"].as_array_mut().expect("array").push(json!({"url": "absent", "valueCode": if *value == Val::Suppressed { "masked" } else { "not-applicable" }}));
                }
                extras.push(ext);
            }
        }
    }
    if !extras.is_empty() {
        into.insert("extension".into(), Value::Array(extras));
    }
    if !populations.is_empty() {
        into.insert("population".into(), Value::Array(populations));
    }
}

fn key_concept(name: &str) -> Value {
    json!({"coding": [{"system": format!("{BASE}/CodeSystem/report-stratifier"), "code": name}], "text": name})
}

fn stratifier(group: &Group, s: &Stratifier) -> Value {
    let strata: Vec<Value> = s
        .strata
        .iter()
        .map(|st| {
            let mut out = Map::new();
            if s.keys.len() == 1 {
                out.insert("value".into(), json!({"text": st.values[0]}));
            } else {
                let components: Vec<Value> = s
                    .keys
                    .iter()
                    .zip(&st.values)
                    .map(|(k, v)| json!({"code": key_concept(k.name()), "value": {"text": v}}))
                    .collect();
                out.insert("component".into(), Value::Array(components));
            }
            cells(group, &st.cells, &mut out);
            Value::Object(out)
        })
        .collect();
    json!({
        "code": s.keys.iter().map(|k| key_concept(k.name())).collect::<Vec<_>>(),
        "stratum": strata,
    })
}

/// The MeasureReport of `report`, dated `now` (a FHIR dateTime).
pub fn measure_report(report: &Report, now: &str) -> Value {
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            let mut out = Map::new();
            out.insert(
                "code".into(),
                json!({"coding": [{"system": format!("{BASE}/CodeSystem/report-group"), "code": g.id}], "text": g.label}),
            );
            cells(g, &g.total, &mut out);
            if !g.stratifiers.is_empty() {
                out.insert(
                    "stratifier".into(),
                    Value::Array(g.stratifiers.iter().map(|s| stratifier(g, s)).collect()),
                );
            }
            Value::Object(out)
        })
        .collect();
    let mut extensions: Vec<Value> = report
        .params
        .iter()
        .map(|(n, v)| json!({"url": format!("{BASE}/StructureDefinition/report-parameter"), "valueString": format!("{n}={v}")}))
        .collect();
    extensions.extend(report.notes.iter().map(
        |n| json!({"url": format!("{BASE}/StructureDefinition/report-note"), "valueString": n}),
    ));
    if let Some(k) = report.suppression {
        extensions.push(json!({"url": format!("{BASE}/StructureDefinition/report-suppression-threshold"), "valueInteger": k}));
    }
    let mut out = json!({
        "resourceType": "MeasureReport",
        "extension": extensions,
        "status": "complete",
        "type": "summary",
        "measure": format!("{BASE}/Measure/{}", report.kind.name()),
        "date": now,
        "period": {"start": report.start.to_string(), "end": report.end.to_string()},
    });
    if !groups.is_empty() {
        out["group"] = Value::Array(groups);
    }
    out
}
