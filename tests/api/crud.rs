//! Create, read, vread, update, delete and their headers.

use crate::both;
use crate::helpers::parts;
use serde_json::json;

fn patient() -> serde_json::Value {
    json!({"resourceType": "Patient", "name": [{"family": "Chalmers", "given": ["Peter"]}], "gender": "male", "birthDate": "1974-12-25"})
}

both!(create_assigns_id_version_and_headers, |app| {
    let mut body = patient();
    body["id"] = json!("client-chosen");
    body["meta"] = json!({"versionId": "77", "lastUpdated": "2001-01-01T00:00:00Z", "tag": [{"code": "keep"}]});
    let response = app.post("Patient", &body).send().unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["Location"].to_str().unwrap().to_string();
    assert_eq!(response.headers()["ETag"], "W/\"1\"");
    assert!(response.headers().contains_key("Last-Modified"));
    let (_, created) = parts(response);
    let id = created["id"].as_str().unwrap();
    assert_ne!(id, "client-chosen", "the server assigns ids on create");
    assert_eq!(location, app.url(&format!("Patient/{id}/_history/1")));
    assert_eq!(created["meta"]["versionId"], "1");
    assert_ne!(created["meta"]["lastUpdated"], "2001-01-01T00:00:00Z");
    assert_eq!(created["meta"]["tag"][0]["code"], "keep");

    let (status, read) = parts(app.get(&format!("Patient/{id}")).send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(read, created);
});

both!(update_creates_versions_and_update_as_create, |app| {
    let mut body = patient();
    body["id"] = json!("p1");
    let (status, v1) = parts(app.put("Patient/p1", &body).send().unwrap());
    assert_eq!(status, 201, "update-as-create answers 201: {v1}");
    assert_eq!(v1["meta"]["versionId"], "1");
    body["active"] = json!(true);
    let response = app.put("Patient/p1", &body).send().unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["ETag"], "W/\"2\"");
    let (_, v2) = parts(response);
    assert_eq!(v2["active"], true);
    let (status, old) = parts(app.get("Patient/p1/_history/1").send().unwrap());
    assert_eq!(status, 200);
    assert!(old.get("active").is_none());
    assert_eq!(old["meta"]["versionId"], "1");
    let (status, _) = parts(app.get("Patient/p1/_history/3").send().unwrap());
    assert_eq!(status, 404);
});

both!(update_id_rules, |app| {
    let mut body = patient();
    body["id"] = json!("other");
    let (status, outcome) = parts(app.put("Patient/p1", &body).send().unwrap());
    assert_eq!(status, 400);
    assert_eq!(outcome["issue"][0]["expression"][0], "Patient.id");
    let (status, _) = parts(app.put("Patient/p1", &patient()).send().unwrap());
    assert_eq!(
        status, 400,
        "an update without an id in the body is refused"
    );
    let mut bad = patient();
    bad["id"] = json!("bad id!");
    let (status, _) = parts(app.put("Patient/bad%20id!", &bad).send().unwrap());
    assert_eq!(status, 400);
    let (status, _) = parts(app.get("Patient/p1").send().unwrap());
    assert_eq!(status, 404, "nothing stored after refused writes");
});

both!(if_match_guards_updates_and_deletes, |app| {
    let mut body = patient();
    body["id"] = json!("p2");
    app.put("Patient/p2", &body).send().unwrap();
    let (status, outcome) = parts(
        app.put("Patient/p2", &body)
            .header("If-Match", "W/\"9\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 412, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let (status, _) = parts(
        app.put("Patient/p2", &body)
            .header("If-Match", "W/\"1\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let (status, _) = parts(
        app.delete("Patient/p2")
            .header("If-Match", "W/\"1\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 412);
    let (status, _) = parts(
        app.delete("Patient/p2")
            .header("If-Match", "W/\"2\"")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 204);
});

both!(delete_is_logical, |app| {
    let created = app.create(&patient());
    let id = created["id"].as_str().unwrap();
    let response = app.delete(&format!("Patient/{id}")).send().unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["ETag"], "W/\"2\"");
    let (status, outcome) = parts(app.get(&format!("Patient/{id}")).send().unwrap());
    assert_eq!(status, 410);
    assert_eq!(outcome["issue"][0]["code"], "deleted");
    let (status, _) = parts(app.delete(&format!("Patient/{id}")).send().unwrap());
    assert_eq!(status, 204, "deleting a deleted resource changes nothing");
    let (status, v1) = parts(app.get(&format!("Patient/{id}/_history/1")).send().unwrap());
    assert_eq!(status, 200, "old versions stay readable");
    assert_eq!(v1["name"][0]["family"], "Chalmers");
    let (status, _) = parts(app.get(&format!("Patient/{id}/_history/2")).send().unwrap());
    assert_eq!(status, 410);
    let (status, _) = parts(app.delete("Patient/never-existed").send().unwrap());
    assert_eq!(status, 404);
    // an update brings it back as a new version
    let mut body = patient();
    body["id"] = json!(id);
    let (status, back) = parts(app.put(&format!("Patient/{id}"), &body).send().unwrap());
    assert_eq!(status, 201);
    assert_eq!(back["meta"]["versionId"], "3");
});

both!(conditional_reads, |app| {
    let created = app.create(&patient());
    let path = format!("Patient/{}", created["id"].as_str().unwrap());
    let response = app
        .get(&path)
        .header("If-None-Match", "W/\"1\"")
        .send()
        .unwrap();
    assert_eq!(response.status(), 304);
    let response = app
        .get(&path)
        .header("If-None-Match", "W/\"0\"")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    let modified = app.get(&path).send().unwrap().headers()["Last-Modified"]
        .to_str()
        .unwrap()
        .to_string();
    let response = app
        .get(&path)
        .header("If-Modified-Since", modified)
        .send()
        .unwrap();
    assert_eq!(response.status(), 304);
    let response = app
        .get(&path)
        .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
});

both!(prefer_return, |app| {
    let response = app
        .post("Patient", &patient())
        .header("Prefer", "return=minimal")
        .send()
        .unwrap();
    assert_eq!(response.status(), 201);
    assert!(response.headers().contains_key("Location"));
    assert_eq!(response.text().unwrap(), "");
    let (status, body) = parts(
        app.post("Patient", &patient())
            .header("Prefer", "return=OperationOutcome")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201);
    assert_eq!(body["resourceType"], "OperationOutcome");
    let (_, body) = parts(
        app.post("Patient", &patient())
            .header("Prefer", "return=representation")
            .send()
            .unwrap(),
    );
    assert_eq!(body["resourceType"], "Patient");
});

both!(every_resource_type_is_stored, |app| {
    for (resource_type, body) in [
        (
            "Organization",
            json!({"resourceType": "Organization", "name": "General Hospital"}),
        ),
        (
            "Practitioner",
            json!({"resourceType": "Practitioner", "name": [{"family": "Who"}]}),
        ),
        (
            "Encounter",
            json!({"resourceType": "Encounter", "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"}}),
        ),
        (
            "Condition",
            json!({"resourceType": "Condition", "subject": {"reference": "Patient/x"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}}),
        ),
        (
            "Procedure",
            json!({"resourceType": "Procedure", "status": "completed", "subject": {"reference": "Patient/x"}}),
        ),
        (
            "Observation",
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"}}),
        ),
        (
            "MedicationRequest",
            json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "Patient/x"}, "medicationCodeableConcept": {"text": "metformin"}}),
        ),
        (
            "Basic",
            json!({"resourceType": "Basic", "code": {"text": "x"}}),
        ),
        (
            "DocumentReference",
            json!({"resourceType": "DocumentReference", "status": "current", "content": [{"attachment": {"contentType": "text/plain", "data": "aGVsbG8="}}]}),
        ),
    ] {
        let created = app.create(&body);
        let (status, read) = parts(
            app.get(&format!(
                "{resource_type}/{}",
                created["id"].as_str().unwrap()
            ))
            .send()
            .unwrap(),
        );
        assert_eq!(status, 200, "{resource_type}");
        assert_eq!(read["resourceType"], resource_type);
    }
});
