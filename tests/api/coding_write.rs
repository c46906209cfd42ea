//! Validation of ICD-10 codes on write: `coding_validation` = strict, warn (default), off.

use crate::coding_ops::{CM, PCS};
use crate::helpers::{issue_expressions, parts, spawn_with, Backend, TestApp};
use serde_json::{json, Value};

fn condition(code: &str, display: Option<&str>) -> Value {
    let mut coding = json!({"system": CM, "code": code});
    if let Some(d) = display {
        coding["display"] = json!(d);
    }
    json!({
        "resourceType": "Condition",
        "subject": {"reference": "Patient/p1"},
        "recordedDate": "2026-01-15",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}, coding]}
    })
}

fn post_oo(app: &TestApp, resource: &Value) -> (u16, Value) {
    let t = resource["resourceType"].as_str().unwrap();
    parts(
        app.post(t, resource)
            .header("Prefer", "return=OperationOutcome")
            .send()
            .unwrap(),
    )
}

fn warnings(outcome: &Value) -> Vec<&Value> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["severity"] == "warning")
        .collect()
}

fn strict(backend: Backend) {
    let app = spawn_with(backend, |c| c.coding_validation = "strict".into());
    let (status, o) = post_oo(&app, &condition("QQQ.1", None));
    assert_eq!(status, 422, "{o}");
    assert_eq!(o["issue"][0]["severity"], "error");
    assert_eq!(o["issue"][0]["code"], "code-invalid");
    assert_eq!(
        issue_expressions(&o),
        vec!["Condition.code.coding[1].code".to_string()]
    );
    assert!(o["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("QQQ.1"));
    let (status, bundle) = parts(app.get("Condition").send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(
        bundle["entry"].as_array().map_or(0, Vec::len),
        0,
        "nothing stored"
    );

    // deleted for FY2026: refused on a 2026 date, accepted on an FY2025 date
    let (status, _) = post_oo(&app, &condition("S30.1XXA", None));
    assert_eq!(status, 422);
    let mut older = condition("S30.1XXA", None);
    older["recordedDate"] = json!("2025-03-10");
    assert_eq!(post_oo(&app, &older).0, 201);

    // PCS in a Procedure, ICD-10-CM in Encounter.reasonCode
    let procedure = json!({
        "resourceType": "Procedure", "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "performedDateTime": "2026-01-12",
        "code": {"coding": [{"system": PCS, "code": "ZZZZZZZ"}]}
    });
    let (status, o) = post_oo(&app, &procedure);
    assert_eq!(status, 422, "{o}");
    assert_eq!(
        issue_expressions(&o),
        vec!["Procedure.code.coding[0].code".to_string()]
    );
    let encounter = json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "period": {"start": "2026-01-10", "end": "2026-01-15"},
        "reasonCode": [{"coding": [{"system": CM, "code": "E11.9"}]}, {"coding": [{"system": CM, "code": "XYZ.9"}]}]
    });
    let (status, o) = post_oo(&app, &encounter);
    assert_eq!(status, 422, "{o}");
    assert_eq!(
        issue_expressions(&o),
        vec!["Encounter.reasonCode[1].coding[0].code".to_string()]
    );

    let claim = json!({
        "resourceType": "Claim", "status": "active", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": "Patient/p1"}, "created": "2026-01-16",
        "provider": {"reference": "Organization/o1"},
        "priority": {"coding": [{"code": "normal"}]},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"reference": "Coverage/c1"}}],
        "diagnosis": [{"sequence": 1, "diagnosisCodeableConcept": {"coding": [{"system": CM, "code": "E11.99X"}]}}]
    });
    let (status, o) = post_oo(&app, &claim);
    assert_eq!(status, 422, "{o}");
    assert_eq!(
        issue_expressions(&o),
        vec!["Claim.diagnosis[0].diagnosisCodeableConcept.coding[0].code".to_string()]
    );

    // header, missing 7th character and wrong display are warnings even in strict mode
    let (status, o) = post_oo(&app, &condition("S72.001", None));
    assert_eq!(status, 201, "{o}");
    assert_eq!(warnings(&o).len(), 1);
    assert_eq!(
        warnings(&o)[0]["details"]["coding"][0]["code"],
        "missing-7th-character"
    );
    let (status, _) = post_oo(&app, &condition("E11.9", None));
    assert_eq!(status, 201);
    // an ICD-10-PCS display describing another procedure: stored, with a warning
    let procedure = json!({
        "resourceType": "Procedure", "status": "completed",
        "subject": {"reference": "Patient/p1"}, "performedDateTime": "2026-01-15",
        "code": {"coding": [{"system": PCS, "code": "0DTJ4ZZ", "display": "Excision of Gallbladder"}]}
    });
    let (status, o) = post_oo(&app, &procedure);
    assert_eq!(status, 201, "{o}");
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{o}");
    assert!(
        w[0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("does not describe"),
        "{o}"
    );
}

fn warn(backend: Backend) {
    let app = spawn_with(backend, |_| {});
    let (status, o) = post_oo(&app, &condition("QQQ.1", None));
    assert_eq!(status, 201, "{o}");
    let w = warnings(&o);
    assert_eq!(w.len(), 1, "{o}");
    assert_eq!(w[0]["details"]["coding"][0]["code"], "invalid-code");
    assert_eq!(w[0]["expression"][0], "Condition.code.coding[1].code");
    let (_, bundle) = parts(app.get("Condition").send().unwrap());
    assert_eq!(bundle["entry"].as_array().map_or(0, Vec::len), 1, "stored");

    let (_, o) = post_oo(&app, &condition("E11", None));
    let text = warnings(&o)[0]["diagnostics"].as_str().unwrap().to_string();
    assert!(text.contains("header") && text.contains("E11.0"), "{text}");
    let (_, o) = post_oo(&app, &condition("S72.001", None));
    let text = warnings(&o)[0]["diagnostics"].as_str().unwrap().to_string();
    assert!(
        text.contains("7th character") && text.contains("A (initial"),
        "{text}"
    );
    let (_, o) = post_oo(&app, &condition("E11.9", Some("Sugar")));
    let text = warnings(&o)[0]["diagnostics"].as_str().unwrap().to_string();
    assert!(
        text.contains("expected 'Type 2 diabetes mellitus without complications'"),
        "{text}"
    );
    let (_, o) = post_oo(
        &app,
        &condition(
            "E11.9",
            Some("type 2 diabetes mellitus without complications"),
        ),
    );
    assert!(warnings(&o).is_empty(), "{o}");

    // the default return is the resource, stored as sent
    let created = app.create(&condition("QQQ.1", None));
    assert_eq!(created["code"]["coding"][1]["code"], "QQQ.1");
    // updates are checked too
    let id = created["id"].as_str().unwrap();
    let (status, o) = parts(
        app.put(&format!("Condition/{id}"), &{
            let mut c = condition("E11", None);
            c["id"] = json!(id);
            c
        })
        .header("Prefer", "return=OperationOutcome")
        .send()
        .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(
        warnings(&o)[0]["details"]["coding"][0]["code"],
        "header-code"
    );
}

fn off(backend: Backend) {
    let app = spawn_with(backend, |c| c.coding_validation = "off".into());
    let (status, o) = post_oo(&app, &condition("QQQ.1", None));
    assert_eq!(status, 201);
    assert!(warnings(&o).is_empty(), "{o}");
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$name(crate::helpers::Backend::Sqlite);
            }
            #[test]
            fn postgres() {
                super::$name(crate::helpers::Backend::Postgres);
            }
        }
    };
}

on_both!(strict);
on_both!(warn);
on_both!(off);
