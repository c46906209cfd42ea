//! A report as plain JSON (`_format=json`): groups with named cells; a suppressed cell is
//! `null` and named in the cell's `suppressed` list.

use super::model::{Group, Report, Val};
use serde_json::{json, Map, Value};

fn cells(group: &Group, values: &[Val]) -> Value {
    let mut out = Map::new();
    let mut suppressed = Vec::new();
    for (column, value) in group.columns.iter().zip(values) {
        let v = match value {
            Val::Num(n) => json!(n),
            Val::Suppressed => {
                suppressed.push(json!(column.name));
                Value::Null
            }
            Val::Missing => Value::Null,
        };
        out.insert(column.name.to_string(), v);
    }
    if !suppressed.is_empty() {
        out.insert("suppressed".into(), Value::Array(suppressed));
    }
    Value::Object(out)
}

/// The plain-JSON document of `report`.
pub fn plain_json(report: &Report) -> Value {
    let groups: Vec<Value> = report
        .groups
        .iter()
        .map(|g| {
            json!({
                "id": g.id,
                "label": g.label,
                "unit": g.unit,
                "total": cells(g, &g.total),
                "stratifiers": g.stratifiers.iter().map(|s| json!({
                    "keys": s.keys.iter().map(|k| k.name()).collect::<Vec<_>>(),
                    "strata": s.strata.iter().map(|st| {
                        let values: Map<String, Value> = s.keys.iter().zip(&st.values)
                            .map(|(k, v)| (k.name().to_string(), json!(v))).collect();
                        json!({"values": values, "cells": cells(g, &st.cells)})
                    }).collect::<Vec<_>>(),
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    let params: Map<String, Value> = report
        .params
        .iter()
        .map(|(n, v)| (n.clone(), json!(v)))
        .collect();
    json!({
        "report": report.kind.name(),
        "title": report.title,
        "period": {"start": report.start.to_string(), "end": report.end.to_string()},
        "parameters": params,
        "notes": report.notes,
        "suppression": report.suppression.map(|k| json!({"threshold": k})),
        "groups": groups,
    })
}
