//! The audit trail: every access recorded (writes in their transaction, reads and denials
//! through the sink), append-only over the API, tamper-evident by hash chain.

use crate::helpers::{parts, spawn_with, Backend};
use chartroom::auth::{mint, Claims};
use serde_json::{json, Value};

const SECRET: &str = "audit-test-secret";

fn token(scope: &str, sub: &str) -> String {
    let claims = Claims {
        exp: chrono::Utc::now().timestamp() + 600,
        sub: sub.into(),
        scope: scope.into(),
        purpose_of_use: Some("TREAT".into()),
        ..Claims::default()
    };
    mint(&claims, SECRET).unwrap()
}

/// A server with auth on whose audit trail holds only the test's own events (no
/// deficiency-rule writes).
fn audited(backend: Backend) -> crate::helpers::TestApp {
    spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.deficiency_rules = "off".into();
    })
}

fn events(app: &crate::helpers::TestApp, query: &str) -> Vec<Value> {
    let auditor = token("user/AuditEvent.rs", "auditor-1");
    let (status, bundle) = parts(
        app.get(&format!("AuditEvent?{query}"))
            .bearer_auth(auditor)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{bundle}");
    crate::helpers::entry_resources(&bundle)
}

fn subtypes(events: &[Value]) -> Vec<String> {
    let mut codes: Vec<String> = events
        .iter()
        .map(|e| {
            format!(
                "{}:{}",
                e["subtype"][0]["code"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            )
        })
        .collect();
    codes.sort();
    codes
}

fn trail(backend: Backend) {
    let app = audited(backend);
    let clerk = token("user/*.cruds", "clerk-7");
    let patient = json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Audited"}]});
    assert_eq!(
        app.put("Patient/p1", &patient)
            .bearer_auth(&clerk)
            .send()
            .unwrap()
            .status(),
        201
    );
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p1"}});
    let created = parts(
        app.post("Observation", &obs)
            .bearer_auth(&clerk)
            .send()
            .unwrap(),
    )
    .1;
    let obs_id = created["id"].as_str().unwrap().to_string();
    assert_eq!(
        app.get(&format!("Observation/{obs_id}"))
            .bearer_auth(&clerk)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        app.get("Observation?subject=Patient/p1")
            .bearer_auth(&clerk)
            .send()
            .unwrap()
            .status(),
        200
    );
    assert_eq!(app.get("Patient/p1").send().unwrap().status(), 401);
    assert_eq!(
        app.get("Patient/p1")
            .bearer_auth(token("user/Observation.rs", "nosy"))
            .send()
            .unwrap()
            .status(),
        403
    );

    let about_p1 = events(&app, "patient=p1");
    assert_eq!(
        subtypes(&about_p1),
        [
            "create:0",
            "create:0",
            "read:0",
            "read:4",
            "read:4",
            "search-type:0"
        ],
        "writes, read, search and the two refusals, all about Patient p1"
    );
    let read = about_p1
        .iter()
        .find(|e| e["subtype"][0]["code"] == "read" && e["outcome"] == "0")
        .unwrap();
    assert_eq!(read["agent"][0]["who"]["identifier"]["value"], "clerk-7");
    assert_eq!(
        read["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
        "TREAT"
    );
    assert!(read["agent"][0]["network"]["address"]
        .as_str()
        .unwrap()
        .starts_with("127."));
    assert!(read["entity"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["what"]["reference"] == format!("Observation/{obs_id}")));

    // append-only through the API, whatever the scope
    let admin = token("user/*.cruds system/*.cruds", "root");
    assert_eq!(
        app.post("AuditEvent", &json!({"resourceType": "AuditEvent"}))
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        405
    );
    let some_id = about_p1[0]["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("AuditEvent/{some_id}"))
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        405
    );
    assert_eq!(
        app.put(&format!("AuditEvent/{some_id}"), &about_p1[0])
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        405
    );

    // tamper-evident: the chain verifies, then breaks where a row was altered
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], true, "{report}");
    let verify_cli = || {
        std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
            .args(["audit-verify", "--database-url", &app.database_url])
            .env("CHARTROOM_LOG", "warn")
            .output()
            .unwrap()
    };
    assert!(verify_cli().status.success());
    app.execute_sql("UPDATE audit_event SET content = REPLACE(content, 'clerk-7', 'someone-else') WHERE seq = 3");
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], false);
    assert_eq!(report["parameter"][2]["valueInteger"], 3);
    let output = verify_cli();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("sequence 3"));
}

crate::on_both_backends!(trail);

fn disclosures(backend: Backend) {
    let app = spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
    });
    let registrar = token("user/*.cruds", "registrar-2");
    for id in ["p1", "p2"] {
        app.put(
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id}),
        )
        .bearer_auth(&registrar)
        .send()
        .unwrap();
    }
    let disclose = |patient: &str, recipient: &str, purpose: &str| {
        let body = json!({"resourceType": "Parameters", "parameter": [
            {"name": "recipient", "valueString": recipient},
            {"name": "purpose", "valueCode": purpose},
            {"name": "resource", "valueReference": {"reference": format!("Patient/{patient}")}},
            {"name": "note", "valueString": "mandated report"}
        ]});
        app.client
            .post(app.url(&format!("Patient/{patient}/$disclose")))
            .bearer_auth(&registrar)
            .header("Content-Type", "application/fhir+json")
            .body(body.to_string())
            .send()
            .unwrap()
            .status()
            .as_u16()
    };
    assert_eq!(disclose("p1", "County Public Health", "PUBHLTH"), 201);
    assert_eq!(disclose("p1", "Acme Insurance", "HPAYMT"), 201);
    assert_eq!(disclose("p2", "District Court", "HLEGAL"), 201);
    assert_eq!(disclose("p1", "Somebody", "GOSSIP"), 400);
    assert_eq!(disclose("nobody", "County Public Health", "PUBHLTH"), 404);
    let (status, accounting) = parts(
        app.get("Patient/p1/$disclosures")
            .bearer_auth(&registrar)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    let entries = accounting["entry"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        2,
        "p1's accounting lists its two disclosures only: {accounting}"
    );
    let recipients: Vec<&str> = entries
        .iter()
        .map(|e| {
            e["resource"]["agent"][1]["who"]["display"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(recipients.contains(&"County Public Health") && recipients.contains(&"Acme Insurance"));
    let purposes: Vec<&str> = entries
        .iter()
        .map(|e| {
            e["resource"]["purposeOfEvent"][0]["coding"][0]["code"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert!(purposes.contains(&"PUBHLTH") && purposes.contains(&"HPAYMT"));
    let (_, later) = parts(
        app.get("Patient/p1/$disclosures?period-start=2999-01-01")
            .bearer_auth(&registrar)
            .send()
            .unwrap(),
    );
    assert!(later.get("entry").is_none());
    let admin = token("system/*.cruds", "root");
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], true);
}

crate::on_both_backends!(disclosures);

/// New events are named by their sequence number, which the chain covers; events stored
/// before that keep their UUID and are not reachable by their number.
fn event_ids(backend: Backend) {
    let app = audited(backend);
    let clerk = token("user/*.cruds", "clerk-7");
    for id in ["p1", "p2"] {
        app.put(
            &format!("Patient/{id}"),
            &json!({"resourceType": "Patient", "id": id}),
        )
        .bearer_auth(&clerk)
        .send()
        .unwrap();
    }
    let admin = token("user/*.cruds system/*.cruds", "root");
    let about_p2 = events(&app, "patient=p2");
    let id = about_p2[0]["id"].as_str().unwrap().to_string();
    assert!(id.parse::<i64>().is_ok(), "{id}");
    let (status, event) = parts(
        app.get(&format!("AuditEvent/{id}"))
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(event, about_p2[0]);

    // the newest event moved to another number (order kept, bytes intact) breaks the chain
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], true, "{report}");
    app.execute_sql(
        "UPDATE audit_event SET seq = seq + 100 WHERE seq = (SELECT MAX(seq) FROM audit_event)",
    );
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], false, "{report}");
    // the first broken link is the moved event (this test wrote far fewer than 100)
    assert!(
        report["parameter"][2]["valueInteger"].as_i64().unwrap() > 100,
        "{report}"
    );

    // an event from before numbered ids: found by its UUID only
    app.execute_sql(
        "INSERT INTO audit_event (seq, recorded, patient_id, agent, action, kind, outcome, content, hash, event_id) \
         VALUES (5000, 0, 'p1', 'old', 'R', 'access', '0', \
         '{\"resourceType\":\"AuditEvent\",\"id\":\"3f2c0d1e-0000-4000-8000-000000000001\"}', 'h', \
         '3f2c0d1e-0000-4000-8000-000000000001')",
    );
    let (status, old) = parts(
        app.get("AuditEvent/3f2c0d1e-0000-4000-8000-000000000001")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(old["id"], "3f2c0d1e-0000-4000-8000-000000000001");
    assert_eq!(
        app.get("AuditEvent/5000")
            .bearer_auth(&admin)
            .send()
            .unwrap()
            .status(),
        404
    );
}

crate::on_both_backends!(event_ids);

/// Reads gathered together that share patient, caller and outcome share a stored row; each
/// is still its own AuditEvent, readable by id, counted, and covered by the chain.
fn grouped_reads(backend: Backend) {
    let app = audited(backend);
    let clerk = token("user/*.cruds", "clerk-7");
    app.put(
        "Patient/p1",
        &json!({"resourceType": "Patient", "id": "p1"}),
    )
    .bearer_auth(&clerk)
    .send()
    .unwrap();
    for _ in 0..5 {
        assert_eq!(
            app.get("Patient/p1")
                .bearer_auth(&clerk)
                .send()
                .unwrap()
                .status(),
            200
        );
    }
    let reads: Vec<Value> = events(&app, "patient=p1&_count=50")
        .into_iter()
        .filter(|e| e["subtype"][0]["code"] == "read")
        .collect();
    assert_eq!(reads.len(), 5);
    let ids: std::collections::BTreeSet<&str> =
        reads.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 5, "{ids:?}");
    assert!(
        ids.iter().any(|id| id.contains('-')),
        "the burst shares a row: {ids:?}"
    );
    let admin = token("user/*.cruds system/*.cruds", "root");
    for event in &reads {
        let id = event["id"].as_str().unwrap();
        let (status, read) = parts(
            app.get(&format!("AuditEvent/{id}"))
                .bearer_auth(&admin)
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
        assert_eq!(&read, event);
    }
    assert_eq!(events(&app, "patient=p1&_count=2").len(), 2);
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], true, "{report}");
    assert!(
        report["parameter"][0]["valueInteger"].as_i64().unwrap() >= 6,
        "{report}"
    );
    // one read of the burst altered: the chain breaks at its row
    let row = ids
        .iter()
        .find(|id| id.contains('-'))
        .unwrap()
        .split('-')
        .next()
        .unwrap()
        .to_string();
    app.execute_sql(&format!(
        "UPDATE audit_event SET content = REPLACE(content, '\"{row}-1\"', '\"{row}-9\"') WHERE seq = {row}"
    ));
    let (_, report) = parts(app.get("$audit-verify").bearer_auth(&admin).send().unwrap());
    assert_eq!(report["parameter"][1]["valueBoolean"], false, "{report}");
    assert_eq!(report["parameter"][2]["valueInteger"].to_string(), row);
}

crate::on_both_backends!(grouped_reads);
