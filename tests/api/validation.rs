//! Validation on write: 400 with OperationOutcome locating the problem; nothing stored.

use crate::both;
use crate::helpers::{issue_expressions, parts, TestApp};
use serde_json::{json, Value};

fn refused(app: &TestApp, path: &str, body: &str) -> Value {
    let response = app
        .client
        .post(app.url(path))
        .header("Content-Type", "application/fhir+json")
        .body(body.to_string())
        .send()
        .unwrap();
    let (status, outcome) = parts(response);
    assert!(
        status == 400 || status == 422,
        "expected refusal, got {status}: {outcome}"
    );
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    outcome
}

fn nothing_stored(app: &TestApp, resource_type: &str) {
    let (_, history) = parts(
        app.get(&format!("{resource_type}/_history"))
            .send()
            .unwrap(),
    );
    assert_eq!(history["total"], 0, "a refused write left something behind");
}

both!(malformed_input_is_refused, |app| {
    refused(&app, "Patient", "{not json");
    refused(&app, "Patient", "");
    refused(&app, "Patient", "[1, 2]");
    let outcome = refused(
        &app,
        "Patient",
        r#"{"resourceType": "Observation", "status": "final", "code": {"text": "x"}}"#,
    );
    assert_eq!(issue_expressions(&outcome), ["resourceType"]);
    nothing_stored(&app, "Patient");
});

both!(element_errors_are_located, |app| {
    let body = json!({
        "resourceType": "Patient",
        "gender": "bogus",
        "birthDate": "25/12/1974",
        "name": [{"family": "", "given": []}],
        "active": "yes",
        "shoeSize": 44
    });
    let outcome = refused(&app, "Patient", &body.to_string());
    let expressions = issue_expressions(&outcome);
    for expected in [
        "Patient.gender",
        "Patient.birthDate",
        "Patient.name[0].family",
        "Patient.name[0].given",
        "Patient.active",
        "Patient.shoeSize",
    ] {
        assert!(
            expressions.iter().any(|e| e == expected),
            "{expected} not located in {expressions:?}"
        );
    }
    nothing_stored(&app, "Patient");
});

both!(required_elements_are_enforced, |app| {
    for (resource_type, body, missing) in [
        (
            "Encounter",
            json!({"resourceType": "Encounter", "class": {"code": "IMP"}}),
            "Encounter.status",
        ),
        (
            "Encounter",
            json!({"resourceType": "Encounter", "status": "finished"}),
            "Encounter.class",
        ),
        (
            "Condition",
            json!({"resourceType": "Condition", "code": {"text": "x"}}),
            "Condition.subject",
        ),
        (
            "Procedure",
            json!({"resourceType": "Procedure", "subject": {"reference": "Patient/1"}}),
            "Procedure.status",
        ),
        (
            "Observation",
            json!({"resourceType": "Observation", "status": "final"}),
            "Observation.code",
        ),
        (
            "MedicationRequest",
            json!({"resourceType": "MedicationRequest", "status": "active", "subject": {"reference": "Patient/1"}, "medicationCodeableConcept": {"text": "x"}}),
            "MedicationRequest.intent",
        ),
        (
            "Patient",
            json!({"resourceType": "Patient", "link": [{"type": "seealso"}]}),
            "Patient.link[0].other",
        ),
    ] {
        let outcome = refused(&app, resource_type, &body.to_string());
        assert!(
            issue_expressions(&outcome).iter().any(|e| e == missing),
            "{missing}: {outcome}"
        );
        assert_eq!(outcome["issue"][0]["code"], "required");
        nothing_stored(&app, resource_type);
    }
});
