//! SMART v2 query-limited scopes (`patient/Observation.rs?category=laboratory`): the query
//! limits reads (404), searches and their totals, includes, history, `$everything`,
//! Bundle entries and writes (403 for a written resource that does not match).

use crate::helpers::{parts, Backend, TestApp};
use crate::security::{entry_ids as ids, json_patch, put_all, secured, token_for};
use serde_json::{json, Value};

fn token(scope: &str, patient: Option<&str>) -> String {
    token_for("lab-app", scope, patient, &[])
}

fn observation(id: &str, patient: &str, category: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category}]}],
        "code": {"text": "x"}, "subject": {"reference": format!("Patient/{patient}")}})
}

fn seed(app: &TestApp) -> String {
    let admin = token("user/*.cruds", None);
    put_all(
        app,
        &admin,
        &[
            json!({"resourceType": "Patient", "id": "a"}),
            json!({"resourceType": "Patient", "id": "b"}),
            observation("lab-a", "a", "laboratory"),
            observation("vital-a", "a", "vital-signs"),
            observation("lab-b", "b", "laboratory"),
        ],
    );
    admin
}

fn reads_searches_history(backend: Backend) {
    let app = secured(backend);
    seed(&app);
    let lab = token(
        "patient/Patient.rs patient/Observation.rs?category=laboratory",
        Some("a"),
    );
    let get = |path: &str| parts(app.get(path).bearer_auth(&lab).send().unwrap());
    assert_eq!(get("Observation/lab-a").0, 200);
    assert_eq!(
        get("Observation/vital-a").0,
        404,
        "outside the scope query: 404"
    );
    assert_eq!(get("Observation/vital-a/_history/1").0, 404);
    assert_eq!(get("Observation/lab-b").0, 404, "outside the compartment");
    let (status, body) = get("Observation");
    assert_eq!(status, 200);
    assert_eq!(ids(&body), ["lab-a"]);
    assert_eq!(body["total"], 1);
    assert_eq!(get("Observation?_summary=count").1["total"], 1);
    assert_eq!(
        get("Observation?category=vital-signs").1["total"],
        0,
        "the scope query is ANDed into the search"
    );
    let (_, body) = get("Patient?_revinclude=Observation:subject");
    assert_eq!(
        ids(&body),
        ["a", "lab-a"],
        "includes obey the query: {body}"
    );
    let (_, body) = get("Patient?_has:Observation:subject:category=vital-signs");
    assert_eq!(
        ids(&body),
        Vec::<String>::new(),
        "_has does not see past the query"
    );
    let (_, body) = get("Patient/a/$everything");
    assert_eq!(ids(&body), ["a", "lab-a"]);
    assert_eq!(get("Observation/lab-a/_history").0, 200);
    assert_eq!(get("Observation/vital-a/_history").0, 404);
    assert_eq!(
        get("Observation/_history").0,
        403,
        "type history is refused"
    );
    // several query scopes are OR-ed; a scope without a query lifts the limit
    let both = token(
        "user/Observation.rs?category=laboratory user/Observation.rs?category=vital-signs",
        None,
    );
    let (_, body) = parts(app.get("Observation").bearer_auth(&both).send().unwrap());
    assert_eq!(ids(&body), ["lab-a", "lab-b", "vital-a"]);
    let unlimited = token(
        "user/Observation.rs?category=laboratory user/Observation.rs",
        None,
    );
    let (_, body) = parts(
        app.get("Observation?category=vital-signs")
            .bearer_auth(&unlimited)
            .send()
            .unwrap(),
    );
    assert_eq!(ids(&body), ["vital-a"]);
    // Bundle GET entries
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/lab-a"}},
        {"request": {"method": "GET", "url": "Observation/vital-a"}},
    ]});
    let (_, reply) = parts(app.post("", &batch).bearer_auth(&lab).send().unwrap());
    assert_eq!(reply["entry"][0]["response"]["status"], "200 OK", "{reply}");
    assert!(reply["entry"][1]["response"]["status"]
        .as_str()
        .unwrap()
        .starts_with("404"));
}

crate::on_both_backends!(reads_searches_history);

fn writes_must_match(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let lab = token("patient/Observation.cruds?category=laboratory", Some("a"));
    let post = |body: &Value| {
        parts(
            app.post("Observation", body)
                .bearer_auth(&lab)
                .send()
                .unwrap(),
        )
    };
    let mut new_lab = observation("x", "a", "laboratory");
    new_lab.as_object_mut().unwrap().remove("id");
    assert_eq!(post(&new_lab).0, 201);
    let mut new_vital = observation("x", "a", "vital-signs");
    new_vital.as_object_mut().unwrap().remove("id");
    let (status, outcome) = post(&new_vital);
    assert_eq!(status, 403, "{outcome}");
    assert_eq!(outcome["issue"][0]["code"], "forbidden");
    // an update may not move a record out of the query, nor touch one outside it
    let (status, _) = parts(
        app.put(
            "Observation/lab-a",
            &observation("lab-a", "a", "vital-signs"),
        )
        .bearer_auth(&lab)
        .send()
        .unwrap(),
    );
    assert_eq!(status, 403);
    let (_, stored) = parts(
        app.get("Observation/lab-a")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(
        stored["meta"]["versionId"], "1",
        "the refused update stored nothing"
    );
    let (status, _) = parts(
        app.put(
            "Observation/vital-a",
            &observation("vital-a", "a", "laboratory"),
        )
        .bearer_auth(&lab)
        .send()
        .unwrap(),
    );
    assert_eq!(
        status, 404,
        "a record outside the query cannot be overwritten"
    );
    assert_eq!(
        app.delete("Observation/vital-a")
            .bearer_auth(&lab)
            .send()
            .unwrap()
            .status(),
        404
    );
    let patch =
        json!([{"op": "replace", "path": "/category/0/coding/0/code", "value": "vital-signs"}]);
    assert_eq!(
        json_patch(&app, "Observation/lab-a", &lab, &patch),
        403,
        "a PATCH may not move it out either"
    );
    // in a transaction: the entry that does not match refuses the whole Bundle
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "POST", "url": "Observation"}, "resource": new_lab},
        {"request": {"method": "POST", "url": "Observation"}, "resource": new_vital},
    ]});
    let (status, outcome) = parts(app.post("", &transaction).bearer_auth(&lab).send().unwrap());
    assert_eq!(status, 403, "{outcome}");
    let (_, all) = parts(
        app.get("Observation?_summary=count")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(
        all["total"], 4,
        "three seeded plus the one lab created; the transaction rolled back"
    );
}

crate::on_both_backends!(writes_must_match);
