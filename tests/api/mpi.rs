//! Master patient index through HTTP on both stores: `Patient/$match` finds seeded
//! duplicates (typos, swapped names, nicknames, moved address, transposed birth date)
//! and ranks strangers low; `$duplicates` lists pairs (paging, CSV); `$merge` repoints
//! references atomically and `$unmerge` restores them; bad input changes nothing.

use crate::both;
use crate::helpers::{parts, spawn_with, Backend, TestApp};
use chartroom::auth::{mint, Claims};
use serde_json::{json, Value};

const SSN: &str = "http://hl7.org/fhir/sid/us-ssn";

/// A Patient from `family|given|birthDate|gender|line|postalCode|phone[|ssn]`.
fn person(spec: &str) -> Value {
    let f: Vec<&str> = spec.split('|').collect();
    let mut p = json!({
        "resourceType": "Patient", "active": true,
        "name": [{"use": "official", "family": f[0], "given": [f[1]]}],
        "birthDate": f[2], "gender": f[3],
        "address": [{"line": [f[4]], "city": "Springfield", "state": "IL", "postalCode": f[5]}],
        "telecom": [{"system": "phone", "value": f[6]}]
    });
    if let Some(ssn) = f.get(7) {
        p["identifier"] = json!([{"system": SSN, "value": ssn}]);
    }
    p
}

fn put(app: &TestApp, id: &str, mut resource: Value) {
    resource["id"] = json!(id);
    let path = format!("{}/{id}", resource["resourceType"].as_str().unwrap());
    let (status, body) = parts(app.put(&path, &resource).send().unwrap());
    assert!(status == 201 || status == 200, "{path}: {body}");
}

/// A small index of distinct people (several sharing a birth date or a family name).
fn seed_people(app: &TestApp) {
    let people = [
        (
            "walker",
            person("Walker|William|1980-03-07|male|12 Oak St|62701|217-555-0101|999-10-1001"),
        ),
        (
            "garcia",
            person("Garcia|Maria|1980-03-07|female|40 Elm Ave|62702|217-555-0102|999-10-1002"),
        ),
        (
            "walker2",
            person("Walker|Susan|1982-11-20|female|12 Oak St|62701|217-555-0101|999-10-1003"),
        ),
        (
            "nguyen",
            person("Nguyen|Thomas|1975-06-15|male|7 Pine Rd|62703|217-555-0104|999-10-1004"),
        ),
        (
            "smith",
            person("Smith|Margaret|1948-12-01|female|99 Lake Dr|62704|217-555-0105"),
        ),
        (
            "johnson",
            person("Johnson|Robert|1990-01-30|male|3 Hill Ct|62705|217-555-0106|999-10-1006"),
        ),
        (
            "brown",
            person("Brown|Elizabeth|1966-08-09|female|5 River Ln|62706|217-555-0107"),
        ),
        (
            "kowalski",
            person("Kowalski|Peter|1955-04-23|male|8 Mill Pl|62707|217-555-0108"),
        ),
    ];
    for (id, p) in people {
        put(app, id, p);
    }
}

fn match_request(patient: Value, extra: &[Value]) -> Value {
    let mut parameter = vec![json!({"name": "resource", "resource": patient})];
    parameter.extend(extra.iter().cloned());
    json!({"resourceType": "Parameters", "parameter": parameter})
}

/// (id, score, grade) of each candidate, in response order.
fn run_match(app: &TestApp, body: &Value) -> Vec<(String, f64, String)> {
    let (status, bundle) = parts(app.post("Patient/$match", body).send().unwrap());
    assert_eq!(status, 200, "{bundle}");
    assert_eq!(bundle["type"], "searchset");
    bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| {
            assert_eq!(e["search"]["mode"], "match");
            let ext = &e["search"]["extension"][0];
            assert_eq!(
                ext["url"],
                "http://hl7.org/fhir/StructureDefinition/match-grade"
            );
            let score = e["search"]["score"].as_f64().expect("score");
            assert!((0.0..=1.0).contains(&score));
            (
                e["resource"]["id"].as_str().unwrap().to_string(),
                score,
                ext["valueCode"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn top(app: &TestApp, patient: Value) -> (String, f64, String) {
    let found = run_match(app, &match_request(patient.clone(), &[]));
    let scores: Vec<f64> = found.iter().map(|f| f.1).collect();
    assert!(
        scores.windows(2).all(|w| w[0] >= w[1]),
        "best first: {found:?}"
    );
    found
        .into_iter()
        .next()
        .unwrap_or_else(|| panic!("no candidate for {patient}"))
}

both!(match_finds_seeded_duplicates, |app| {
    seed_people(&app);
    let moved = |family: &str, given: &str, birth: &str| {
        person(&format!(
            "{family}|{given}|{birth}|male|400 Distant Blvd|10001|212-555-0199"
        ))
    };
    for (variation, query) in [
        ("typo in family", moved("Walkre", "William", "1980-03-07")),
        ("typo in given", moved("Walker", "Wiliam", "1980-03-07")),
        ("swapped names", moved("William", "Walker", "1980-03-07")),
        ("nickname", moved("Walker", "Bill", "1980-03-07")),
        (
            "transposed day and month",
            moved("Walker", "William", "1980-07-03"),
        ),
        (
            "moved address only",
            moved("Walker", "William", "1980-03-07"),
        ),
    ] {
        let (id, score, grade) = top(&app, query);
        assert_eq!(id, "walker", "{variation}");
        assert!(
            grade == "probable" || grade == "certain",
            "{variation}: {grade} {score}"
        );
    }
    let mut same = person("Walker|Bill|1980-03-07|male|9 Far Rd|99999|000-555-0000|999-10-1001");
    same["id"] = json!("query");
    let (id, score, grade) = top(&app, same);
    assert_eq!(
        (id.as_str(), grade.as_str()),
        ("walker", "certain"),
        "shared SSN: {score}"
    );
    assert!(score > 0.9);
    let nickname = top(
        &app,
        person("Smith|Peggy|1948-12-01|female|99 Lake Dr|62704|217-555-0105"),
    );
    assert_eq!(nickname.0, "smith");
    // strangers sharing a birth date, a family name or a household are not ranked high
    for stranger in [
        person("Okafor|Chidi|1980-03-07|male|1 New St|62799|217-555-0999"),
        person("Walker|Jennifer|2001-05-05|female|12 Oak St|62701|217-555-0101"),
        person("Kowalski|Anna|1957-10-02|female|8 Mill Pl|62707|217-555-0108"),
    ] {
        for (id, score, grade) in run_match(&app, &match_request(stranger.clone(), &[])) {
            assert!(
                grade == "possible" && score < 0.6,
                "{stranger} matched {id}: {grade} {score}"
            );
        }
    }
});

both!(match_parameters_and_bad_input, |app| {
    seed_people(&app);
    let query = person("Walker|Bill|1980-03-07|male|400 Distant Blvd|10001|212-555-0199");
    let all = run_match(&app, &match_request(query.clone(), &[]));
    assert_eq!(all[0].0, "walker");
    assert_ne!(all[0].2, "certain");
    let certain = run_match(
        &app,
        &match_request(
            query.clone(),
            &[json!({"name": "onlyCertainMatches", "valueBoolean": true})],
        ),
    );
    assert!(certain.is_empty(), "{certain:?}");
    let exact = person("Walker|William|1980-03-07|male|12 Oak St|62701|217-555-0101|999-10-1001");
    let one = run_match(
        &app,
        &match_request(exact, &[json!({"name": "count", "valueInteger": 1})]),
    );
    assert_eq!(one.len(), 1);
    assert_eq!(
        (one[0].0.as_str(), one[0].2.as_str()),
        ("walker", "certain")
    );
    for bad in [
        json!({"resourceType": "Observation", "status": "final"}),
        json!({"resourceType": "Parameters", "parameter": []}),
        json!({"resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {"resourceType": "Observation"}}]}),
        match_request(
            query.clone(),
            &[json!({"name": "count", "valueInteger": 0})],
        ),
        match_request(
            query.clone(),
            &[json!({"name": "onlyCertainMatches", "valueString": "yes"})],
        ),
        match_request(json!({"resourceType": "Patient", "gender": "male"}), &[]),
    ] {
        let (status, body) = parts(app.post("Patient/$match", &bad).send().unwrap());
        assert_eq!(status, 400, "{bad} → {body}");
        assert_eq!(body["resourceType"], "OperationOutcome");
    }
    let (status, _) = parts(app.get("Patient/$match").send().unwrap());
    assert_eq!(status, 405);
});

/// (pair ids, grade) of a duplicates page, and the next link.
fn pairs(body: &Value) -> (Vec<(String, String, String)>, Option<String>) {
    let params = body["parameter"].as_array().unwrap();
    let list = params
        .iter()
        .filter(|p| p["name"] == "pair")
        .map(|p| {
            let part = p["part"].as_array().unwrap();
            let refs: Vec<String> = part
                .iter()
                .filter(|x| x["name"] == "patient")
                .map(|x| {
                    x["valueReference"]["reference"]
                        .as_str()
                        .unwrap()
                        .to_string()
                })
                .collect();
            let grade = part.iter().find(|x| x["name"] == "grade").unwrap()["valueCode"]
                .as_str()
                .unwrap()
                .to_string();
            (refs[0].clone(), refs[1].clone(), grade)
        })
        .collect();
    let next = params
        .iter()
        .find(|p| p["name"] == "next")
        .map(|p| p["valueUri"].as_str().unwrap().to_string());
    (list, next)
}

fn seed_duplicates(app: &TestApp) {
    seed_people(app);
    put(
        app,
        "walker-dup",
        person("Walkre|Bill|1980-03-07|male|400 Distant Blvd|10001|212-555-0199"),
    );
    put(
        app,
        "garcia-dup",
        person("Garcia|Maria|1980-03-07|female|40 Elm Ave|62702|217-555-0102|999-10-1002"),
    );
    put(
        app,
        "nguyen-dup",
        person("Thomas|Nguyen|1975-06-15|male|7 Pine Rd|62703|217-555-0104"),
    );
}

both!(duplicate_report_pages_and_exports_csv, |app| {
    seed_duplicates(&app);
    let (status, body) = parts(
        app.get("Patient/$duplicates?grade=probable")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{body}");
    let (list, next) = pairs(&body);
    let mut found: Vec<(String, String)> = list
        .iter()
        .map(|(a, b, _)| (a.clone(), b.clone()))
        .collect();
    found.sort();
    let mut expected = vec![
        (
            "Patient/garcia".to_string(),
            "Patient/garcia-dup".to_string(),
        ),
        ("Patient/nguyen".into(), "Patient/nguyen-dup".into()),
        ("Patient/walker".into(), "Patient/walker-dup".into()),
    ];
    expected.sort();
    // the same pair may be listed in either order; normalise
    let mut found_norm: Vec<(String, String)> = found
        .into_iter()
        .map(|(a, b)| if a < b { (a, b) } else { (b, a) })
        .collect();
    found_norm.sort();
    assert_eq!(found_norm, expected);
    assert!(next.is_none());
    assert_eq!(
        list[0].2, "certain",
        "the identical Garcia record ranks first: {list:?}"
    );
    let total = body["parameter"][0]["valueInteger"].as_i64().unwrap();
    assert_eq!(total, 3);
    // paging walks the same pairs
    let (_, first) = parts(
        app.get("Patient/$duplicates?grade=probable&_count=2")
            .send()
            .unwrap(),
    );
    let (page1, next) = pairs(&first);
    assert_eq!(page1.len(), 2);
    let next = next.expect("next link");
    let (_, second) = parts(app.client.get(&next).send().unwrap());
    let (page2, after) = pairs(&second);
    assert_eq!(page2.len(), 1);
    assert!(after.is_none());
    assert!(!page1.contains(&page2[0]));
    // certain only
    let (_, certain) = parts(app.get("Patient/$duplicates?grade=certain").send().unwrap());
    assert_eq!(pairs(&certain).0.len(), 1);
    // CSV
    let text = csv_text(&app, "Patient/$duplicates?grade=probable&_format=csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "patient_a,name_a,patient_b,name_b,score,grade,reasons"
    );
    assert_eq!(lines.len(), 4, "{text}");
    assert!(text.contains("garcia-dup") && text.contains("\"Garcia, Maria (1980-03-07)\""));
    for bad in ["threshold=2", "threshold=x", "grade=maybe", "_count=-1"] {
        let (status, body) = parts(
            app.get(&format!("Patient/$duplicates?{bad}"))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 400, "{bad}: {body}");
    }
});

/// The body of a CSV answer (asserting 200 and `text/csv`).
pub fn csv_text(app: &TestApp, path: &str) -> String {
    let response = app.get(path).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert!(
        content_type.starts_with("text/csv"),
        "{path}: {content_type}"
    );
    response.text().unwrap()
}

fn merge_body(source: &str, target: &str, preview: bool) -> Value {
    json!({"resourceType": "Parameters", "parameter": [
        {"name": "source-patient", "valueReference": {"reference": format!("Patient/{source}")}},
        {"name": "target-patient", "valueReference": {"reference": format!("Patient/{target}")}},
        {"name": "preview", "valueBoolean": preview}
    ]})
}

/// Runs `$merge` or `$unmerge` without a token.
fn op(app: &TestApp, name: &str, source: &str, target: &str, preview: bool) -> (u16, Value) {
    let body = merge_body(source, target, preview);
    parts(app.post(&format!("Patient/{name}"), &body).send().unwrap())
}

fn read(app: &TestApp, path: &str) -> Value {
    let (status, body) = parts(app.get(path).send().unwrap());
    assert_eq!(status, 200, "{path}: {body}");
    body
}

fn seed_clinical(app: &TestApp) {
    put(
        app,
        "src",
        person("Walkre|Bill|1980-03-07|male|400 Distant Blvd|10001|212-555-0199"),
    );
    put(
        app,
        "tgt",
        person("Walker|William|1980-03-07|male|12 Oak St|62701|217-555-0101"),
    );
    put(
        app,
        "enc",
        json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": "Patient/src"}, "period": {"start": "2024-03-01", "end": "2024-03-01"}}),
    );
    put(
        app,
        "obs",
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": "Patient/src"}, "encounter": {"reference": "Encounter/enc"}}),
    );
    put(
        app,
        "cond",
        json!({"resourceType": "Condition", "code": {"text": "asthma"},
        "subject": {"reference": "Patient/src", "display": "Bill Walkre"}, "encounter": {"reference": "Encounter/enc"}}),
    );
    put(
        app,
        "other",
        json!({"resourceType": "Observation", "status": "final", "code": {"text": "weight"},
        "subject": {"reference": "Patient/tgt"}}),
    );
}

/// The ids of a Bundle's entries, sorted.
fn entry_ids(bundle: &Value) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn subject_ids(app: &TestApp, query: &str) -> Vec<String> {
    entry_ids(&read(app, query))
}

// the counts below are the clinical records only (no deficiency Tasks)
crate::both_without_rules!(merge_repoints_everything_and_unmerge_restores_it, |app| {
    seed_clinical(&app);
    // preview: reports, changes nothing
    let (status, preview) = op(&app, "$merge", "src", "tgt", true);
    assert_eq!(status, 200, "{preview}");
    let changed = |p: &Value| {
        p["parameter"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["name"] == "changed")
            .count()
    };
    assert_eq!(
        changed(&preview),
        5,
        "enc, obs, cond and the two patients: {preview}"
    );
    assert_eq!(read(&app, "Observation/obs")["meta"]["versionId"], "1");
    let (status, merged) = op(&app, "$merge", "src", "tgt", false);
    assert_eq!(status, 200, "{merged}");
    assert_eq!(changed(&merged), 5);
    let result = merged["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "result")
        .unwrap();
    assert_eq!(result["resource"]["link"][0]["type"], "replaces");
    for path in ["Observation/obs", "Condition/cond", "Encounter/enc"] {
        let r = read(&app, path);
        assert_eq!(r["subject"]["reference"], "Patient/tgt", "{path}");
        assert_eq!(r["meta"]["versionId"], "2", "{path}");
    }
    assert_eq!(
        read(&app, "Condition/cond")["subject"]["display"],
        "Bill Walkre"
    );
    assert_eq!(read(&app, "Observation/other")["meta"]["versionId"], "1");
    let source = read(&app, "Patient/src");
    assert_eq!(source["active"], false);
    assert_eq!(source["link"][0]["type"], "replaced-by");
    assert_eq!(source["link"][0]["other"]["reference"], "Patient/tgt");
    let target = read(&app, "Patient/tgt");
    assert_eq!(target["link"][0]["other"]["reference"], "Patient/src");
    assert_eq!(target["link"][0]["type"], "replaces");
    // the search indexes follow
    assert_eq!(
        subject_ids(&app, "Observation?subject=Patient/tgt"),
        vec!["obs", "other"]
    );
    assert!(subject_ids(&app, "Observation?subject=Patient/src").is_empty());
    // audited: each new version has its event
    let audit = read(&app, "AuditEvent?patient=tgt&_count=100").to_string();
    for entity in [
        "Observation/obs/_history/2",
        "Condition/cond/_history/2",
        "Encounter/enc/_history/2",
    ] {
        assert!(audit.contains(entity), "no audit event for {entity}");
    }
    // the merged-away record no longer matches
    let query = match_request(
        person("Walkre|Bill|1980-03-07|male|400 Distant Blvd|10001|212-555-0199"),
        &[],
    );
    assert!(run_match(&app, &query).iter().all(|(id, _, _)| id != "src"));
    // merging it again is refused
    let (status, body) = op(&app, "$merge", "src", "tgt", false);
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
    // undo
    let (status, undone) = op(&app, "$unmerge", "src", "tgt", false);
    assert_eq!(status, 200, "{undone}");
    assert_eq!(changed(&undone), 5);
    for path in ["Observation/obs", "Condition/cond", "Encounter/enc"] {
        let r = read(&app, path);
        assert_eq!(r["subject"]["reference"], "Patient/src", "{path}");
        assert_eq!(r["meta"]["versionId"], "3", "{path}");
    }
    let source = read(&app, "Patient/src");
    assert_eq!(source["active"], true);
    assert!(source.get("link").is_none());
    assert!(read(&app, "Patient/tgt").get("link").is_none());
    assert_eq!(
        subject_ids(&app, "Observation?subject=Patient/src"),
        vec!["obs"]
    );
    let (status, _) = op(&app, "$unmerge", "src", "tgt", false);
    assert_eq!(status, 422);
    // after the undo the pair can be merged again
    let (status, _) = op(&app, "$merge", "src", "tgt", false);
    assert_eq!(status, 200);
});

both!(merge_bad_input_changes_nothing, |app| {
    seed_clinical(&app);
    let cases = [
        (merge_body("src", "src", false), 400),
        (merge_body("nobody", "tgt", false), 404),
        (merge_body("src", "nobody", false), 404),
        (
            json!({"resourceType": "Parameters", "parameter": [{"name": "source-patient", "valueReference": {"reference": "Patient/src"}}]}),
            400,
        ),
        (
            json!({"resourceType": "Parameters", "parameter": [
            {"name": "source-patient", "valueReference": {"reference": "Observation/obs"}},
            {"name": "target-patient", "valueReference": {"reference": "Patient/tgt"}}]}),
            400,
        ),
        (json!({"resourceType": "Patient"}), 400),
    ];
    for (body, expected) in cases {
        let (status, outcome) = parts(app.post("Patient/$merge", &body).send().unwrap());
        assert_eq!(status, expected, "{body}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    // a target that was itself merged away
    put(
        &app,
        "third",
        person("Walker|Will|1980-03-07|male|12 Oak St|62701|217-555-0101"),
    );
    let (status, _) = op(&app, "$merge", "tgt", "third", false);
    assert_eq!(status, 200);
    let (status, body) = op(&app, "$merge", "src", "tgt", false);
    assert_eq!(status, 422, "{body}");
    for path in [
        "Observation/obs",
        "Condition/cond",
        "Encounter/enc",
        "Patient/src",
    ] {
        assert_eq!(read(&app, path)["meta"]["versionId"], "1", "{path}");
    }
    // an edit after the merge blocks the undo, which then changes nothing
    let mut third = read(&app, "Patient/third");
    third["gender"] = json!("male");
    third["birthDate"] = json!("1980-03-08");
    put(&app, "third", third);
    let (status, body) = op(&app, "$unmerge", "tgt", "third", false);
    assert_eq!(status, 409, "{body}");
    assert_eq!(read(&app, "Patient/tgt")["active"], false);
});

const SECRET: &str = "test-secret-for-chartroom-records";

/// A token signed for [`secured`] servers.
pub fn token(scope: &str, patient: Option<&str>, clearances: &[&str]) -> String {
    mint(
        &Claims {
            aud: Some("chartroom".into()),
            exp: chrono::Utc::now().timestamp() + 600,
            sub: "records-tester".into(),
            scope: scope.into(),
            patient: patient.map(str::to_string),
            chartroom_clearances: clearances.iter().map(|c| c.to_string()).collect(),
            ..Claims::default()
        },
        SECRET,
    )
    .unwrap()
}

/// A server with authentication on.
pub fn secured(backend: Backend) -> TestApp {
    spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    })
}

fn merge_is_atomic_when_a_record_midway_is_refused(backend: Backend) {
    let app = secured(backend);
    let admin = token("user/*.cruds", None, &["*"]);
    let send = |path: &str, body: &Value, token: &str| {
        parts(app.put(path, body).bearer_auth(token).send().unwrap())
    };
    let patient = |id: &str, family: &str| {
        let mut p = person(&format!(
            "{family}|William|1980-03-07|male|12 Oak St|62701|217-555-0101"
        ));
        p["id"] = json!(id);
        p
    };
    assert_eq!(
        send("Patient/src", &patient("src", "Walkre"), &admin).0,
        201
    );
    assert_eq!(
        send("Patient/tgt", &patient("tgt", "Walker"), &admin).0,
        201
    );
    let obs = |id: &str| json!({"resourceType": "Observation", "id": id, "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/src"}});
    assert_eq!(send("Observation/a-first", &obs("a-first"), &admin).0, 201);
    let sealed = json!({"resourceType": "Condition", "id": "sealed", "code": {"text": "depression"},
        "subject": {"reference": "Patient/src"},
        "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]}});
    assert_eq!(send("Condition/sealed", &sealed, &admin).0, 201);
    assert_eq!(send("Observation/z-last", &obs("z-last"), &admin).0, 201);
    // a records technician without the PSY clearance: the first Observation is repointed,
    // then the sealed Condition is refused, and the whole transaction rolls back
    let clerk = token("user/*.cruds", None, &[]);
    let merge = |token: &str| {
        parts(
            app.post("Patient/$merge", &merge_body("src", "tgt", false))
                .bearer_auth(token)
                .send()
                .unwrap(),
        )
    };
    let (status, body) = merge(&clerk);
    assert_eq!(status, 403, "{body}");
    assert_eq!(body["resourceType"], "OperationOutcome");
    let get = |path: &str| parts(app.get(path).bearer_auth(&admin).send().unwrap()).1;
    for path in [
        "Observation/a-first",
        "Observation/z-last",
        "Condition/sealed",
        "Patient/src",
        "Patient/tgt",
    ] {
        assert_eq!(get(path)["meta"]["versionId"], "1", "{path} changed");
    }
    assert_eq!(
        get("Observation/a-first")["subject"]["reference"],
        "Patient/src"
    );
    let (status, _) = parts(
        app.post("Patient/$unmerge", &merge_body("src", "tgt", false))
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 422, "no merge was recorded");
    // a patient-scoped token may not merge; a read-only one neither
    for scope in ["patient/*.cruds", "user/Patient.rs"] {
        let (status, _) = merge(&token(scope, Some("src"), &["*"]));
        assert_eq!(status, 403, "{scope}");
    }
    // with the clearance the same merge goes through
    let (status, body) = merge(&admin);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        get("Condition/sealed")["subject"]["reference"],
        "Patient/tgt"
    );
    assert_eq!(
        get("Observation/z-last")["subject"]["reference"],
        "Patient/tgt"
    );
}
crate::on_both_backends!(merge_is_atomic_when_a_record_midway_is_refused);

fn match_and_report_respect_labels_and_compartments(backend: Backend) {
    let app = secured(backend);
    let admin = token("user/*.cruds", None, &["*"]);
    let walker = "Walker|William|1980-03-07|male|12 Oak St|62701|217-555-0101";
    for (id, confidential) in [("open", false), ("open-dup", false), ("restricted", true)] {
        let mut p = person(walker);
        p["id"] = json!(id);
        if confidential {
            p["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "R"}]});
        }
        let (status, body) = parts(
            app.put(&format!("Patient/{id}"), &p)
                .bearer_auth(&admin)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 201, "{body}");
    }
    let found = |token: &str| -> Vec<String> {
        let (status, bundle) = parts(
            app.post("Patient/$match", &match_request(person(walker), &[]))
                .bearer_auth(token)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{bundle}");
        entry_ids(&bundle)
    };
    assert_eq!(found(&admin), vec!["open", "open-dup", "restricted"]);
    assert_eq!(
        found(&token("user/Patient.rs", None, &[])),
        vec!["open", "open-dup"]
    );
    assert_eq!(
        found(&token("patient/Patient.rs", Some("open-dup"), &["*"])),
        vec!["open-dup"]
    );
    let report = |token: &str| -> usize {
        let (status, body) = parts(
            app.get("Patient/$duplicates")
                .bearer_auth(token)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{body}");
        pairs(&body).0.len()
    };
    assert_eq!(report(&admin), 3);
    assert_eq!(report(&token("user/Patient.rs", None, &[])), 1);
    let (status, _) = parts(
        app.post("Patient/$match", &match_request(person(walker), &[]))
            .bearer_auth(token("user/Observation.rs", None, &["*"]))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 403);
}
crate::on_both_backends!(match_and_report_respect_labels_and_compartments);

both!(reindex_rebuilds_the_match_keys, |app| {
    seed_people(&app);
    let query = match_request(
        person("Walker|Bill|1980-03-07|male|400 Distant Blvd|10001|212-555-0199"),
        &[],
    );
    assert_eq!(run_match(&app, &query)[0].0, "walker");
    // a database that predates the match keys
    app.execute_sql("DELETE FROM mpi_key");
    assert!(run_match(&app, &query).is_empty());
    let (status, body) = parts(app.post("$reindex", &json!({})).send().unwrap());
    assert_eq!(status, 200, "{body}");
    assert_eq!(run_match(&app, &query)[0].0, "walker");
});

both!(merge_names_patients_by_identifier, |app| {
    put(
        &app,
        "a",
        person("Walkre|Bill|1980-03-07|male|1 A St|10001|212-555-0199|999-20-0001"),
    );
    put(
        &app,
        "b",
        person("Walker|William|1980-03-07|male|2 B St|62701|217-555-0101|999-20-0002"),
    );
    put(
        &app,
        "c",
        person("Walker|Will|1980-03-07|male|3 C St|62701|217-555-0102|999-20-0002"),
    );
    let ident = |name: &str, value: &str| json!({"name": name, "valueIdentifier": {"system": SSN, "value": value}});
    let reference = |name: &str, id: &str| json!({"name": name, "valueReference": {"reference": format!("Patient/{id}")}});
    let call = |parameter: Vec<Value>| {
        let body = json!({"resourceType": "Parameters", "parameter": parameter});
        parts(app.post("Patient/$merge", &body).send().unwrap())
    };
    let preview = json!({"name": "preview", "valueBoolean": true});
    for (parameter, expected) in [
        (
            vec![
                ident("source-patient-identifier", "999-00-0000"),
                reference("target-patient", "b"),
            ],
            404,
        ),
        (
            vec![
                reference("source-patient", "a"),
                ident("target-patient-identifier", "999-20-0002"),
            ],
            422,
        ),
        (
            vec![
                reference("source-patient", "b"),
                ident("source-patient-identifier", "999-20-0001"),
                reference("target-patient", "c"),
            ],
            400,
        ),
        (
            vec![
                ident("source-patient-identifier", "999-20-0001"),
                reference("target-patient", "a"),
            ],
            400,
        ),
    ] {
        let (status, body) = call(parameter);
        assert_eq!(status, expected, "{body}");
    }
    let (status, body) = call(vec![
        ident("source-patient-identifier", "999-20-0001"),
        reference("target-patient", "b"),
        preview,
    ]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(read(&app, "Patient/a")["meta"]["versionId"], "1");
    let (status, body) = call(vec![
        reference("source-patient", "a"),
        ident("source-patient-identifier", "999-20-0001"),
        reference("target-patient", "b"),
    ]);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        read(&app, "Patient/a")["link"][0]["other"]["reference"],
        "Patient/b"
    );
});
