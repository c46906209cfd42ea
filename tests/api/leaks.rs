//! The compartment-leak suite: a token confined to patient A never sees patient B's data,
//! nor a sealed record of A without clearance, through any path that returns data — and
//! counts and totals do not give them away either. Each access kind leaves an AuditEvent,
//! refusals included.

use crate::helpers::{parts, Backend, TestApp};
use crate::security::{put_all, secured, token_for};
use serde_json::{json, Value};

const SDV: &str = r#"{"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SDV"}]}"#;

/// Patients a and b, each with an Encounter, an Observation (same performer) and a
/// Condition; a's Condition is sealed (SDV). Returns the admin token.
fn seed(app: &TestApp) -> String {
    let admin = token_for("admin", "user/*.cruds", None, &["*"]);
    let sealed: Value = serde_json::from_str(SDV).unwrap();
    let resources = vec![
        json!({"resourceType": "Patient", "id": "a", "name": [{"family": "Alpha"}]}),
        json!({"resourceType": "Patient", "id": "b", "name": [{"family": "Beta"}], "link": [{"other": {"reference": "Patient/a"}, "type": "seealso"}]}),
        json!({"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Doc"}]}),
        json!({"resourceType": "Encounter", "id": "ea", "status": "finished", "class": {"code": "IMP"}, "subject": {"reference": "Patient/a"}}),
        json!({"resourceType": "Encounter", "id": "eb", "status": "finished", "class": {"code": "IMP"}, "subject": {"reference": "Patient/b"}}),
        json!({"resourceType": "Observation", "id": "oa", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/a"}, "performer": [{"reference": "Practitioner/doc"}], "hasMember": [{"reference": "Observation/ob"}]}),
        json!({"resourceType": "Observation", "id": "ob", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/b"}, "performer": [{"reference": "Practitioner/doc"}], "encounter": {"reference": "Encounter/eb"}}),
        json!({"resourceType": "Condition", "id": "abuse", "subject": {"reference": "Patient/a"}, "code": {"text": "abuse"}, "meta": sealed}),
        json!({"resourceType": "Condition", "id": "cb", "subject": {"reference": "Patient/b"}, "code": {"text": "flu"}, "encounter": {"reference": "Encounter/eb"}}),
    ];
    put_all(app, &admin, &resources);
    // a second version of ob and abuse, so history and vread have something to show
    for (path, resource) in [
        (
            "Observation/ob",
            json!({"resourceType": "Observation", "id": "ob", "status": "amended", "code": {"text": "x"}, "subject": {"reference": "Patient/b"}, "performer": [{"reference": "Practitioner/doc"}]}),
        ),
        (
            "Condition/abuse",
            json!({"resourceType": "Condition", "id": "abuse", "subject": {"reference": "Patient/a"}, "code": {"text": "abuse, confirmed"}, "meta": serde_json::from_str::<Value>(SDV).unwrap()}),
        ),
    ] {
        assert_eq!(
            app.put(path, &resource)
                .bearer_auth(&admin)
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    admin
}

/// Every `Type/id` anywhere in a response body (resources, entries, nested bundles).
fn mentioned(body: &Value, out: &mut Vec<String>) {
    match body {
        Value::Object(map) => {
            if let (Some(t), Some(id)) = (
                map.get("resourceType").and_then(Value::as_str),
                map.get("id").and_then(Value::as_str),
            ) {
                out.push(format!("{t}/{id}"));
            }
            map.values().for_each(|v| mentioned(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| mentioned(v, out)),
        _ => {}
    }
}

/// The forbidden records must not appear in `body`.
fn assert_no_leak(what: &str, body: &Value) {
    let mut found = Vec::new();
    mentioned(body, &mut found);
    for forbidden in [
        "Patient/b",
        "Observation/ob",
        "Encounter/eb",
        "Condition/cb",
        "Condition/abuse",
    ] {
        assert!(
            !found.iter().any(|f| f == forbidden),
            "{what} leaks {forbidden}: {body}"
        );
    }
    // the content itself (links echo the query, so only entries and resources count)
    let text = match body.get("entry") {
        Some(entries) => entries.to_string(),
        None if body["resourceType"] == "OperationOutcome" || body["resourceType"] == "Bundle" => {
            String::new()
        }
        None => body.to_string(),
    };
    assert!(
        !text.contains("Beta") && !text.contains("abuse"),
        "{what} leaks content: {text}"
    );
}

fn leak_paths(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let a = token_for("leak-tester", "patient/*.rs", Some("a"), &[]);
    let get = |path: &str| parts(app.get(path).bearer_auth(&a).send().unwrap());

    // reads and vreads: 404, never the body
    for path in [
        "Patient/b",
        "Observation/ob",
        "Observation/ob/_history/1",
        "Observation/ob/_history/2",
        "Encounter/eb",
        "Condition/cb",
        "Condition/abuse",
        "Condition/abuse/_history/1",
        "Condition/abuse/_history/2",
    ] {
        let (status, body) = get(path);
        assert_eq!(status, 404, "{path}: {body}");
        assert_no_leak(path, &body);
    }
    // instance history of hidden records; type and system history are refused
    for path in [
        "Observation/ob/_history",
        "Condition/abuse/_history",
        "Patient/b/_history",
    ] {
        let (status, body) = get(path);
        assert_eq!(status, 404, "{path}: {body}");
        assert_no_leak(path, &body);
    }
    for path in ["Observation/_history", "Condition/_history", "_history"] {
        let (status, body) = get(path);
        assert_eq!(status, 403, "{path}: {body}");
    }
    let (status, own) = get("Observation/oa/_history");
    assert_eq!(status, 200);
    assert_eq!(own["entry"].as_array().map(Vec::len), Some(1));

    // searches: every include, revinclude, chain and _has form; counts and totals
    let searches = [
        "Observation",
        "Observation?subject=Patient/b",
        "Observation?patient=b",
        "Observation?subject:Patient.name=Beta",
        "Observation?subject.name=Beta",
        "Observation?encounter.subject=Patient/b",
        "Observation?_include=Observation:subject",
        "Observation?_include=Observation:has-member",
        "Observation?_include=Observation:*",
        "Observation?_include=Observation:performer&_revinclude:iterate=Observation:performer",
        "Observation?_include=Observation:performer&_revinclude:iterate=Condition:asserter",
        "Observation?_include=Observation:subject&_include:iterate=Patient:link",
        "Patient?_revinclude=Observation:subject",
        "Patient?_revinclude=Condition:subject",
        "Patient?_revinclude=Observation:*&_revinclude=Condition:*",
        "Patient?_has:Observation:subject:status=amended",
        "Patient?_has:Condition:subject:code:text=abuse",
        "Patient?name=Beta",
        "Patient?_id=b",
        "Patient?link=Patient/a&_revinclude=Patient:link",
        "Encounter?_revinclude=Observation:encounter&_revinclude=Condition:encounter",
        "Encounter?_has:Condition:encounter:code:text=flu",
        "Condition",
        "Condition?_id=abuse",
        "Condition?_security=SDV",
        "Condition?code:text=abuse",
        "Practitioner?_revinclude=Observation:performer",
        "Practitioner?_has:Observation:performer:subject=Patient/b",
    ];
    // doc performed only b's Observation here: the _has must not reveal that
    let (_, only_b) = parts(
        app.put(
            "Practitioner/nurse",
            &json!({"resourceType": "Practitioner", "id": "nurse"}),
        )
        .bearer_auth(&admin)
        .send()
        .unwrap(),
    );
    assert_eq!(only_b["id"], "nurse");
    let by_nurse = json!({"resourceType": "Observation", "id": "ob-nurse", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/b"}, "performer": [{"reference": "Practitioner/nurse"}]});
    assert_eq!(
        app.put("Observation/ob-nurse", &by_nurse)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        201
    );
    let (_, body) = get("Practitioner?_has:Observation:performer:subject=Patient/b");
    assert_eq!(body["total"], 0, "{body}");
    let (_, body) = get("Practitioner?_has:Observation:performer:status=final&_id=nurse");
    assert_eq!(body["total"], 0, "{body}");
    // :iterate does not walk on from a hidden resource to what only it links to
    let linked = json!({"resourceType": "Observation", "id": "oa2", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/a"}, "hasMember": [{"reference": "Observation/ob-nurse"}]});
    put_all(&app, &admin, &[linked]);
    let (_, body) = get(
        "Observation?_id=oa2&_include=Observation:has-member&_include:iterate=Observation:performer",
    );
    assert_eq!(
        crate::security::entry_ids(&body),
        ["oa2"],
        "the nurse is reached only through b's Observation: {body}"
    );

    for query in searches {
        let (status, body) = get(query);
        assert_eq!(status, 200, "{query}: {body}");
        assert_no_leak(query, &body);
        let shown = body["entry"].as_array().map_or(0, |e| {
            e.iter().filter(|e| e["search"]["mode"] == "match").count()
        });
        assert_eq!(
            body["total"].as_i64(),
            Some(shown as i64),
            "{query}: the total counts only what is shown: {body}"
        );
        let sep = if query.contains('?') { '&' } else { '?' };
        for extra in ["_summary=count", "_total=accurate"] {
            let (status, counted) = get(&format!("{query}{sep}{extra}"));
            assert_eq!(status, 200);
            assert_eq!(
                counted["total"].as_i64(),
                Some(shown as i64),
                "{query}&{extra}"
            );
            assert_no_leak(query, &counted);
        }
    }
    // POST _search reaches the same engine
    let (status, body) = parts(
        app.client
            .post(app.url("Observation/_search"))
            .bearer_auth(&a)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body("subject=Patient/b&_include=Observation:subject")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["total"], 0);
    assert_no_leak("POST _search", &body);
    // compartment search of the other patient, $everything
    for path in [
        "Patient/b/Observation",
        "Patient/b/Condition",
        "Patient/b/Encounter",
    ] {
        let (status, body) = get(path);
        assert!(status == 200 || status == 404, "{path}: {status}");
        assert_no_leak(path, &body);
        if status == 200 {
            assert_eq!(body["total"], 0, "{path}");
        }
    }
    let (status, body) = get("Patient/b/$everything");
    assert_eq!(status, 404);
    assert_no_leak("$everything of b", &body);
    let (status, body) = get("Patient/a/$everything");
    assert_eq!(status, 200);
    assert_no_leak("$everything of a", &body);
    let mut own = Vec::new();
    mentioned(&body, &mut own);
    assert!(
        own.contains(&"Observation/oa".to_string()) && own.contains(&"Encounter/ea".to_string())
    );
    // operations that return data
    let (status, body) = get("Encounter/eb/$audit-coding");
    assert_eq!(status, 404, "{body}");
    assert_no_leak("$audit-coding", &body);
    let (status, body) = get("Patient/b/$disclosures");
    assert_eq!(status, 404, "the accounting of b's disclosures: {body}");
    let disclose = json!({"resourceType": "Parameters", "parameter": [
        {"name": "recipient", "valueString": "County health department"},
        {"name": "purpose", "valueCode": "PUBHLTH"}]});
    let (status, _) = parts(
        app.post("Patient/b/$disclose", &disclose)
            .bearer_auth(token_for("leak-tester", "patient/*.cruds", Some("a"), &[]))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 404, "nor may it record one about b");
    let (status, _) = get("Patient/a/$disclosures");
    assert_eq!(status, 200);
    // system search is refused
    assert_eq!(get("?_type=Observation").0, 403);

    // Bundles: GET entries obey the same rules
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/oa"}},
        {"request": {"method": "GET", "url": "Observation/ob"}},
        {"request": {"method": "GET", "url": "Condition/abuse"}},
        {"request": {"method": "GET", "url": "Patient/b/_history/1"}},
        {"request": {"method": "GET", "url": "Condition/abuse/_history/1"}},
    ]});
    let (status, reply) = parts(app.post("", &batch).bearer_auth(&a).send().unwrap());
    assert_eq!(status, 200, "{reply}");
    let statuses: Vec<&str> = reply["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["response"]["status"].as_str().unwrap_or(""))
        .collect();
    assert!(statuses[0].starts_with("200"), "{reply}");
    for s in &statuses[1..] {
        assert!(s.starts_with("404"), "{reply}");
    }
    assert_no_leak("batch", &reply);
    let transaction = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"request": {"method": "GET", "url": "Observation/oa"}},
        {"request": {"method": "GET", "url": "Observation/ob"}},
    ]});
    let (status, reply) = parts(app.post("", &transaction).bearer_auth(&a).send().unwrap());
    assert_eq!(
        status, 404,
        "one hidden entry refuses the transaction: {reply}"
    );
    assert!(reply.to_string().contains("Bundle.entry[1]"), "{reply}");
    assert_no_leak("transaction", &reply);

    // the audit trail: AuditEvents about the other patient are not the caller's to read
    let (_, events) = parts(
        app.get("AuditEvent?patient=b")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    let about_b = events["entry"][0]["resource"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let auditor_a = token_for("leak-tester", "patient/*.rs", Some("a"), &[]);
    let (status, body) = parts(
        app.get("AuditEvent?patient=b")
            .bearer_auth(&auditor_a)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(body["total"], 0, "{body}");
    let (status, _) = parts(
        app.get(&format!("AuditEvent/{about_b}"))
            .bearer_auth(&auditor_a)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 404);
    let (status, event) = parts(
        app.get(&format!("AuditEvent/{about_b}"))
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(event["resourceType"], "AuditEvent");
    assert_eq!(event["id"], about_b.as_str());
    assert_eq!(
        app.get("AuditEvent/no-such-event")
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        404
    );
}

crate::on_both_backends!(leak_paths);

/// One AuditEvent per access kind of one caller, the denied ones included.
fn every_access_is_audited(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let a = token_for("audited-a", "patient/*.rs", Some("a"), &[]);
    let no_scope = token_for("audited-a", "patient/Encounter.rs", Some("a"), &[]);
    let send = |path: &str, token: &str| app.get(path).bearer_auth(token).send().unwrap().status();
    assert_eq!(send("Patient/a", &a), 200);
    assert_eq!(send("Observation/oa/_history/1", &a), 200);
    assert_eq!(send("Observation?subject=Patient/a", &a), 200);
    assert_eq!(send("Observation/oa/_history", &a), 200);
    assert_eq!(send("Patient/a/$everything", &a), 200);
    assert_eq!(send("Observation/ob", &a), 404);
    assert_eq!(send("Observation/oa", &no_scope), 403);
    let batch = json!({"resourceType": "Bundle", "type": "batch", "entry": [
        {"request": {"method": "GET", "url": "Observation/oa"}},
        {"request": {"method": "GET", "url": "Observation/ob"}},
    ]});
    assert_eq!(
        app.post("", &batch)
            .bearer_auth(&a)
            .send()
            .unwrap()
            .status(),
        200
    );
    let (_, events) = parts(
        app.get("AuditEvent?_count=1000")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    let mine: Vec<&Value> = events["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|r| r["agent"][0]["who"]["identifier"]["value"] == "audited-a")
        .collect();
    let has = |subtype: &str, outcome: &str, entity: &str| {
        mine.iter().any(|r| {
            r["subtype"][0]["code"] == subtype
                && r["outcome"] == outcome
                && r["entity"].as_array().into_iter().flatten().any(|e| {
                    e["what"]["reference"]
                        .as_str()
                        .is_some_and(|w| w.starts_with(entity))
                })
        })
    };
    assert!(has("read", "0", "Patient/a"), "read");
    assert!(has("vread", "0", "Observation/oa"), "vread");
    assert!(has("search-type", "0", "Observation"), "search");
    assert!(has("history-instance", "0", "Observation/oa"), "history");
    assert!(has("operation", "0", "Patient/a/$everything"), "operation");
    assert!(
        has("read", "8", "Observation/ob"),
        "a hidden record: a failed read"
    );
    assert!(has("read", "4", "Observation/oa"), "a refusal: denied");
    assert!(
        has("read", "0", "Observation/oa/_history/1"),
        "a batch GET entry, per entry"
    );
    assert!(
        has("operation", "8", "Bundle.entry[1]"),
        "a refused batch entry"
    );
}

crate::on_both_backends!(every_access_is_audited);
