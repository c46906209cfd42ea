//! PATCH with JSON Patch and FHIRPath Patch, alone and inside transaction Bundles.

use crate::both;
use crate::helpers::*;
use serde_json::{json, Value};

fn json_patch(app: &TestApp, path: &str, ops: Value) -> reqwest::blocking::RequestBuilder {
    app.client
        .patch(app.url(path))
        .header("Content-Type", "application/json-patch+json")
        .body(ops.to_string())
}

fn fhirpath_patch(
    app: &TestApp,
    path: &str,
    parts: Vec<Value>,
) -> reqwest::blocking::RequestBuilder {
    let operations: Vec<Value> = parts
        .into_iter()
        .map(|p| json!({"name": "operation", "part": p}))
        .collect();
    app.client
        .patch(app.url(path))
        .header("Content-Type", FHIR_JSON)
        .body(json!({"resourceType": "Parameters", "parameter": operations}).to_string())
}

fn seed(app: &TestApp) {
    let (status, _) = parts(app.put("Patient/p1", &json!({"resourceType": "Patient", "id": "p1", "birthDate": "1970-01-01",
        "name": [{"family": "Old", "given": ["A"]}], "identifier": [{"value": "a"}, {"value": "b"}]})).send().unwrap());
    assert_eq!(status, 201);
}

both!(json_patch_semantics, |app| {
    seed(&app);
    let ops = json!([
        {"op": "test", "path": "/name/0/family", "value": "Old"},
        {"op": "replace", "path": "/name/0/family", "value": "New"},
        {"op": "add", "path": "/name/0/given/-", "value": "B"},
        {"op": "add", "path": "/gender", "value": "female"},
        {"op": "copy", "from": "/identifier/0", "path": "/identifier/-"},
        {"op": "move", "from": "/identifier/0", "path": "/identifier/1"},
        {"op": "remove", "path": "/birthDate"}
    ]);
    let (status, body) = parts(
        json_patch(&app, "Patient/p1", ops)
            .header("If-Match", "W/\"1\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["meta"]["versionId"], "2");
    assert_eq!(
        body["name"][0],
        json!({"family": "New", "given": ["A", "B"]})
    );
    assert_eq!(body["gender"], "female");
    assert_eq!(
        body["identifier"],
        json!([{"value": "b"}, {"value": "a"}, {"value": "a"}])
    );
    assert!(body.get("birthDate").is_none());
    // a failing test op: 422, nothing written
    let (status, outcome) = parts(
        json_patch(
            &app,
            "Patient/p1",
            json!([{"op": "test", "path": "/gender", "value": "male"},
        {"op": "replace", "path": "/gender", "value": "male"}]),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(status, 422, "{outcome}");
    // a result that is not a valid Patient: 400, nothing written
    let (status, _) = parts(
        json_patch(
            &app,
            "Patient/p1",
            json!([{"op": "replace", "path": "/gender", "value": "sometimes"}]),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(status, 400);
    let (status, _) = parts(
        json_patch(
            &app,
            "Patient/p1",
            json!([{"op": "replace", "path": "/id", "value": "other"}]),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(status, 400);
    // stale If-Match: 412; unknown resource: 404; unsupported media type: 415
    let (status, _) = parts(
        json_patch(&app, "Patient/p1", json!([]))
            .header("If-Match", "W/\"1\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 412);
    let (status, _) = parts(json_patch(&app, "Patient/none", json!([])).send().unwrap());
    assert_eq!(status, 404);
    let (status, _) = parts(
        app.client
            .patch(app.url("Patient/p1"))
            .header("Content-Type", "text/plain")
            .body("[]")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 415);
    let (_, current) = parts(app.get("Patient/p1").send().unwrap());
    assert_eq!(current["meta"]["versionId"], "2");
});

both!(fhirpath_patch_semantics, |app| {
    seed(&app);
    let s = |n: &str, v: &str| json!({"name": n, "valueString": v});
    let (status, body) = parts(fhirpath_patch(&app, "Patient/p1", vec![
        json!([s("type", "add"), s("path", "Patient"), s("name", "gender"), {"name": "value", "valueCode": "male"}]),
        json!([s("type", "add"), s("path", "Patient"), s("name", "telecom"),
               {"name": "value", "part": [{"name": "system", "valueCode": "phone"}, {"name": "value", "valueString": "555"}]}]),
        json!([s("type", "insert"), s("path", "Patient.identifier"), {"name": "index", "valueInteger": 0}, {"name": "value", "valueIdentifier": {"value": "z"}}]),
        json!([s("type", "move"), s("path", "Patient.identifier"), {"name": "source", "valueInteger": 2}, {"name": "destination", "valueInteger": 0}]),
        json!([s("type", "replace"), s("path", "Patient.name.family"), s("value", "Newer")]),
        json!([s("type", "delete"), s("path", "Patient.birthDate")]),
    ]).send().unwrap());
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["gender"], "male");
    assert_eq!(
        body["telecom"],
        json!([{"system": "phone", "value": "555"}])
    );
    assert_eq!(
        body["identifier"],
        json!([{"value": "b"}, {"value": "z"}, {"value": "a"}])
    );
    assert_eq!(body["name"][0]["family"], "Newer");
    assert!(body.get("birthDate").is_none());
    // several targets for replace: 422; an invalid result: 400
    let (status, _) = parts(fhirpath_patch(&app, "Patient/p1", vec![json!([s("type", "replace"), s("path", "Patient.identifier"), {"name": "value", "valueIdentifier": {"value": "q"}}])]).send().unwrap());
    assert_eq!(status, 422);
    let (status, _) = parts(fhirpath_patch(&app, "Patient/p1", vec![json!([s("type", "replace"), s("path", "Patient.gender"), {"name": "value", "valueCode": "sometimes"}])]).send().unwrap());
    assert_eq!(status, 400);
});

both!(patch_inside_transaction, |app| {
    seed(&app);
    use base64::Engine;
    let ops = json!([{"op": "replace", "path": "/birthDate", "value": "1999-09-09"}]).to_string();
    let data = base64::engine::general_purpose::STANDARD.encode(ops);
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "Binary", "contentType": "application/json-patch+json", "data": data},
         "request": {"method": "PATCH", "url": "Patient/p1"}},
        {"resource": {"resourceType": "Parameters", "parameter": [{"name": "operation", "part": [
            {"name": "type", "valueCode": "add"}, {"name": "path", "valueString": "Patient"},
            {"name": "name", "valueString": "gender"}, {"name": "value", "valueCode": "other"}]}]},
         "request": {"method": "PATCH", "url": "Patient/p2"}}
    ]});
    // p2 does not exist: 404 and the first PATCH is rolled back
    let (status, outcome) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 404, "{outcome}");
    let (_, p1) = parts(app.get("Patient/p1").send().unwrap());
    assert_eq!(p1["birthDate"], "1970-01-01");
    let (status, _) = parts(
        app.put(
            "Patient/p2",
            &json!({"resourceType": "Patient", "id": "p2"}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(status, 201);
    let (status, reply) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["entry"][0]["resource"]["birthDate"], "1999-09-09");
    assert_eq!(reply["entry"][1]["response"]["status"], "200 OK");
    assert_eq!(reply["entry"][1]["resource"]["gender"], "other");
});
