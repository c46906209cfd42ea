//! `chartroom doctor` and `GET /admin/doctor`: index rows and projections damaged directly
//! in SQL are found, repaired, and the report is clean again.

use crate::helpers::{parts, spawn_with, spawn_without_rules, Backend, TestApp};
use serde_json::{json, Value};
use std::process::Command;

fn report(app: &TestApp, repair: bool) -> Value {
    let url = if repair {
        format!("{}/admin/doctor/repair", app.root())
    } else {
        format!("{}/admin/doctor", app.root())
    };
    let request = if repair {
        app.client.post(url)
    } else {
        app.client.get(url)
    };
    let (status, body) = parts(request.send().unwrap());
    assert_eq!(status, 200, "{body}");
    body
}

fn check<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {report}"))
}

fn mrn_hits(app: &TestApp) -> Value {
    let (status, bundle) = parts(app.get("Patient?identifier=urn:mrn|D-42").send().unwrap());
    assert_eq!(status, 200);
    bundle["total"].clone()
}

/// Creates a patient and a condition, then damages the store: deletes the patient's token
/// index rows, alters its projection row, and adds an index row nobody owns.
fn damage(app: &TestApp) -> String {
    let patient = app.create(&json!({
        "resourceType": "Patient",
        "identifier": [{"system": "urn:mrn", "value": "D-42"}],
        "name": [{"family": "Doctorson"}],
        "birthDate": "1970-01-01"
    }));
    let id = patient["id"].as_str().unwrap().to_string();
    app.create(&json!({
        "resourceType": "Condition",
        "subject": {"reference": format!("Patient/{id}")},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}
    }));
    assert_eq!(mrn_hits(app), 1);
    let rk = format!("(SELECT rk FROM resources WHERE res_type = 'Patient' AND res_id = '{id}')");
    app.execute_sql(&format!(
        "DELETE FROM idx_token WHERE rk = {rk};
         UPDATE patient SET birth_date = '1999-09-09' WHERE rk = {rk};
         INSERT INTO idx_uri (rk, res_type, param, value) VALUES (987654321, 'Patient', 'x', 'y');"
    ));
    assert_eq!(
        mrn_hits(app),
        0,
        "the damage should hide the patient from search"
    );
    id
}

fn doctor_finds_and_repairs_index_drift(backend: Backend) {
    let app = spawn_without_rules(backend);
    let clean = report(&app, false);
    assert_eq!(clean["ok"], true, "{clean}");
    let id = damage(&app);
    let found = report(&app, false);
    assert_eq!(found["ok"], false, "{found}");
    assert_eq!(check(&found, "indexes")["status"], "error");
    assert_eq!(found["indexes"]["drifted_count"], 1, "{found}");
    assert_eq!(
        found["indexes"]["drifted"],
        json!([format!("Patient/{id}")])
    );
    assert_eq!(found["indexes"]["orphan_rows"]["idx_uri"], 1);
    for name in [
        "configuration",
        "database",
        "migrations",
        "clock",
        "terminology",
    ] {
        assert_ne!(check(&found, name)["status"], "error", "{found}");
    }
    // checking changes nothing
    assert_eq!(mrn_hits(&app), 0);
    let repaired = report(&app, true);
    assert_eq!(repaired["indexes"]["repaired"], true, "{repaired}");
    assert_eq!(repaired["ok"], true, "{repaired}");
    assert_eq!(mrn_hits(&app), 1);
    let after = report(&app, false);
    assert_eq!(after["ok"], true, "{after}");
    assert_eq!(after["indexes"]["drifted_count"], 0);
    assert_eq!(after["indexes"]["orphan_rows"], json!({}));
    assert_eq!(after["indexes"]["resources"], 2);
}
crate::on_both_backends!(doctor_finds_and_repairs_index_drift);

fn cli(app: &TestApp, args: &[&str]) -> (i32, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .arg("doctor")
        .args(args)
        .env("CHARTROOM_DATABASE_URL", &app.database_url)
        .env("CHARTROOM_AUTH", "off")
        .output()
        .unwrap();
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).to_string(),
    )
}

fn doctor_command_exit_code_and_repair(backend: Backend) {
    let app = spawn_without_rules(backend);
    damage(&app);
    let (code, text) = cli(&app, &[]);
    assert_eq!(code, 1, "{text}");
    assert!(text.contains("indexes        ERROR"), "{text}");
    assert!(text.contains("chartroom doctor --repair"), "{text}");
    assert!(text.contains("idx_uri: 1 orphan row(s)"), "{text}");
    let (code, text) = cli(&app, &["--repair"]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("repaired: 1 of 2 resource(s) drifted"),
        "{text}"
    );
    let (code, text) = cli(&app, &["--json"]);
    assert_eq!(code, 0, "{text}");
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["indexes"]["drifted_count"], 0);
    assert_eq!(mrn_hits(&app), 1);
}
crate::on_both_backends!(doctor_command_exit_code_and_repair);

#[test]
fn doctor_reports_an_unreachable_database_and_pending_migrations() {
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args([
            "doctor",
            "--database-url",
            "postgres://nobody@127.0.0.1:1/none",
        ])
        .env("CHARTROOM_AUTH", "off")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("database       ERROR"), "{text}");
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let fresh = dir.join(format!("doctor-{}.db", uuid::Uuid::new_v4().simple()));
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["doctor", "--database-url"])
        .arg(format!("sqlite://{}", fresh.display()))
        .env("CHARTROOM_AUTH", "off")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    assert!(text.contains("migrations     ERROR"), "{text}");
    assert!(text.contains("chartroom migrate"), "{text}");
    let _ = std::fs::remove_file(&fresh);
}

#[test]
fn admin_doctor_needs_an_unrestricted_token() {
    let secret = "doctor-test-secret-0123456789abcdef";
    let app = spawn_with(Backend::Sqlite, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(secret.into());
    });
    let token = |scope: &str| {
        chartroom::auth::mint(
            &chartroom::auth::Claims {
                iss: None,
                aud: None,
                exp: chrono::Utc::now().timestamp() + 600,
                nbf: None,
                sub: "doctor-test".into(),
                scope: scope.into(),
                patient: None,
                fhir_user: None,
                chartroom_roles: vec![],
                chartroom_clearances: vec![],
                chartroom_btg: false,
                purpose_of_use: None,
            },
            secret,
        )
        .unwrap()
    };
    let url = format!("{}/admin/doctor", app.root());
    assert_eq!(app.client.get(&url).send().unwrap().status(), 401);
    let narrow = app
        .client
        .get(&url)
        .bearer_auth(token("user/Patient.rs"))
        .send()
        .unwrap();
    assert_eq!(narrow.status(), 403);
    let full = app
        .client
        .get(&url)
        .bearer_auth(token("user/*.cruds"))
        .send()
        .unwrap();
    assert_eq!(full.status(), 200);
}
