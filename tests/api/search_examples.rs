//! Table-driven: the official R4 examples are stored, then for every SearchParameter that
//! has a value in some example, one search built from that value must find that example.

use crate::examples::examples_dir;
use crate::helpers::{parts, spawn_without_rules, Backend, TestApp};
use chartroom::fhir::index::{extract, IndexValue};
use chartroom::fhir::json::instant;
use serde_json::Value;
use std::collections::BTreeMap;

/// A search value that must match `value`, or None when the value cannot be searched alone.
fn query_value(value: &IndexValue) -> Option<(String, String)> {
    let encoded = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
    Some(match value {
        IndexValue::String { exact, .. } => (String::new(), encoded(exact)),
        IndexValue::Token {
            system: Some(s),
            code: Some(c),
            ..
        } => (String::new(), encoded(&format!("{s}|{c}"))),
        IndexValue::Token {
            system: None,
            code: Some(c),
            ..
        } => (String::new(), encoded(c)),
        IndexValue::Token {
            display: Some(text),
            code: None,
            ..
        } => (":text".into(), encoded(text)),
        IndexValue::Date { low, high } if *low > i64::MIN / 2 && *high < i64::MAX / 2 => {
            (String::new(), format!("ge{}", encoded(&instant(*low))))
        }
        IndexValue::Number { value, .. } | IndexValue::Quantity { value, .. }
            if value.is_finite() && *value != 0.0 =>
        {
            (String::new(), format!("ap{value}"))
        }
        IndexValue::Reference {
            target_type: Some(t),
            target_id: Some(id),
            ..
        } => (String::new(), encoded(&format!("{t}/{id}"))),
        IndexValue::Reference {
            url: Some(url),
            target_id: None,
            ..
        } => (String::new(), encoded(url)),
        IndexValue::Reference {
            identifier_system: Some(s),
            identifier_value: Some(v),
            ..
        } => (":identifier".into(), encoded(&format!("{s}|{v}"))),
        IndexValue::Uri { value } => (String::new(), encoded(value)),
        _ => return None,
    })
}

fn run(app: &TestApp) {
    let mut files: Vec<_> = std::fs::read_dir(examples_dir())
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    // one example per (type, param): the first whose value can be searched
    let mut probes: BTreeMap<(String, String), (String, String, String)> = BTreeMap::new();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
    {
        let Ok(resource) =
            serde_json::from_str::<Value>(&std::fs::read_to_string(path).unwrap_or_default())
        else {
            continue;
        };
        let (Some(t), Some(id)) = (resource["resourceType"].as_str(), resource["id"].as_str())
        else {
            continue;
        };
        if chartroom::fhir::model::check(&resource).is_err() {
            continue;
        }
        let Ok(entries) = extract(&resource) else {
            continue;
        };
        let wanted: Vec<_> = entries
            .iter()
            .filter(|e| {
                e.component.is_none() && !probes.contains_key(&(t.to_string(), e.param.clone()))
            })
            .filter_map(|e| query_value(&e.value).map(|q| (e.param.clone(), q)))
            .collect();
        if wanted.is_empty() {
            continue;
        }
        let (status, _) = parts(app.put(&format!("{t}/{id}"), &resource).send().unwrap());
        if status >= 400 {
            continue;
        }
        for (param, (modifier, value)) in wanted {
            probes.entry((t.to_string(), param.clone())).or_insert((
                id.to_string(),
                modifier,
                value,
            ));
        }
    }
    let mut failures = Vec::new();
    for ((t, param), (id, modifier, value)) in &probes {
        let query = format!("{t}?_id={id}&{param}{modifier}={value}");
        let (status, bundle) = parts(
            app.get(&query)
                .header("Prefer", "handling=strict")
                .send()
                .unwrap(),
        );
        if status != 200 || bundle["total"] != 1 {
            failures.push(format!("{query} -> {status} total {}", bundle["total"]));
        }
    }
    println!(
        "search parameters probed with official example data ({:?}): {}, failures: {}",
        app.backend,
        probes.len(),
        failures.len()
    );
    assert!(
        probes.len() > 700,
        "too few parameters probed: {}",
        probes.len()
    );
    assert!(
        failures.is_empty(),
        "{} searches missed their example:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn every_parameter_finds_its_example(backend: Backend) {
    // bulk loads of the official examples: the deficiency rules are not under test here
    run(&spawn_without_rules(backend));
}

crate::on_both_backends!(every_parameter_finds_its_example);
