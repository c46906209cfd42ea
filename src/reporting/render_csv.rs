//! A report as CSV (RFC 4180): one row per total and stratum, a column per stratify key
//! and per measure; suppressed cells read `suppressed`, undefined ones are empty.

use super::model::{Report, Val};
use super::params::Key;

fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

/// A number as CSV text: integers without a fraction, others to 6 decimals at most.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        let text = format!("{v:.6}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn value(v: Val) -> String {
    match v {
        Val::Num(n) => number(n),
        Val::Suppressed => "suppressed".into(),
        Val::Missing => String::new(),
    }
}

/// The CSV text of `report`.
pub fn csv(report: &Report) -> String {
    let mut keys: Vec<Key> = Vec::new();
    let mut columns: Vec<&str> = Vec::new();
    for g in &report.groups {
        for s in &g.stratifiers {
            for k in &s.keys {
                if !keys.contains(k) {
                    keys.push(*k);
                }
            }
        }
        for c in &g.columns {
            if !columns.contains(&c.name) {
                columns.push(c.name);
            }
        }
    }
    let mut out = String::new();
    let header: Vec<String> = ["group", "stratifier"]
        .iter()
        .map(|s| s.to_string())
        .chain(keys.iter().map(|k| k.name().to_string()))
        .chain(columns.iter().map(|c| c.to_string()))
        .collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for g in &report.groups {
        let mut row = |stratifier: String, values: Vec<(Key, &str)>, cells: &[Val]| {
            let mut fields = vec![field(&g.id), field(&stratifier)];
            for k in &keys {
                fields.push(
                    values
                        .iter()
                        .find(|(key, _)| key == k)
                        .map(|(_, v)| field(v))
                        .unwrap_or_default(),
                );
            }
            for c in &columns {
                fields.push(g.col(c).map(|i| value(cells[i])).unwrap_or_default());
            }
            out.push_str(&fields.join(","));
            out.push_str("\r\n");
        };
        row("total".into(), Vec::new(), &g.total);
        for s in &g.stratifiers {
            let name = s
                .keys
                .iter()
                .map(|k| k.name())
                .collect::<Vec<_>>()
                .join("+");
            for st in &s.strata {
                let values = s
                    .keys
                    .iter()
                    .copied()
                    .zip(st.values.iter().map(String::as_str))
                    .collect();
                row(name.clone(), values, &st.cells);
            }
        }
    }
    out
}
