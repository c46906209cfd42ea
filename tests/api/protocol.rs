//! Wire behaviour: media types, `_format`, `_pretty`, errors as OperationOutcome, limits, metadata.

use crate::both;
use crate::helpers::{parts, spawn_with, Backend};
use serde_json::json;

both!(json_media_types, |app| {
    let body = json!({"resourceType": "Patient", "active": true});
    let response = app
        .client
        .post(app.url("Patient"))
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .unwrap();
    assert_eq!(response.status(), 201, "plain application/json is accepted");
    assert!(response.headers()["Content-Type"]
        .to_str()
        .unwrap()
        .starts_with("application/fhir+json"));
    let response = app
        .client
        .post(app.url("Patient"))
        .header("Content-Type", "application/fhir+xml")
        .body("<Patient/>")
        .send()
        .unwrap();
    assert_eq!(response.status(), 415);
    let (status, outcome) = parts(app.get("metadata?_format=xml").send().unwrap());
    assert_eq!(status, 406);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = parts(
        app.get("metadata")
            .header("Accept", "application/fhir+xml")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 406);
    let (status, _) = parts(app.get("metadata?_format=json").send().unwrap());
    assert_eq!(status, 200);
    let text = app
        .get("metadata?_pretty=true")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        text.contains("\n  \"resourceType\""),
        "pretty output is indented"
    );
});

both!(errors_are_operation_outcomes, |app| {
    let (status, outcome) = parts(app.get("NotAType/1").send().unwrap());
    assert_eq!(status, 404);
    assert_eq!(outcome["issue"][0]["code"], "not-found");
    let (status, outcome) = parts(
        app.client
            .get(app.url("../nowhere/at/all/here/x"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 404);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, outcome) = parts(app.client.patch(app.url("metadata")).send().unwrap());
    assert_eq!(status, 405);
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = parts(app.get("Patient/missing").send().unwrap());
    assert_eq!(status, 404);
});

#[test]
fn oversized_bodies_are_refused() {
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let app = spawn_with(backend, |c| c.max_body_bytes = 1024);
        let big = json!({"resourceType": "Patient", "name": [{"text": "x".repeat(4096)}]});
        let (status, outcome) = parts(app.post("Patient", &big).send().unwrap());
        assert_eq!(status, 413);
        assert_eq!(outcome["issue"][0]["code"], "too-costly");
        let (_, history) = parts(app.get("Patient/_history").send().unwrap());
        assert_eq!(history["total"], 0);
    }
}

both!(capability_statement_tells_the_truth, |app| {
    let (status, cs) = parts(app.get("metadata").send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    let resources = cs["rest"][0]["resource"].as_array().unwrap();
    assert_eq!(resources.len(), 146, "every R4 resource type is served");
    let patient = resources.iter().find(|r| r["type"] == "Patient").unwrap();
    let interactions: Vec<&str> = patient["interaction"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["code"].as_str().unwrap())
        .collect();
    for needed in [
        "read",
        "vread",
        "update",
        "delete",
        "create",
        "history-instance",
        "history-type",
    ] {
        assert!(interactions.contains(&needed), "{needed}");
    }
});

both!(health_and_request_ids, |app| {
    let live = app
        .client
        .get(app.base.replace("/fhir", "/health/live"))
        .send()
        .unwrap();
    assert_eq!(live.status(), 200);
    let ready = app
        .client
        .get(app.base.replace("/fhir", "/health/ready"))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);
    let response = app
        .get("metadata")
        .header("X-Request-Id", "trace-me-1")
        .send()
        .unwrap();
    assert_eq!(response.headers()["X-Request-Id"], "trace-me-1");
    let response = app.get("metadata").send().unwrap();
    assert!(!response.headers()["X-Request-Id"].is_empty());
});
