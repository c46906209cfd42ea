//! Transaction and batch Bundles: atomicity, reference rewriting, conditional entries.

use crate::both;
use crate::helpers::*;
use serde_json::{json, Value};

fn transaction(entries: Vec<Value>) -> Value {
    json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
}

fn post(full_url: &str, resource: Value) -> Value {
    let t = resource["resourceType"].as_str().unwrap().to_string();
    json!({"fullUrl": full_url, "resource": resource, "request": {"method": "POST", "url": t}})
}

fn history_total(app: &TestApp, t: &str) -> i64 {
    let (status, page) = parts(app.get(&format!("{t}/_history")).send().unwrap());
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().unwrap()
}

fn patients(n: usize) -> Vec<Value> {
    (0..n)
        .map(|i| {
            post(
                &format!("urn:uuid:00000000-0000-0000-0000-{i:012}"),
                json!({"resourceType": "Patient", "name": [{"family": format!("P{i}")}]}),
            )
        })
        .collect()
}

both!(invalid_50th_entry_leaves_nothing, |app| {
    let mut entries = patients(50);
    entries[49]["resource"]["birthDate"] = json!("not a date");
    let (status, outcome) = parts(app.post("", &transaction(entries)).send().unwrap());
    assert_eq!(status, 400, "{outcome}");
    assert!(
        issue_expressions(&outcome).contains(&"Bundle.entry[49]".to_string()),
        "{outcome}"
    );
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("Bundle.entry[49]"));
    assert_eq!(history_total(&app, "Patient"), 0);
});

both!(failure_while_writing_rolls_back, |app| {
    // entry 49 passes validation but fails inside the database transaction (If-Match on a
    // resource that does not exist), after the first 49 were written
    let mut entries = patients(49);
    entries.push(
        json!({"resource": {"resourceType": "Patient", "id": "nope"},
        "request": {"method": "PUT", "url": "Patient/nope", "ifMatch": "W/\"3\""}}),
    );
    let (status, outcome) = parts(app.post("", &transaction(entries)).send().unwrap());
    assert_eq!(status, 412, "{outcome}");
    assert!(
        outcome["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .starts_with("Bundle.entry[49]"),
        "{outcome}"
    );
    assert_eq!(history_total(&app, "Patient"), 0);
    // the index rows the first 49 queued went with the rollback, not into the next
    // transaction on the same connection
    let (status, page) = parts(app.post("", &transaction(patients(2))).send().unwrap());
    assert_eq!(status, 200, "{page}");
    let (status, found) = parts(app.get("Patient?family=P0&_summary=count").send().unwrap());
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["total"], 1, "{found}");
    let (_, found) = parts(app.get("Patient?family=P30&_summary=count").send().unwrap());
    assert_eq!(found["total"], 0, "{found}");
});

both!(queued_index_rows_reach_the_database_by_the_commit, |app| {
    // the entries' index rows are queued and written as a few statements before the commit:
    // the Encounter is found through the Patient's identifier (a chain over both)
    let bundle = transaction(vec![
        post(
            "urn:uuid:p1",
            json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "Q1"}],
                   "gender": "female", "birthDate": "1970-01-01"}),
        ),
        post(
            "urn:uuid:e1",
            json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "urn:uuid:p1"}}),
        ),
    ]);
    let (status, page) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{page}");
    let (_, found) = parts(
        app.get("Encounter?patient.identifier=urn:mrn|Q1&_summary=count")
            .send()
            .unwrap(),
    );
    assert_eq!(found["total"], 1, "{found}");
});

both!(
    versions_queued_in_the_transaction_are_read_by_its_later_entries,
    |app| {
        // version rows wait in the connection's queue with the index rows; the Bundle's reads
        // (processed after its writes) and its creates, claimed together, must still see them
        for id in ["y", "z"] {
            let (status, body) = parts(
                app.put(
                    &format!("Patient/{id}"),
                    &json!({"resourceType": "Patient", "id": id}),
                )
                .send()
                .unwrap(),
            );
            assert_eq!(status, 201, "{body}");
        }
        let mut entries = patients(3);
        entries.extend([
            json!({"resource": {"resourceType": "Patient", "id": "x", "gender": "male"},
               "request": {"method": "PUT", "url": "Patient/x"}}),
            json!({"resource": {"resourceType": "Patient", "id": "y", "gender": "female"},
               "request": {"method": "PUT", "url": "Patient/y"}}),
            json!({"request": {"method": "DELETE", "url": "Patient/z"}}),
            json!({"request": {"method": "GET", "url": "Patient/x"}}),
            json!({"request": {"method": "GET", "url": "Patient/y"}}),
            json!({"request": {"method": "GET", "url": "Patient/y/_history/2"}}),
        ]);
        let (status, reply) = parts(app.post("", &transaction(entries)).send().unwrap());
        assert_eq!(status, 200, "{reply}");
        let entry = |i: usize| reply["entry"][i].clone();
        for i in 0..3 {
            assert_eq!(entry(i)["response"]["status"], "201 Created", "{reply}");
            let location = entry(i)["response"]["location"]
                .as_str()
                .unwrap()
                .to_string();
            assert!(location.ends_with("/_history/1"), "{location}");
            let (status, read) = parts(
                app.get(location.split("/_history").next().unwrap())
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 200, "{read}");
            assert_eq!(read["name"][0]["family"], format!("P{i}"));
            assert_eq!(read["meta"]["versionId"], "1");
        }
        assert_eq!(entry(6)["resource"]["gender"], "male", "{reply}");
        assert_eq!(entry(7)["resource"]["gender"], "female", "{reply}");
        assert_eq!(entry(7)["resource"]["meta"]["versionId"], "2", "{reply}");
        assert_eq!(entry(8)["resource"]["gender"], "female", "{reply}");
        // history lists the versions newest first, the deletion after the version it ends
        let (_, history) = parts(app.get("Patient/y/_history").send().unwrap());
        let versions: Vec<&str> = history["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["meta"]["versionId"].as_str().unwrap())
            .collect();
        assert_eq!(versions, ["2", "1"], "{history}");
        let (status, _) = parts(app.get("Patient/z").send().unwrap());
        assert_eq!(status, 410);
        let (_, history) = parts(app.get("Patient/z/_history").send().unwrap());
        assert_eq!(
            history["entry"][0]["request"]["method"], "DELETE",
            "{history}"
        );
        assert_eq!(
            history["entry"][1]["resource"]["meta"]["versionId"], "1",
            "{history}"
        );
        // the three creates, x, y twice, z and its deletion
        assert_eq!(history_total(&app, "Patient"), 3 + 1 + 2 + 2);
        let (_, found) = parts(
            app.get("Patient?gender=female&_summary=count")
                .send()
                .unwrap(),
        );
        assert_eq!(found["total"], 1, "{found}");
    }
);

both!(urn_references_rewritten_everywhere, |app| {
    let bundle = transaction(vec![
        post(
            "urn:uuid:e1",
            json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": "urn:uuid:p1"},
            "extension": [{"url": "http://example.org/ext", "valueReference": {"reference": "urn:uuid:p1"}}],
            "contained": [{"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"},
                           "subject": {"reference": "urn:uuid:p1"}}],
            "diagnosis": [{"condition": {"reference": "urn:uuid:c1"}, "rank": 1}]}),
        ),
        post(
            "urn:uuid:c1",
            json!({"resourceType": "Condition", "subject": {"reference": "urn:uuid:p1"}}),
        ),
        post("urn:uuid:p1", json!({"resourceType": "Patient"})),
    ]);
    let (status, reply) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["type"], "transaction-response");
    let entries = reply["entry"].as_array().unwrap();
    for e in entries {
        assert_eq!(e["response"]["status"], "201 Created");
        assert!(e["response"]["etag"].as_str().unwrap().starts_with("W/"));
        assert!(e["response"]["lastModified"].is_string());
    }
    let location = |i: usize| {
        let l = entries[i]["response"]["location"].as_str().unwrap();
        l.split("/_history").next().unwrap().to_string()
    };
    let (encounter, condition, patient) = (location(0), location(1), location(2));
    assert!(patient.starts_with("Patient/") && condition.starts_with("Condition/"));
    let (_, stored) = parts(app.get(&encounter).send().unwrap());
    assert_eq!(stored["subject"]["reference"], patient);
    assert_eq!(
        stored["extension"][0]["valueReference"]["reference"],
        patient
    );
    assert_eq!(stored["contained"][0]["subject"]["reference"], patient);
    assert_eq!(stored["diagnosis"][0]["condition"]["reference"], condition);
    let (_, found) = parts(
        app.get(&format!("Encounter?subject={patient}"))
            .send()
            .unwrap(),
    );
    assert_eq!(found["total"], 1, "{found}");
    // a urn: reference no entry defines is refused
    let dangling = transaction(vec![post(
        "urn:uuid:x",
        json!({"resourceType": "Condition", "subject": {"reference": "urn:uuid:missing"}}),
    )]);
    let (status, outcome) = parts(app.post("", &dangling).send().unwrap());
    assert_eq!(status, 400, "{outcome}");
});

both!(conditional_create_and_references, |app| {
    let sys = "http://example.org/mrn";
    let one = app
        .create(&json!({"resourceType": "Patient", "identifier": [{"system": sys, "value": "1"}]}));
    for _ in 0..2 {
        app.create(
            &json!({"resourceType": "Patient", "identifier": [{"system": sys, "value": "dup"}]}),
        );
    }
    let if_none_exist = |value: &str, full_url: &str| {
        json!({"fullUrl": full_url, "resource": {"resourceType": "Patient", "identifier": [{"system": sys, "value": value}]},
               "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={sys}|{value}")}})
    };
    let observation = |reference: &str| {
        post(
            "urn:uuid:obs",
            json!({"resourceType": "Observation", "status": "final",
        "code": {"text": "x"}, "subject": {"reference": reference}}),
        )
    };
    // 1 match: nothing created, fullUrl and conditional reference resolve to it; 0 matches: created
    let bundle = transaction(vec![
        if_none_exist("1", "urn:uuid:a"),
        if_none_exist("2", "urn:uuid:b"),
        observation(&format!("Patient?identifier={sys}|1")),
        post(
            "urn:uuid:obs2",
            json!({"resourceType": "Observation", "status": "final", "code": {"text": "y"},
            "subject": {"reference": "urn:uuid:a"}, "performer": [{"reference": "urn:uuid:b"}]}),
        ),
    ]);
    let (status, reply) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    let e = reply["entry"].as_array().unwrap();
    assert_eq!(e[0]["response"]["status"], "200 OK");
    assert_eq!(e[0]["resource"]["id"], one["id"]);
    assert_eq!(e[1]["response"]["status"], "201 Created");
    let existing = format!("Patient/{}", one["id"].as_str().unwrap());
    assert_eq!(e[2]["resource"]["subject"]["reference"], existing);
    assert_eq!(e[3]["resource"]["subject"]["reference"], existing);
    assert_eq!(
        e[3]["resource"]["performer"][0]["reference"],
        format!("Patient/{}", e[1]["resource"]["id"].as_str().unwrap())
    );
    assert_eq!(history_total(&app, "Patient"), 4);
    // many matches: 412, for conditional create and conditional reference; none: 412 for a reference
    for bundle in [
        transaction(vec![if_none_exist("dup", "urn:uuid:c")]),
        transaction(vec![observation(&format!("Patient?identifier={sys}|dup"))]),
        transaction(vec![observation(&format!("Patient?identifier={sys}|none"))]),
    ] {
        assert_precondition_failed(&app, &bundle, "Bundle.entry[0]");
    }
    assert_eq!(history_total(&app, "Observation"), 2);
    // conditional update and delete by criteria
    let bundle = transaction(vec![
        json!({"resource": {"resourceType": "Patient", "identifier": [{"system": sys, "value": "1"}], "gender": "male"},
               "request": {"method": "PUT", "url": format!("Patient?identifier={sys}|1")}}),
        json!({"request": {"method": "DELETE", "url": format!("Patient?identifier={sys}|2")}}),
    ]);
    let (status, reply) = parts(app.post("/", &bundle).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["entry"][0]["response"]["status"], "200 OK");
    assert_eq!(reply["entry"][0]["response"]["etag"], "W/\"2\"");
    assert_eq!(reply["entry"][1]["response"]["status"], "204 No Content");
    let (_, read) = parts(app.get(&existing).send().unwrap());
    assert_eq!(read["gender"], "male");
    // the deleted carrier of an identifier, and its value under another system, match nothing
    let gone = app.create(
        &json!({"resourceType": "Patient", "identifier": [{"system": sys, "value": "gone"}]}),
    );
    let gone = format!("Patient/{}", gone["id"].as_str().unwrap());
    assert_eq!(app.delete(&gone).send().unwrap().status().as_u16(), 204);
    app.create(
        &json!({"resourceType": "Patient", "identifier": [{"system": "urn:other", "value": "gone"}]}),
    );
    let bundle = transaction(vec![observation(&format!("Patient?identifier={sys}|gone"))]);
    assert_precondition_failed(&app, &bundle, "gone");
});

/// The Bundle is refused with 412 and an OperationOutcome whose diagnostics mention `what`.
fn assert_precondition_failed(app: &TestApp, bundle: &Value, what: &str) {
    let (status, outcome) = parts(app.post("", bundle).send().unwrap());
    assert_eq!(status, 412, "{outcome}");
    let diagnostics = outcome["issue"][0]["diagnostics"].as_str().unwrap();
    assert!(diagnostics.contains(what), "{outcome}");
}

both!(batch_partial_failure, |app| {
    let bundle = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"resource": {"resourceType": "Patient", "gender": "female"}, "request": {"method": "POST", "url": "Patient"}},
        {"resource": {"resourceType": "Patient", "gender": "sometimes"}, "request": {"method": "POST", "url": "Patient"}},
        {"request": {"method": "GET", "url": "Patient/unknown"}},
        {"resource": {"resourceType": "Patient", "id": "b1"}, "request": {"method": "PUT", "url": "Patient/b1"}},
        {"request": {"method": "FROB", "url": "Patient"}}
    ]});
    let (status, reply) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["type"], "batch-response");
    let statuses: Vec<&str> = reply["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        [
            "201 Created",
            "400 Bad Request",
            "404 Not Found",
            "201 Created",
            "400 Bad Request"
        ]
    );
    assert_eq!(
        reply["entry"][1]["response"]["outcome"]["resourceType"],
        "OperationOutcome"
    );
    assert_eq!(history_total(&app, "Patient"), 2);
    let read = json!({"resourceType": "Bundle", "type": "batch", "entry": [{"request": {"method": "GET", "url": "Patient/b1"}},
        {"request": {"method": "GET", "url": "Patient/b1/_history/1"}}]});
    let (_, reply) = parts(app.post("", &read).send().unwrap());
    assert_eq!(reply["entry"][0]["resource"]["id"], "b1");
    assert_eq!(reply["entry"][1]["response"]["status"], "200 OK");
});

both!(prefer_minimal_and_non_bundles, |app| {
    let bundle = transaction(patients(2));
    let response = app
        .post("", &bundle)
        .header("Prefer", "return=minimal")
        .send()
        .unwrap();
    let (status, reply) = parts(response);
    assert_eq!(status, 200);
    assert!(reply["entry"][0]["resource"].is_null());
    assert!(reply["entry"][0]["response"]["location"]
        .as_str()
        .unwrap()
        .starts_with("Patient/"));
    let (status, _) = parts(
        app.post("", &json!({"resourceType": "Bundle", "type": "collection"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
    let (status, _) = parts(
        app.post("", &json!({"resourceType": "Patient"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
});

fn synthea(name: &str) -> Option<Value> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/synthea");
    let file = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.to_string_lossy().ends_with(".json.bz2"))
        .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(name))
        .min()?;
    let out = std::process::Command::new("bzcat")
        .arg(&file)
        .output()
        .ok()?;
    serde_json::from_slice(&out.stdout).ok()
}

both!(synthea_patient_bundle_loads_unmodified, |app| {
    let (Some(hospital), Some(practitioners), Some(patient)) = (
        synthea("0-hospital"),
        synthea("0-practitioner"),
        synthea("057aa36e"),
    ) else {
        eprintln!(
            "notice: ../shared/synthea samples (and bzcat) not available; Synthea test skipped"
        );
        return;
    };
    for providers in [hospital, practitioners] {
        let (status, reply) = parts(app.post("", &providers).send().unwrap());
        assert_eq!(status, 200);
        for e in reply["entry"].as_array().unwrap() {
            assert_eq!(e["response"]["status"], "201 Created", "{e}");
        }
    }
    let n = patient["entry"].as_array().unwrap().len();
    let (status, reply) = parts(
        app.post("", &patient)
            .header("Prefer", "return=minimal")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["entry"].as_array().unwrap().len(), n);
    let (_, encounters) = parts(
        app.get("Encounter?_count=1&_total=accurate")
            .send()
            .unwrap(),
    );
    assert!(encounters["total"].as_i64().unwrap() > 0);
    let (_, page) = parts(app.get("Encounter?_count=1").send().unwrap());
    let practitioner = page["entry"][0]["resource"]["participant"][0]["individual"]["reference"]
        .as_str()
        .unwrap();
    assert!(
        practitioner.starts_with("Practitioner/") && !practitioner.contains('?'),
        "{practitioner}"
    );
    let (status, _) = parts(app.get(practitioner).send().unwrap());
    assert_eq!(status, 200);
});

both!(
    conditional_entries_see_earlier_entries_of_the_bundle,
    |app| {
        let sys = "http://example.org/mrn";
        let patient = |value: &str| json!({"resourceType": "Patient", "identifier": [{"system": sys, "value": value}]});
        let conditional = |value: &str, full_url: &str| {
            json!({"fullUrl": full_url, "resource": patient(value),
               "request": {"method": "POST", "url": "Patient", "ifNoneExist": format!("identifier={sys}|{value}")}})
        };
        // two entries with the same ifNoneExist create one resource; both fullUrls name it
        let bundle = transaction(vec![
            conditional("twin", "urn:uuid:t1"),
            conditional("twin", "urn:uuid:t2"),
            post(
                "urn:uuid:o",
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"},
            "subject": {"reference": "urn:uuid:t2"}, "performer": [{"reference": "urn:uuid:t1"}]}),
            ),
        ]);
        let (status, reply) = parts(app.post("", &bundle).send().unwrap());
        assert_eq!(status, 200, "{reply}");
        let e = reply["entry"].as_array().unwrap();
        assert_eq!(e[0]["response"]["status"], "201 Created");
        assert_eq!(e[1]["response"]["status"], "200 OK");
        assert_eq!(e[0]["resource"]["id"], e[1]["resource"]["id"]);
        let twin = format!("Patient/{}", e[0]["resource"]["id"].as_str().unwrap());
        assert_eq!(e[2]["resource"]["subject"]["reference"], twin);
        assert_eq!(e[2]["resource"]["performer"][0]["reference"], twin);
        let (_, found) = parts(
            app.get(&format!("Patient?identifier={sys}|twin"))
                .send()
                .unwrap(),
        );
        assert_eq!(found["total"], 1);

        // a conditional reference resolves to a resource created by another entry of the Bundle
        // (before or after it), whether that entry is a plain POST or a PUT
        let bundle = transaction(vec![
            post(
                "urn:uuid:o2",
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "y"},
            "subject": {"reference": format!("Patient?identifier={sys}|new")},
            "performer": [{"reference": format!("Patient?identifier={sys}|put")}]}),
            ),
            post("urn:uuid:n", patient("new")),
            json!({"resource": {"resourceType": "Patient", "id": "put-one", "identifier": [{"system": sys, "value": "put"}]},
               "request": {"method": "PUT", "url": "Patient/put-one"}}),
        ]);
        let (status, reply) = parts(app.post("", &bundle).send().unwrap());
        assert_eq!(status, 200, "{reply}");
        let e = reply["entry"].as_array().unwrap();
        assert_eq!(e[1]["response"]["status"], "201 Created");
        assert_eq!(
            e[0]["resource"]["subject"]["reference"],
            format!("Patient/{}", e[1]["resource"]["id"].as_str().unwrap())
        );
        assert_eq!(
            e[0]["resource"]["performer"][0]["reference"],
            "Patient/put-one"
        );

        // ambiguous: one stored and one new match → 412, nothing written
        let before = history_total(&app, "Patient");
        let bundle = transaction(vec![
            post("urn:uuid:n2", patient("new")),
            post(
                "urn:uuid:o3",
                json!({"resourceType": "Observation", "status": "final", "code": {"text": "z"},
            "subject": {"reference": format!("Patient?identifier={sys}|new")}}),
            ),
        ]);
        let (status, outcome) = parts(app.post("", &bundle).send().unwrap());
        assert_eq!(status, 412, "{outcome}");
        assert_eq!(history_total(&app, "Patient"), before);
    }
);
