//! Per-entry authorization of transaction and batch Bundles (scopes, compartment, labels,
//! Consent), the per-entry audit trail inside the transaction, PATCH in the audit trail,
//! and the bundle entry limit.

use crate::helpers::{parts, spawn_with, Backend, TestApp};
use crate::security::{json_patch, privacy_consent, put_all, secured, token_for as token};
use serde_json::{json, Value};

fn seed(app: &TestApp) -> String {
    let admin = token("admin", "user/*.cruds", None, &["*"]);
    put_all(
        app,
        &admin,
        &[
            json!({"resourceType": "Patient", "id": "a"}),
            json!({"resourceType": "Patient", "id": "b"}),
            json!({"resourceType": "Observation", "id": "oa", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/a"}}),
            json!({"resourceType": "Observation", "id": "ob", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/b"}}),
            json!({"resourceType": "Condition", "id": "sealed", "subject": {"reference": "Patient/a"}, "code": {"text": "psy"},
               "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]}}),
        ],
    );
    admin
}

fn observation(patient: &str) -> Value {
    json!({"resourceType": "Observation", "status": "final", "code": {"text": "new"}, "subject": {"reference": format!("Patient/{patient}")}})
}

fn count(app: &TestApp, admin: &str, query: &str) -> i64 {
    let (_, body) = parts(app.get(query).bearer_auth(admin).send().unwrap());
    body["total"].as_i64().unwrap()
}

fn entry_statuses(reply: &Value) -> Vec<String> {
    reply["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or("").to_string())
        .collect()
}

fn entries_are_checked(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let writer = token(
        "writer",
        "patient/Observation.cruds patient/Patient.rs",
        Some("a"),
        &[],
    );
    let post = |bundle: &Value, token: &str| {
        parts(app.post("", bundle).bearer_auth(token).send().unwrap())
    };
    // a transaction: one refused entry refuses all, naming the entry
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation("a")},
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation("b")},
    ]});
    let (status, outcome) = post(&transaction, &writer);
    assert_eq!(status, 403, "{outcome}");
    assert!(outcome.to_string().contains("Bundle.entry[1]"), "{outcome}");
    assert_eq!(
        count(&app, &admin, "Observation?_summary=count"),
        2,
        "nothing was written"
    );
    let no_scope = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Condition"}, "resource": {"resourceType": "Condition", "subject": {"reference": "Patient/a"}}},
    ]});
    let (status, outcome) = post(&no_scope, &writer);
    assert_eq!(status, 403);
    assert!(outcome.to_string().contains("Bundle.entry[0]"), "{outcome}");
    // updates and deletes of records the caller cannot see: 404 at the entry
    let hidden = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "DELETE", "url": "Observation/ob"}},
    ]});
    assert_eq!(post(&hidden, &writer).0, 404);
    assert_eq!(count(&app, &admin, "Observation?_id=ob"), 1);
    // an allowed transaction goes through, each entry audited inside it
    let fine = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation("a")},
        {"request": {"method": "PUT", "url": "Observation/oa"}, "resource": {"resourceType": "Observation", "id": "oa", "status": "amended", "code": {"text": "x"}, "subject": {"reference": "Patient/a"}}},
        {"request": {"method": "GET", "url": "Patient/a"}},
    ]});
    let (status, reply) = post(&fine, &writer);
    assert_eq!(status, 200, "{reply}");
    let created = reply["entry"][0]["response"]["location"]
        .as_str()
        .unwrap()
        .to_string();
    let (_, events) = parts(
        app.get("AuditEvent?patient=a&_count=500")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    let writer_events: Vec<&Value> = events["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["agent"][0]["who"]["identifier"]["value"] == "writer" && r["outcome"] == "0")
        .collect();
    let entity = |r: &Value| {
        r["entity"][0]["what"]["reference"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    let subtypes: Vec<(String, String)> = writer_events
        .iter()
        .map(|r| {
            (
                r["subtype"][0]["code"].as_str().unwrap().to_string(),
                entity(r),
            )
        })
        .collect();
    assert!(
        subtypes.contains(&("create".into(), created.clone())),
        "{subtypes:?}"
    );
    assert!(
        subtypes.contains(&("update".into(), "Observation/oa/_history/2".into())),
        "{subtypes:?}"
    );
    assert!(
        subtypes.contains(&("read".into(), "Patient/a/_history/1".into())),
        "{subtypes:?}"
    );

    // a batch: each entry stands alone
    let reader = token("reader", "user/*.rs", None, &[]);
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Condition/sealed"}},
        {"request": {"method": "GET", "url": "Observation/ob"}},
        {"request": {"method": "POST", "url": "Observation"}, "resource": observation("a")},
    ]});
    let (status, reply) = post(&batch, &reader);
    assert_eq!(status, 200);
    let statuses = entry_statuses(&reply);
    assert!(statuses[0].starts_with("404"), "sealed: {statuses:?}");
    assert!(statuses[1].starts_with("200"), "{statuses:?}");
    assert!(
        statuses[2].starts_with("403"),
        "no write scope: {statuses:?}"
    );
    // a user-scoped caller without clearance cannot overwrite a sealed record in a Bundle
    let clerk = token("clerk", "user/*.cruds", None, &[]);
    let overwrite = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "PUT", "url": "Condition/sealed"}, "resource": {"resourceType": "Condition", "id": "sealed", "subject": {"reference": "Patient/a"}, "code": {"text": "gone"}}},
    ]});
    let (_, reply) = post(&overwrite, &clerk);
    assert!(entry_statuses(&reply)[0].starts_with("404"), "{reply}");
    let (_, sealed) = parts(
        app.get("Condition/sealed")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(sealed["code"]["text"], "psy");
}

crate::on_both_backends!(entries_are_checked);

fn consent_in_bundles_and_patch_audit(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let consent = privacy_consent(
        "cb",
        "b",
        json!({"type": "deny", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HMARKT"}]}),
    );
    assert_eq!(
        app.put("Consent/cb", &consent)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        201
    );
    let reader = token("marketing", "user/*.rs", None, &[]);
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/ob"}},
        {"request": {"method": "GET", "url": "Observation/oa"}},
    ]});
    let (_, reply) = parts(
        app.post("", &batch)
            .bearer_auth(&reader)
            .header("X-Purpose-Of-Use", "HMARKT")
            .send()
            .unwrap(),
    );
    let statuses = entry_statuses(&reply);
    assert!(
        statuses[0].starts_with("404") && statuses[1].starts_with("200"),
        "{statuses:?}"
    );
    // PATCH is recorded inside its transaction
    let patch = json!([{"op": "replace", "path": "/status", "value": "amended"}]);
    let patcher = token("patcher", "user/Observation.rus", None, &[]);
    assert_eq!(json_patch(&app, "Observation/oa", &patcher, &patch), 200);
    let (_, events) = parts(
        app.get("AuditEvent?patient=a&_count=500")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    let patched = events["entry"].as_array().unwrap().iter().any(|e| {
        let r = &e["resource"];
        r["agent"][0]["who"]["identifier"]["value"] == "patcher"
            && r["subtype"][0]["code"] == "update"
            && r["entity"][0]["what"]["reference"] == "Observation/oa/_history/2"
    });
    assert!(patched, "{events}");
}

crate::on_both_backends!(consent_in_bundles_and_patch_audit);

fn bundle_entry_limit(backend: Backend) {
    let app = spawn_with(backend, |c| c.max_bundle_entries = 2);
    let entry = json!({"request": {"method": "POST", "url": "Patient"}, "resource": {"resourceType": "Patient"}});
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [entry.clone(), entry.clone(), entry]});
    let (status, outcome) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 400);
    assert_eq!(outcome["issue"][0]["code"], "too-costly");
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("max_bundle_entries"));
    let (_, total) = parts(app.get("Patient?_summary=count").send().unwrap());
    assert_eq!(total["total"], 0);
}

crate::on_both_backends!(bundle_entry_limit);
