//! Round trip of the official R4 examples: each one fhirbolt parses is stored with PUT,
//! read back, and compared with what was sent (ignoring the server's meta).

use crate::helpers::{parts, spawn_without_rules, Backend, TestApp};
use serde_json::Value;
use std::path::PathBuf;

/// The unpacked `hl7.fhir.r4.examples` package: `FHIR_EXAMPLES_DIR`, or fetched once into target/.
pub fn examples_dir() -> PathBuf {
    if let Ok(dir) = std::env::var("FHIR_EXAMPLES_DIR") {
        return PathBuf::from(dir);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = root.join("target/fhir-examples/package");
    if !dir.join("Patient-example.json").exists() {
        let status = std::process::Command::new("bash")
            .arg(root.join("scripts/fetch-fhir-examples.sh"))
            .status()
            .expect("run scripts/fetch-fhir-examples.sh");
        assert!(
            status.success(),
            "fetching the official FHIR examples failed (needs npm and the npm registry)"
        );
    }
    dir
}

/// Official examples that break FHIR R4 rules themselves (see the validator's tests).
const KNOWN_INVALID: usize = 14;

fn without_server_meta(mut value: Value) -> Value {
    if let Some(meta) = value.get_mut("meta").and_then(Value::as_object_mut) {
        meta.remove("versionId");
        meta.remove("lastUpdated");
        if meta.is_empty() {
            value.as_object_mut().unwrap().remove("meta");
        }
    }
    value
}

/// JSON equality where numbers compare by value and scale (PostgreSQL's JSONB writes
/// `1E-22` as `0.0000000000000000000001`: the same decimal, other notation).
fn same_json(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            x == y || x.to_string().parse::<f64>().ok() == y.to_string().parse::<f64>().ok()
        }
        (Value::Array(x), Value::Array(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| same_json(p, q))
        }
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| same_json(v, w)))
        }
        _ => a == b,
    }
}

fn round_trip(app: &TestApp) {
    let mut files: Vec<PathBuf> = std::fs::read_dir(examples_dir())
        .expect("examples dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && !p.ends_with("package.json")
                && !p.to_string_lossy().contains(".index.")
        })
        .collect();
    files.sort();
    let (mut parsed, mut stored, mut refused) = (0, 0, Vec::new());
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        let Ok(resource) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        if chartroom::fhir::model::check(&resource).is_err() {
            continue;
        }
        let (Some(t), Some(id)) = (resource["resourceType"].as_str(), resource["id"].as_str())
        else {
            continue;
        };
        if t == "AuditEvent" {
            // append-only: the server writes AuditEvents itself; clients cannot
            continue;
        }
        parsed += 1;
        let (status, body) = parts(app.put(&format!("{t}/{id}"), &resource).send().unwrap());
        if status >= 400 {
            refused.push(format!(
                "{} -> {status}",
                path.file_name().unwrap().to_string_lossy()
            ));
            continue;
        }
        let (status, read) = parts(app.get(&format!("{t}/{id}")).send().unwrap());
        assert_eq!(status, 200, "{t}/{id}: {body}");
        assert!(
            same_json(
                &without_server_meta(read.clone()),
                &without_server_meta(resource)
            ),
            "{} did not round-trip: {read}",
            path.display()
        );
        stored += 1;
    }
    println!(
        "official examples ({:?}): {parsed} parsed by fhirbolt, {stored} round-tripped, {} refused",
        app.backend,
        refused.len()
    );
    assert!(
        refused.len() <= KNOWN_INVALID,
        "unexpected refusals: {refused:?}"
    );
    assert!(stored > 4000, "too few examples stored: {stored}");
}

fn official_examples_round_trip(backend: Backend) {
    // bulk loads of the official examples: the deficiency rules are not under test here
    round_trip(&spawn_without_rules(backend));
}

crate::on_both_backends!(official_examples_round_trip);
