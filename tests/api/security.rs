//! Authentication, SMART scopes, patient compartments and sealed records, through HTTP.

use crate::helpers::{parts, spawn_with, Backend, TestApp};
use chartroom::auth::{mint, Claims};
use serde_json::json;

pub(crate) const SECRET: &str = "test-secret-for-chartroom";

pub fn secured(backend: Backend) -> TestApp {
    spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    })
}

pub(crate) fn token(scope: &str, patient: Option<&str>, clearances: &[&str]) -> String {
    token_for("tester", scope, patient, clearances)
}

/// An HS256 token for `sub` with these scopes, patient and clearances (audience chartroom).
pub fn token_for(sub: &str, scope: &str, patient: Option<&str>, clearances: &[&str]) -> String {
    let claims = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: sub.into(),
        scope: scope.into(),
        patient: patient.map(str::to_string),
        chartroom_clearances: clearances.iter().map(|c| c.to_string()).collect(),
        ..Claims::default()
    };
    mint(&claims, SECRET).unwrap()
}

/// Stores each resource with PUT at its own id (asserting success).
pub fn put_all(app: &TestApp, token: &str, resources: &[serde_json::Value]) {
    for resource in resources {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let (status, body) = parts(app.put(&path, resource).bearer_auth(token).send().unwrap());
        assert!(status == 201 || status == 200, "{path}: {body}");
    }
}

/// The status of a JSON Patch of `path`.
pub fn json_patch(app: &TestApp, path: &str, token: &str, patch: &serde_json::Value) -> u16 {
    app.client
        .patch(app.url(path))
        .bearer_auth(token)
        .header("Content-Type", "application/json-patch+json")
        .body(patch.to_string())
        .send()
        .unwrap()
        .status()
        .as_u16()
}

fn seed(app: &TestApp) -> String {
    let admin = token("user/*.cruds", None, &["*"]);
    put_all(
        app,
        &admin,
        &[
            json!({"resourceType": "Patient", "id": "a", "name": [{"family": "Alpha"}]}),
            json!({"resourceType": "Patient", "id": "b", "name": [{"family": "Beta"}]}),
            json!({"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Doc"}]}),
            json!({"resourceType": "Observation", "id": "oa", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/a"}, "performer": [{"reference": "Practitioner/doc"}]}),
            json!({"resourceType": "Observation", "id": "ob", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/b"}}),
            json!({"resourceType": "Condition", "id": "abuse", "subject": {"reference": "Patient/a"}, "code": {"text": "abuse"},
               "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SDV"}]}}),
        ],
    );
    admin
}

fn ids(app: &TestApp, query: &str, token: &str) -> (u16, Vec<String>, serde_json::Value) {
    let (status, bundle) = parts(app.get(query).bearer_auth(token).send().unwrap());
    (status, entry_ids(&bundle), bundle)
}

/// The ids of the resources in a Bundle's entries, sorted.
pub fn entry_ids(bundle: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["id"].as_str().map(str::to_string))
        .collect();
    ids.sort();
    ids
}

/// An active patient-privacy Consent of `patient` with this root provision.
pub fn privacy_consent(id: &str, patient: &str, provision: serde_json::Value) -> serde_json::Value {
    json!({"resourceType": "Consent", "id": id, "status": "active",
        "scope": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy"}]},
        "category": [{"coding": [{"system": "http://loinc.org", "code": "59284-0"}]}],
        "patient": {"reference": format!("Patient/{patient}")},
        "policyRule": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "OPTOUT"}]},
        "provision": provision})
}

fn tokens_are_checked(backend: Backend) {
    let app = secured(backend);
    let response = app.get("Patient").send().unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.headers()["WWW-Authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let (_, outcome) = parts(response);
    assert_eq!(outcome["issue"][0]["code"], "login");
    let good = token("user/*.cruds", None, &[]);
    assert_eq!(
        app.get("Patient")
            .bearer_auth(&good)
            .send()
            .unwrap()
            .status(),
        200
    );
    let mut expired = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() - 3600,
        scope: "user/*.cruds".into(),
        ..Claims::default()
    };
    let bad_tokens = vec![
        mint(&expired, SECRET).unwrap(),
        {
            expired.exp += 7200;
            expired.aud = Some("elsewhere".into());
            mint(&expired, SECRET).unwrap()
        },
        {
            expired.aud = Some("chartroom".into());
            mint(&expired, "wrong-key").unwrap()
        },
        {
            let p: Vec<&str> = good.split('.').collect();
            format!("eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.", p[1])
        },
        {
            let p: Vec<&str> = good.split('.').collect();
            format!("{}.{}A.{}", p[0], p[1], p[2])
        },
        "not-a-jwt".to_string(),
    ];
    for bad in bad_tokens {
        let (status, outcome) = parts(app.get("Patient").bearer_auth(&bad).send().unwrap());
        assert_eq!(status, 401);
        assert_eq!(
            outcome["issue"][0]["diagnostics"], "invalid token",
            "no detail leaks"
        );
    }
    assert_eq!(
        app.get("metadata").send().unwrap().status(),
        200,
        "discovery stays public"
    );
    assert_eq!(
        app.get(".well-known/smart-configuration")
            .send()
            .unwrap()
            .status(),
        200
    );
}

fn scopes_and_compartments(backend: Backend) {
    let app = secured(backend);
    seed(&app);
    let patient_a = token("patient/*.rs", Some("a"), &[]);
    // reads: own data yes, other patient's data is not found
    assert_eq!(
        app.get("Patient/a")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.get("Patient/b")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Observation/oa")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.get("Observation/ob")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Observation/ob/_history/1")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Observation/ob/_history")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        404
    );
    // searches are confined, totals included
    let (_, found, bundle) = ids(&app, "Observation", &patient_a);
    assert_eq!(found, ["oa"]);
    assert_eq!(bundle["total"], 1);
    let (_, found, _) = ids(&app, "Patient", &patient_a);
    assert_eq!(found, ["a"]);
    let (_, found, _) = ids(&app, "Observation?subject=Patient/b", &patient_a);
    assert!(found.is_empty());
    let (_, found, _) = ids(&app, "Patient?_revinclude=Observation:subject", &patient_a);
    assert_eq!(found, ["a", "oa"]);
    let (_, found, _) = ids(
        &app,
        "Observation?_include=Observation:subject&_include=Observation:performer",
        &patient_a,
    );
    assert_eq!(found, ["a", "doc", "oa"]);
    let (_, found, _) = ids(
        &app,
        "Patient?_has:Observation:subject:status=final",
        &patient_a,
    );
    assert_eq!(found, ["a"]);
    let (status, _, _) = ids(&app, "Patient/b/$everything", &patient_a);
    assert_eq!(status, 404);
    let (status, found, _) = ids(&app, "Patient/a/$everything", &patient_a);
    assert_eq!(status, 200);
    assert_eq!(found, ["a", "oa"], "the sealed Condition stays hidden");
    assert_eq!(
        app.get("Observation/_history")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.get("?_type=Observation")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.get("_history")
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        403
    );
    // writes need a write scope, and stay in the compartment
    let obs = |subject: &str| json!({"resourceType": "Observation", "status": "final", "code": {"text": "y"}, "subject": {"reference": subject}});
    assert_eq!(
        app.post("Observation", &obs("Patient/a"))
            .bearer_auth(&patient_a)
            .send()
            .unwrap()
            .status(),
        403
    );
    let writer = token("patient/Observation.cruds", Some("a"), &[]);
    assert_eq!(
        app.post("Observation", &obs("Patient/a"))
            .bearer_auth(&writer)
            .send()
            .unwrap()
            .status(),
        201
    );
    assert_eq!(
        app.post("Observation", &obs("Patient/b"))
            .bearer_auth(&writer)
            .send()
            .unwrap()
            .status(),
        403
    );
    assert_eq!(
        app.delete("Observation/ob")
            .bearer_auth(&writer)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Patient/a")
            .bearer_auth(&writer)
            .send()
            .unwrap()
            .status(),
        403,
        "no scope for Patient"
    );
    let (_, total) = parts(
        app.get("Observation?_summary=count")
            .bearer_auth(token("user/*.rs", None, &[]))
            .send()
            .unwrap(),
    );
    assert_eq!(total["total"], 3, "the refused write stored nothing");
}

fn sealed_records(backend: Backend) {
    let app = secured(backend);
    seed(&app);
    let clerk = token("user/*.rs", None, &[]);
    let cleared = token("user/*.rs", None, &["SDV"]);
    assert_eq!(
        app.get("Condition/abuse")
            .bearer_auth(&clerk)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Condition/abuse")
            .bearer_auth(&cleared)
            .send()
            .unwrap()
            .status(),
        200
    );
    let (_, found, bundle) = ids(&app, "Condition?subject=Patient/a", &clerk);
    assert!(found.is_empty());
    assert_eq!(bundle["total"], 0, "counts do not reveal sealed records");
    let (_, found, _) = ids(&app, "Condition", &cleared);
    assert_eq!(found, ["abuse"]);
    let (_, found, _) = ids(&app, "Patient?_revinclude=Condition:subject&_id=a", &clerk);
    assert_eq!(found, ["a"]);
    let (_, found, _) = ids(&app, "Patient/a/$everything", &clerk);
    assert_eq!(found, ["a", "oa"]);
    let (_, history, _) = ids(&app, "Condition/_history", &clerk);
    assert!(history.is_empty());
}

crate::on_both_backends!(tokens_are_checked);
crate::on_both_backends!(scopes_and_compartments);
crate::on_both_backends!(sealed_records);

fn break_the_glass_and_roles(backend: Backend) {
    let app = secured(backend);
    seed(&app);
    let mut claims = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: "er-doc".into(),
        scope: "user/*.rs".into(),
        chartroom_btg: true,
        ..Claims::default()
    };
    let may_break = mint(&claims, SECRET).unwrap();
    claims.chartroom_btg = false;
    let may_not = mint(&claims, SECRET).unwrap();
    assert_eq!(
        app.get("Condition/abuse")
            .bearer_auth(&may_break)
            .send()
            .unwrap()
            .status(),
        404,
        "sealed without breaking the glass"
    );
    let glass = |token: &str, reason: &str| {
        app.get("Condition/abuse")
            .bearer_auth(token)
            .header("X-Purpose-Of-Use", "BTG")
            .header("X-Break-Glass-Reason", reason)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(glass(&may_break, "unconscious patient in the ED"), 200);
    assert_eq!(glass(&may_break, " "), 403, "a reason is required");
    assert_eq!(
        glass(&may_not, "curious"),
        403,
        "only tokens with chartroom_btg"
    );
    let officer = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: "privacy".into(),
        chartroom_roles: vec!["privacy-officer".into()],
        ..Claims::default()
    };
    let officer = mint(&officer, SECRET).unwrap();
    let (status, report) = parts(
        app.get("AuditEvent?purpose=BTG")
            .bearer_auth(&officer)
            .send()
            .unwrap(),
    );
    assert_eq!(
        status, 200,
        "the privacy-officer role reads AuditEvents: {report}"
    );
    let entries = report["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "one glass broken: {report}");
    let event = &entries[0]["resource"];
    assert_eq!(event["agent"][0]["who"]["identifier"]["value"], "er-doc");
    assert!(event["outcomeDesc"]
        .as_str()
        .unwrap()
        .contains("unconscious patient in the ED"));
    assert_eq!(
        app.delete("Patient/a")
            .bearer_auth(&officer)
            .send()
            .unwrap()
            .status(),
        403,
        "the role grants no delete"
    );
}

crate::on_both_backends!(break_the_glass_and_roles);

fn consents_are_enforced(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let consent = privacy_consent(
        "c1",
        "b",
        json!({"type": "deny", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "HMARKT"}]}),
    );
    assert_eq!(
        app.put("Consent/c1", &consent)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        201
    );
    let reader = token("user/*.rs", None, &[]);
    let as_purpose = |path: &str, purpose: &str| {
        app.get(path)
            .bearer_auth(&reader)
            .header("X-Purpose-Of-Use", purpose)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(as_purpose("Patient/b", "TREAT"), 200);
    assert_eq!(
        as_purpose("Patient/b", "HMARKT"),
        404,
        "the Consent denies marketing"
    );
    assert_eq!(as_purpose("Observation/ob", "HMARKT"), 404);
    assert_eq!(
        as_purpose("Patient/a", "HMARKT"),
        200,
        "other patients are unaffected"
    );
    let (_, bundle) = parts(
        app.get("Observation")
            .bearer_auth(&reader)
            .header("X-Purpose-Of-Use", "HMARKT")
            .send()
            .unwrap(),
    );
    assert_eq!(
        bundle["total"], 1,
        "searches and totals leave the denied patient out: {bundle}"
    );
    // a deny by actor
    let mut by_actor = consent.clone();
    by_actor["provision"] = json!({"type": "deny", "actor": [{"role": {"text": "blocked"}, "reference": {"reference": "Practitioner/doc"}}]});
    assert_eq!(
        app.put("Consent/c1", &by_actor)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        200
    );
    let doc = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: "doc".into(),
        scope: "user/*.rs".into(),
        fhir_user: Some("Practitioner/doc".into()),
        chartroom_btg: true,
        ..Claims::default()
    };
    let doc = mint(&doc, SECRET).unwrap();
    assert_eq!(
        app.get("Patient/b")
            .bearer_auth(&doc)
            .send()
            .unwrap()
            .status(),
        404
    );
    assert_eq!(
        app.get("Patient/a")
            .bearer_auth(&doc)
            .send()
            .unwrap()
            .status(),
        200
    );
    let glass = app
        .get("Patient/b")
        .bearer_auth(&doc)
        .header("X-Purpose-Of-Use", "BTG")
        .header("X-Break-Glass-Reason", "emergency")
        .send()
        .unwrap();
    assert_eq!(
        glass.status(),
        200,
        "breaking the glass overrides the Consent (and is audited)"
    );
}

crate::on_both_backends!(consents_are_enforced);

fn sealed_records_are_not_overwritten(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    let clerk = token("user/*.cruds", None, &[]);
    let overwrite = json!({"resourceType": "Condition", "id": "abuse", "subject": {"reference": "Patient/a"}, "code": {"text": "overwritten"}});
    assert_eq!(
        app.put("Condition/abuse", &overwrite)
            .bearer_auth(&clerk)
            .send()
            .unwrap()
            .status(),
        404,
        "a user-scoped caller without clearance cannot overwrite what it cannot read"
    );
    let patch = json!([{"op": "replace", "path": "/code/text", "value": "patched"}]);
    assert_eq!(json_patch(&app, "Condition/abuse", &clerk, &patch), 404);
    let (_, stored) = parts(
        app.get("Condition/abuse")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(stored["code"]["text"], "abuse");
    assert_eq!(stored["meta"]["versionId"], "1");
    let cleared = token("user/*.cruds", None, &["SDV"]);
    assert_eq!(
        app.put("Condition/abuse", &overwrite)
            .bearer_auth(&cleared)
            .send()
            .unwrap()
            .status(),
        200
    );
}

crate::on_both_backends!(sealed_records_are_not_overwritten);

fn roles_come_from_config(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.roles.insert("coder".into(), "user/Condition.rs".into());
    });
    let role_token = |role: &str| {
        mint(
            &Claims {
                exp: chrono::Utc::now().timestamp() + 600,
                sub: "r".into(),
                chartroom_roles: vec![role.into()],
                ..Claims::default()
            },
            SECRET,
        )
        .unwrap()
    };
    let status = |path: &str, role: &str| {
        app.get(path)
            .bearer_auth(role_token(role))
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(status("Condition", "coder"), 200);
    assert_eq!(
        status("Encounter", "coder"),
        403,
        "the configured scopes replace the built-in ones"
    );
    assert_eq!(
        status("Encounter", "clinician"),
        200,
        "roles not configured keep theirs"
    );
    assert_eq!(status("Encounter", "nobody"), 403);
}

crate::on_both_backends!(roles_come_from_config);

fn nested_consent_provisions(backend: Backend) {
    let app = secured(backend);
    let admin = seed(&app);
    // deny everything about b, except for treatment; and never Observation/ob, even then
    let consent = privacy_consent(
        "nested",
        "b",
        json!({"type": "deny", "provision": [
            {"type": "permit", "purpose": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT"}],
             "provision": [{"type": "deny", "data": [{"meaning": "instance", "reference": {"reference": "Observation/ob"}}]}]}
        ]}),
    );
    assert_eq!(
        app.put("Consent/nested", &consent)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        201
    );
    let reader = token("user/*.rs", None, &[]);
    let as_purpose = |path: &str, purpose: &str| {
        parts(
            app.get(path)
                .bearer_auth(&reader)
                .header("X-Purpose-Of-Use", purpose)
                .send()
                .unwrap(),
        )
    };
    assert_eq!(
        as_purpose("Patient/b", "TREAT").0,
        200,
        "permit inside deny"
    );
    assert_eq!(as_purpose("Patient/b", "HPAYMT").0, 404, "the root deny");
    assert_eq!(
        as_purpose("Observation/ob", "TREAT").0,
        404,
        "deny inside permit"
    );
    assert_eq!(
        as_purpose("Observation/oa", "HPAYMT").0,
        200,
        "other patients"
    );
    assert_eq!(
        as_purpose("Observation", "TREAT").1["total"],
        1,
        "search leaves ob out"
    );
    assert_eq!(as_purpose("Patient", "TREAT").1["total"], 2);
    assert_eq!(as_purpose("Patient", "HPAYMT").1["total"], 1);
    assert_eq!(
        as_purpose("Observation?_summary=count", "HPAYMT").1["total"],
        1
    );
    // chains and _has do not look through denied data either
    let (_, chained) = as_purpose("Observation?subject:Patient.name=Beta", "HPAYMT");
    assert_eq!(chained["total"], 0, "{chained}");
    let (_, has) = as_purpose("Patient?_has:Observation:subject:_id=ob", "TREAT");
    assert_eq!(
        has["total"], 0,
        "the data provision hides ob from _has: {has}"
    );
    let (_, has) = as_purpose("Patient?_has:Observation:subject:_id=oa", "HPAYMT");
    assert_eq!(has["total"], 1);
    // withdrawing the Consent takes effect at once (the cache is invalidated)
    let mut withdrawn = consent.clone();
    withdrawn["status"] = json!("inactive");
    assert_eq!(
        app.put("Consent/nested", &withdrawn)
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(as_purpose("Observation/ob", "TREAT").0, 200);
    assert_eq!(as_purpose("Patient/b", "HPAYMT").0, 200);
}

crate::on_both_backends!(nested_consent_provisions);

fn issuer_and_leeway(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.jwt_issuer = Some("https://idp.example".into());
        c.jwt_leeway_seconds = 120;
    });
    let now = chrono::Utc::now().timestamp();
    let with = |iss: &str, exp: i64, nbf: Option<i64>| {
        let claims = Claims {
            iss: Some(iss.into()),
            exp,
            nbf,
            sub: "t".into(),
            scope: "user/*.rs".into(),
            ..Claims::default()
        };
        app.get("Patient")
            .bearer_auth(mint(&claims, SECRET).unwrap())
            .send()
            .unwrap()
            .status()
    };
    let idp = "https://idp.example";
    assert_eq!(with(idp, now + 600, None), 200);
    assert_eq!(
        with("https://elsewhere", now + 600, None),
        401,
        "wrong issuer"
    );
    assert_eq!(with(idp, now - 60, None), 200, "expired within the leeway");
    assert_eq!(with(idp, now - 300, None), 401, "expired beyond the leeway");
    assert_eq!(
        with(idp, now + 600, Some(now + 60)),
        200,
        "nbf within the leeway"
    );
    assert_eq!(with(idp, now + 600, Some(now + 300)), 401, "not yet valid");
}

crate::on_both_backends!(issuer_and_leeway);

fn request_limits(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.max_includes = 1;
        c.max_chain_depth = 1;
        c.max_included = 1;
    });
    for resource in [
        json!({"resourceType": "Patient", "id": "p", "generalPractitioner": [{"reference": "Practitioner/d"}]}),
        json!({"resourceType": "Practitioner", "id": "d", "name": [{"family": "Doc"}]}),
        json!({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p"}, "performer": [{"reference": "Practitioner/d"}]}),
    ] {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        assert!(app
            .put(&path, &resource)
            .send()
            .unwrap()
            .status()
            .is_success());
    }
    let too_costly = |query: &str, setting: &str| {
        let (status, outcome) = parts(app.get(query).send().unwrap());
        assert_eq!(status, 400, "{query}: {outcome}");
        assert_eq!(outcome["issue"][0]["code"], "too-costly", "{query}");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .unwrap()
                .contains(setting),
            "{query}: {outcome}"
        );
    };
    too_costly(
        "Observation?_include=Observation:subject&_include=Observation:performer",
        "max_includes",
    );
    too_costly(
        "Observation?subject:Patient.general-practitioner:Practitioner.name=Doc",
        "max_chain_depth",
    );
    too_costly("Observation?_include=Observation:*", "max_included");
    let (status, _) = parts(
        app.get("Observation?subject:Patient.name=x")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "one link is within the limit");
    let (status, _) = parts(
        app.get("Observation?_include=Observation:subject")
            .send()
            .unwrap(),
    );
    assert_eq!(
        status, 200,
        "one include of one resource is within the limits"
    );
}

crate::on_both_backends!(request_limits);
