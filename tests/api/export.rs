//! Bulk Data `$export` through HTTP on both stores: kick-off (GET and POST with a
//! Parameters body), polling, manifest, download, `_type`/`_since`/`_typeFilter`,
//! `_elements`, `patient`, `includeAssociatedData`, Patient and Group level, cancel, expiry
//! and clean-up, bad requests, a patient-scoped token's leak check, a job across a server
//! restart, and a re-import of the output into a fresh store (also from `chartroom export`).

use crate::helpers::{parts, spawn_with, Backend, TestApp};
use chartroom::config::Config;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("export-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A scratch export directory and a server whose export files go there, closed past 600 bytes.
fn exporting(backend: Backend, name: &str, adjust: impl FnOnce(&mut Config)) -> (PathBuf, TestApp) {
    let dir = scratch(name);
    let export_dir = dir.display().to_string();
    let app = spawn_with(backend, move |c| {
        c.export_dir = export_dir;
        c.export_file_bytes = 600;
        // exports count every resource: no deficiency Tasks besides the test's own data
        c.deficiency_rules = "off".into();
        adjust(c);
    });
    (dir, app)
}

/// Kick-off: asserts 202 and returns the status URL.
fn kick(app: &TestApp, path: &str, token: Option<&str>) -> String {
    let mut request = app.get(path).header("Prefer", "respond-async");
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    accepted(request.send().unwrap(), path)
}

/// Asserts a kick-off's 202 and returns its Content-Location.
fn accepted(response: reqwest::blocking::Response, what: &str) -> String {
    let location = response
        .headers()
        .get("Content-Location")
        .map(|v| v.to_str().unwrap().to_string());
    let (status, body) = parts(response);
    assert_eq!(status, 202, "{what}: {body}");
    location.expect("Content-Location")
}

fn authed(
    app: &TestApp,
    method: reqwest::Method,
    url: &str,
    token: Option<&str>,
) -> reqwest::blocking::Response {
    let mut request = app.client.request(method, url);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().unwrap()
}

/// Polls the status URL until the manifest comes; returns it and how many 202s were seen.
fn wait(app: &TestApp, status_url: &str, token: Option<&str>) -> (Value, usize) {
    let started = Instant::now();
    let mut working = 0;
    loop {
        let response = authed(app, reqwest::Method::GET, status_url, token);
        match response.status().as_u16() {
            202 => {
                assert!(response.headers().contains_key("X-Progress"));
                assert!(response.headers().contains_key("Retry-After"));
                working += 1;
            }
            200 => {
                let (_, manifest) = parts(response);
                return (manifest, working);
            }
            other => panic!("status {other}: {}", response.text().unwrap()),
        }
        assert!(
            started.elapsed() < Duration::from_secs(90),
            "export did not finish"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Downloads every output file: resources per type, and (type, file count, lines, bytes).
fn download(app: &TestApp, manifest: &Value, token: Option<&str>) -> BTreeMap<String, Vec<Value>> {
    let mut by_type: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for output in manifest["output"].as_array().unwrap() {
        let response = authed(
            app,
            reqwest::Method::GET,
            output["url"].as_str().unwrap(),
            token,
        );
        assert_eq!(response.status(), 200);
        assert_eq!(
            response.headers()["Content-Type"],
            "application/fhir+ndjson"
        );
        let text = response.text().unwrap();
        let lines: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("each line is one JSON resource"))
            .collect();
        assert_eq!(lines.len() as i64, output["count"].as_i64().unwrap());
        assert!(text.ends_with('\n'));
        // bounded by bytes: a file passes the limit only when one resource alone does
        assert!(
            text.len() <= 600 || lines.len() == 1,
            "{} bytes in {} lines",
            text.len(),
            lines.len()
        );
        for resource in &lines {
            assert_eq!(resource["resourceType"], output["type"]);
        }
        by_type
            .entry(output["type"].as_str().unwrap().to_string())
            .or_default()
            .extend(lines);
    }
    by_type
}

fn ids(resources: Option<&Vec<Value>>) -> Vec<String> {
    let mut ids: Vec<String> = resources
        .into_iter()
        .flatten()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn put(app: &TestApp, resource: Value, token: Option<&str>) {
    let path = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap(),
        resource["id"].as_str().unwrap()
    );
    let mut request = app.put(&path, &resource);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let (status, body) = parts(request.send().unwrap());
    assert!(status == 200 || status == 201, "{path}: {body}");
}

fn condition(id: &str, patient: &str, code: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code}]}})
}

/// Patients p0..pN with a Condition each (E11 for even, I10 for odd), an Observation for
/// p0, a Practitioner and an Organization.
fn seed(app: &TestApp, patients: usize, token: Option<&str>) {
    for i in 0..patients {
        put(
            app,
            json!({"resourceType": "Patient", "id": format!("p{i}"), "name": [{"family": format!("Family{i}")}]}),
            token,
        );
        put(
            app,
            condition(
                &format!("c{i}"),
                &format!("p{i}"),
                if i % 2 == 0 { "E11.9" } else { "I10" },
            ),
            token,
        );
    }
    put(
        app,
        json!({"resourceType": "Observation", "id": "o0", "status": "final", "code": {"text": "x"}, "subject": {"reference": "Patient/p0"}}),
        token,
    );
    put(
        app,
        json!({"resourceType": "Practitioner", "id": "doc", "name": [{"family": "Doc"}]}),
        token,
    );
    put(
        app,
        json!({"resourceType": "Organization", "id": "org", "name": "Hospital"}),
        token,
    );
}

fn kickoff_poll_manifest_download(backend: Backend) {
    let (dir, app) = exporting(backend, "basic", |c| c.export_throttle_ms = 150);
    seed(&app, 8, None);
    let status_url = kick(
        &app,
        "$export?_type=Patient,Condition,Observation,Practitioner",
        None,
    );
    assert!(status_url.starts_with(&app.base));
    let (manifest, working) = wait(&app, &status_url, None);
    assert!(working > 0, "never saw the job in progress");
    assert_eq!(manifest["requiresAccessToken"], true);
    assert_eq!(manifest["error"], json!([]));
    assert_eq!(
        manifest["request"],
        format!(
            "{}/$export?_type=Patient,Condition,Observation,Practitioner",
            app.base
        )
    );
    assert!(manifest["transactionTime"].as_str().unwrap().ends_with('Z'));
    let (_, capabilities) = parts(app.get("metadata").send().unwrap());
    let system_ops = capabilities["rest"][0]["operation"].as_array().unwrap();
    let export = system_ops.iter().find(|o| o["name"] == "export").unwrap();
    assert_eq!(
        export["definition"],
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"
    );
    let outputs = manifest["output"].as_array().unwrap();
    assert!(
        outputs.iter().filter(|o| o["type"] == "Patient").count() > 1,
        "expected several Patient files: {manifest}"
    );
    let got = download(&app, &manifest, None);
    assert_eq!(ids(got.get("Patient")).len(), 8);
    assert_eq!(ids(got.get("Condition")).len(), 8);
    assert_eq!(ids(got.get("Observation")), vec!["o0"]);
    assert_eq!(ids(got.get("Practitioner")), vec!["doc"]);
    assert!(!got.contains_key("Organization"));
    // the status stays readable after completion; an unknown job is 404
    assert_eq!(
        authed(&app, reqwest::Method::GET, &status_url, None).status(),
        200
    );
    let (status, outcome) = parts(app.get("$export-status?job=nope").send().unwrap());
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    let (status, _) = parts(
        app.get(&format!(
            "{}&file=..%2F..%2Fsecret",
            status_url.replace("$export-status", "$export-file")
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(status, 404);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(kickoff_poll_manifest_download);

fn type_since_and_type_filter(backend: Backend) {
    let (dir, app) = exporting(backend, "filters", |_| {});
    seed(&app, 6, None);
    std::thread::sleep(Duration::from_millis(1100));
    let since = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    std::thread::sleep(Duration::from_millis(1100));
    put(
        &app,
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Renamed"}]}),
        None,
    );
    put(&app, condition("late", "p2", "E11.9"), None);

    let (manifest, _) = wait(
        &app,
        &kick(&app, &format!("$export?_since={since}"), None),
        None,
    );
    let got = download(&app, &manifest, None);
    assert_eq!(ids(got.get("Patient")), vec!["p1"]);
    assert_eq!(ids(got.get("Condition")), vec!["late"]);
    assert_eq!(got.len(), 2, "{got:?}");

    let (manifest, _) = wait(
        &app,
        &kick(
            &app,
            "$export?_type=Condition&_typeFilter=Condition%3Fcode%3DE11.9",
            None,
        ),
        None,
    );
    assert_eq!(
        ids(download(&app, &manifest, None).get("Condition")),
        vec!["c0", "c2", "c4", "late"]
    );
    // two filters for one type are OR-ed; a type without a filter is exported whole
    let filters = "Condition%3Fcode%3DI10%26subject%3DPatient%2Fp1,Condition%3F_id%3Dc0";
    let (manifest, _) = wait(
        &app,
        &kick(
            &app,
            &format!("$export?_type=Condition,Practitioner&_typeFilter={filters}"),
            None,
        ),
        None,
    );
    let got = download(&app, &manifest, None);
    assert_eq!(ids(got.get("Condition")), vec!["c0", "c1"]);
    assert_eq!(ids(got.get("Practitioner")), vec!["doc"]);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(type_since_and_type_filter);

fn patient_and_group_level(backend: Backend) {
    let (dir, app) = exporting(backend, "levels", |_| {});
    seed(&app, 4, None);
    let group = json!({"resourceType": "Group", "id": "g", "type": "person", "actual": true,
        "member": [{"entity": {"reference": "Patient/p0"}}, {"entity": {"reference": "Patient/p2"}},
                   {"entity": {"reference": "Patient/p3"}, "inactive": true}]});
    put(&app, group, None);

    let (manifest, _) = wait(&app, &kick(&app, "Patient/$export", None), None);
    let got = download(&app, &manifest, None);
    assert_eq!(ids(got.get("Patient")), vec!["p0", "p1", "p2", "p3"]);
    assert_eq!(ids(got.get("Condition")).len(), 4);
    assert_eq!(ids(got.get("Observation")), vec!["o0"]);
    // Group.member is a Patient compartment parameter; Practitioner and Organization are not in it
    assert_eq!(ids(got.get("Group")), vec!["g"]);
    assert!(!got.contains_key("Practitioner") && !got.contains_key("Organization"));

    let (manifest, _) = wait(
        &app,
        &kick(&app, "Group/g/$export?_type=Patient,Condition", None),
        None,
    );
    let got = download(&app, &manifest, None);
    assert_eq!(ids(got.get("Patient")), vec!["p0", "p2"]);
    assert_eq!(ids(got.get("Condition")), vec!["c0", "c2"]);
    assert!(manifest["request"]
        .as_str()
        .unwrap()
        .ends_with("/Group/g/$export?_type=Patient,Condition"));

    let (status, outcome) = parts(
        app.get("Group/missing/$export")
            .header("Prefer", "respond-async")
            .send()
            .unwrap(),
    );
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(patient_and_group_level);

fn cancel_deletes_the_job(backend: Backend) {
    let (dir, app) = exporting(backend, "cancel", |c| c.export_throttle_ms = 400);
    seed(&app, 10, None);
    let status_url = kick(&app, "$export?_type=Patient,Condition", None);
    let job = status_url.rsplit("job=").next().unwrap().to_string();
    // wait for a first finished file so there is something to delete
    let started = Instant::now();
    while !dir.join(&job).exists() || std::fs::read_dir(dir.join(&job)).unwrap().count() == 0 {
        assert!(started.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        authed(&app, reqwest::Method::DELETE, &status_url, None).status(),
        202
    );
    let (status, outcome) = parts(authed(&app, reqwest::Method::GET, &status_url, None));
    assert_eq!(
        (status, outcome["resourceType"].as_str()),
        (404, Some("OperationOutcome"))
    );
    // the worker notices within a file and leaves nothing behind
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        !dir.join(&job).exists(),
        "files of the cancelled job remain"
    );
    assert_eq!(
        authed(&app, reqwest::Method::DELETE, &status_url, None).status(),
        404
    );
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(cancel_deletes_the_job);

fn bad_requests_are_refused(backend: Backend) {
    let (dir, app) = exporting(backend, "bad", |_| {});
    let (status, outcome) = parts(app.get("$export").send().unwrap());
    assert_eq!(status, 400);
    assert!(outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .contains("respond-async"));
    for query in [
        "$export?_type=Nonsense",
        "$export?_since=yesterday",
        "$export?_since=2026-13-45T00:00:00Z",
        "$export?_outputFormat=text/csv",
        "$export?_typeFilter=Condition%3Fnot-a-param%3D1",
        "$export?_type=Patient&_typeFilter=Condition%3Fcode%3DE11",
        "$export?includeAssociatedData=_custom",
        "$export?_elements=name.family",
        "$export?_elements=Nonsense.name",
        "Patient/$export?patient=Patient/p1",
        "Patient/$export?_type=Practitioner",
    ] {
        let (status, outcome) = parts(
            app.get(query)
                .header("Prefer", "respond-async")
                .send()
                .unwrap(),
        );
        assert_eq!(status, 400, "{query}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{query}");
    }
    // lenient handling ignores what is not supported
    let response = app
        .get("$export?_type=Patient&includeAssociatedData=_custom&_outputFormat=ndjson")
        .header("Prefer", "respond-async, handling=lenient")
        .send()
        .unwrap();
    assert_eq!(response.status(), 202);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(bad_requests_are_refused);

fn token(sub: &str, scope: &str, patient: Option<&str>, clearances: &[&str]) -> String {
    crate::security::token_for(sub, scope, patient, clearances)
}

fn base64_decode(text: &str) -> String {
    use base64::Engine;
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(text)
            .unwrap(),
    )
    .unwrap()
}

fn patient_token_exports_only_its_compartment(backend: Backend) {
    let (dir, app) = exporting(backend, "leak", |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(crate::security::SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    });
    let admin = token("admin", "user/*.cruds", None, &["*"]);
    seed(&app, 3, Some(&admin));
    put(
        &app,
        json!({"resourceType": "Condition", "id": "sealed", "subject": {"reference": "Patient/p0"}, "code": {"text": "abuse"},
        "meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SDV"}]}}),
        Some(&admin),
    );

    let mine = token("patient-p0", "patient/*.rs", Some("p0"), &[]);
    for kickoff in ["Patient/$export", "$export"] {
        let (manifest, _) = wait(&app, &kick(&app, kickoff, Some(&mine)), Some(&mine));
        let got = download(&app, &manifest, Some(&mine));
        assert_eq!(ids(got.get("Patient")), vec!["p0"], "{kickoff}");
        assert_eq!(
            ids(got.get("Condition")),
            vec!["c0"],
            "{kickoff}: the sealed record or another patient's leaked"
        );
        assert_eq!(ids(got.get("Observation")), vec!["o0"], "{kickoff}");
        for (res_type, resources) in &got {
            for r in resources {
                let text = r.to_string();
                assert!(
                    !text.contains("Patient/p1") && !text.contains("Patient/p2"),
                    "{res_type}: {text}"
                );
            }
        }
        // another token subject cannot read the status or the files
        let other = token("someone-else", "patient/*.rs", Some("p1"), &[]);
        let file_url = manifest["output"][0]["url"].as_str().unwrap().to_string();
        assert_eq!(
            authed(&app, reqwest::Method::GET, &file_url, Some(&other)).status(),
            404
        );
        assert_eq!(
            authed(&app, reqwest::Method::GET, &file_url, None).status(),
            401
        );
    }
    // the admin with clearance gets the sealed record too
    let (manifest, _) = wait(
        &app,
        &kick(&app, "$export?_type=Condition", Some(&admin)),
        Some(&admin),
    );
    assert_eq!(
        ids(download(&app, &manifest, Some(&admin)).get("Condition")),
        vec!["c0", "c1", "c2", "sealed"]
    );
    // a token without any read scope on Patient cannot start an export
    let writer = token("writer", "user/*.cud", None, &[]);
    let response = app
        .get("$export")
        .header("Prefer", "respond-async")
        .bearer_auth(&writer)
        .send()
        .unwrap();
    assert_eq!(response.status(), 403);

    // each finished export is in the audit trail with its request
    let (status, events) = parts(
        app.get("AuditEvent?_count=1000")
            .bearer_auth(&admin)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{events}");
    let exports: Vec<&Value> = events["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .filter(|e| {
            e["agent"][0]["who"]["identifier"]["value"] == "patient-p0"
                && e["entity"].as_array().into_iter().flatten().any(|x| {
                    x["query"]
                        .as_str()
                        .is_some_and(|q| base64_decode(q).ends_with("/Patient/$export"))
                })
        })
        .collect();
    assert!(!exports.is_empty(), "no audit record of the export");
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(patient_token_exports_only_its_compartment);

/// A `chartroom serve` process on the database of `app`.
fn server_process(app: &TestApp, dir: &Path) -> Child {
    server_process_with(app, dir, &[])
}

/// `server_process` with more `CHARTROOM_*` variables.
fn server_process_with(app: &TestApp, dir: &Path, env: &[(&str, &str)]) -> Child {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .arg("serve")
        .env("CHARTROOM_DATABASE_URL", &app.database_url)
        .env("CHARTROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env("CHARTROOM_AUTH", "off")
        .env("CHARTROOM_LOG", "warn")
        .env("CHARTROOM_EXPORT_DIR", dir)
        .env("CHARTROOM_EXPORT_FILE_BYTES", "600")
        .env("CHARTROOM_EXPORT_THROTTLE_MS", "250")
        .env("CHARTROOM_EXPORT_LEASE_SECONDS", "2")
        .env("CHARTROOM_SQLITE_SYNCHRONOUS", "NORMAL")
        .envs(env.iter().copied())
        .spawn()
        .unwrap()
}

fn exported_so_far(app: &TestApp, status_url: &str) -> i64 {
    let response = authed(app, reqwest::Method::GET, status_url, None);
    assert_eq!(response.status(), 202, "finished before the restart");
    let progress = response.headers()["X-Progress"]
        .to_str()
        .unwrap()
        .to_string();
    progress
        .split(", ")
        .nth(1)
        .and_then(|s| s.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("X-Progress: {progress}"))
}

fn job_survives_a_restart(backend: Backend) {
    // this in-process server only serves HTTP; the worker runs in separate server processes
    let (dir, app) = exporting(backend, "restart", |c| c.export_workers = 0);
    seed(&app, 30, None);
    let status_url = kick(&app, "$export?_type=Patient,Condition", None);
    let mut first = server_process(&app, &dir);
    let started = Instant::now();
    while exported_so_far(&app, &status_url) < 6 {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the first server exported nothing"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let before = exported_so_far(&app, &status_url);
    assert!(before < 60, "the job finished before the kill");
    let mut second = server_process(&app, &dir);
    let (manifest, _) = wait(&app, &status_url, None);
    second.kill().unwrap();
    second.wait().unwrap();
    let got = download(&app, &manifest, None);
    let expected: Vec<String> = {
        let mut v: Vec<String> = (0..30).map(|i| format!("p{i}")).collect();
        v.sort();
        v
    };
    // every resource exactly once: nothing lost, nothing written twice by the resumed job
    assert_eq!(ids(got.get("Patient")), expected);
    assert_eq!(got["Patient"].len(), 30);
    assert_eq!(got["Condition"].len(), 30);
    assert_eq!(ids(got.get("Condition")).len(), 30);
    let parts_listed: Vec<&str> = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["url"].as_str().unwrap())
        .collect();
    let mut unique = parts_listed.clone();
    unique.dedup();
    assert_eq!(unique.len(), parts_listed.len());
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(job_survives_a_restart);

fn count(app: &TestApp, res_type: &str) -> i64 {
    let (status, bundle) = parts(
        app.get(&format!("{res_type}?_summary=count"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{bundle}");
    bundle["total"].as_i64().unwrap()
}

/// Runs `chartroom ARGS DIR` on `database_url`; asserts success when `must_succeed`.
fn chartroom(args: &[&str], dir: &Path, database_url: &str, must_succeed: bool) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(args)
        .arg(dir)
        .env("CHARTROOM_DATABASE_URL", database_url)
        .env("CHARTROOM_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert_eq!(
        output.status.success(),
        must_succeed,
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

fn import_into_fresh_store(backend: Backend, files: &Path) -> TestApp {
    let fresh = spawn_with(backend, |_| {});
    chartroom(&["import"], files, &fresh.database_url, true);
    fresh
}

const TYPES: [&str; 5] = [
    "Patient",
    "Condition",
    "Observation",
    "Practitioner",
    "Organization",
];

fn output_reimports_to_identical_counts(backend: Backend) {
    let (dir, app) = exporting(backend, "reimport", |_| {});
    seed(&app, 12, None);
    // through HTTP: download every file into a directory, then import it elsewhere
    let (manifest, _) = wait(&app, &kick(&app, "$export", None), None);
    let downloaded = scratch("downloaded");
    for (n, output) in manifest["output"].as_array().unwrap().iter().enumerate() {
        let text = authed(
            &app,
            reqwest::Method::GET,
            output["url"].as_str().unwrap(),
            None,
        )
        .text()
        .unwrap();
        std::fs::write(downloaded.join(format!("{n:03}.ndjson")), text).unwrap();
    }
    let fresh = import_into_fresh_store(backend, &downloaded);
    for t in TYPES {
        assert_eq!(
            count(&fresh, t),
            count(&app, t),
            "{t} after re-import of the HTTP export"
        );
    }
    // the command line writes the same files and a manifest
    let out = scratch("cli");
    let stdout = chartroom(
        &[
            "export",
            "--type",
            "Patient,Condition",
            "--file-bytes",
            "500",
            "--out",
        ],
        &out,
        &app.database_url,
        true,
    );
    assert!(stdout.contains("exported 24 resources"), "{stdout}");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let listed: i64 = manifest["output"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["count"].as_i64().unwrap())
        .sum();
    assert_eq!(listed, 24);
    assert!(manifest["output"].as_array().unwrap().len() > 2);
    let fresh = import_into_fresh_store(backend, &out);
    assert_eq!(count(&fresh, "Patient"), 12);
    assert_eq!(count(&fresh, "Condition"), 12);
    assert_eq!(count(&fresh, "Observation"), 0);
    chartroom(
        &["export", "--since", "yesterday", "--out"],
        &out,
        &app.database_url,
        false,
    );
    for d in [dir, downloaded, out] {
        let _ = std::fs::remove_dir_all(d);
    }
}
crate::on_both_backends!(output_reimports_to_identical_counts);

/// `Parameters` with one `value[x]` per entry: `(name, "valueString", value)`.
fn parameters(list: &[(&str, &str, Value)]) -> Value {
    let parameter: Vec<Value> = list
        .iter()
        .map(|(name, key, value)| json!({"name": name, *key: value}))
        .collect();
    json!({"resourceType": "Parameters", "parameter": parameter})
}

fn post_kick(
    app: &TestApp,
    path: &str,
    body: &Value,
    token: Option<&str>,
    prefer: &str,
) -> reqwest::blocking::Response {
    let mut request = app.post(path, body).header("Prefer", prefer);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    request.send().unwrap()
}

/// POST kick-off: asserts 202 and returns the status URL.
fn kick_post(app: &TestApp, path: &str, body: &Value, token: Option<&str>) -> String {
    let response = post_kick(app, path, body, token, "respond-async");
    accepted(response, &format!("POST {path}"))
}

fn refused(response: reqwest::blocking::Response) -> String {
    let (status, outcome) = parts(response);
    assert_eq!(status, 400, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    outcome["issue"][0]["diagnostics"]
        .as_str()
        .unwrap()
        .to_string()
}

/// A POST kick-off that must answer 400; returns the diagnostics.
fn refused_post(app: &TestApp, path: &str, body: &Value, token: Option<&str>) -> String {
    refused(post_kick(app, path, body, token, "respond-async"))
}

fn reference(id: &str) -> Value {
    json!({"reference": format!("Patient/{id}")})
}

fn post_kickoff_and_patient_parameter(backend: Backend) {
    let (dir, app) = exporting(backend, "post", |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(crate::security::SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    });
    let admin = token("admin", "user/*.cruds", None, &["*"]);
    let t = Some(admin.as_str());
    seed(&app, 4, t);
    put(
        &app,
        json!({"resourceType": "Group", "id": "g", "type": "person", "actual": true,
            "member": [{"entity": {"reference": "Patient/p0"}}, {"entity": {"reference": "Patient/p2"}}]}),
        t,
    );

    // system level by POST: the same parameters as GET, typed as the IG says
    let body = parameters(&[
        ("_type", "valueString", json!("Patient,Practitioner")),
        ("_since", "valueInstant", json!("2000-01-01T00:00:00Z")),
        (
            "_outputFormat",
            "valueString",
            json!("application/fhir+ndjson"),
        ),
    ]);
    let (manifest, _) = wait(&app, &kick_post(&app, "$export", &body, t), t);
    assert_eq!(manifest["request"], format!("{}/$export", app.base));
    let got = download(&app, &manifest, t);
    assert_eq!(ids(got.get("Patient")).len(), 4);
    assert_eq!(ids(got.get("Practitioner")), vec!["doc"]);
    assert_eq!(got.len(), 2);

    // `patient` limits a Patient-level export to those patients' compartments
    let body = parameters(&[
        (
            "_type",
            "valueString",
            json!("Patient,Condition,Observation"),
        ),
        ("patient", "valueReference", reference("p1")),
        ("patient", "valueReference", reference("p2")),
    ]);
    let (manifest, _) = wait(&app, &kick_post(&app, "Patient/$export", &body, t), t);
    let got = download(&app, &manifest, t);
    assert_eq!(ids(got.get("Patient")), vec!["p1", "p2"]);
    assert_eq!(ids(got.get("Condition")), vec!["c1", "c2"]);
    assert!(!got.contains_key("Observation"), "p0's Observation leaked");

    // ... and a Group-level one to those of its members
    let body = parameters(&[("patient", "valueReference", reference("p2"))]);
    let (manifest, _) = wait(&app, &kick_post(&app, "Group/g/$export", &body, t), t);
    let got = download(&app, &manifest, t);
    assert_eq!(ids(got.get("Patient")), vec!["p2"]);
    assert_eq!(ids(got.get("Condition")), vec!["c2"]);

    // patients not in the Group, unknown patients, bad bodies: 400
    let not_member = parameters(&[("patient", "valueReference", reference("p1"))]);
    let text = refused_post(&app, "Group/g/$export", &not_member, t);
    assert!(text.contains("not an active member"), "{text}");
    let unknown = parameters(&[("patient", "valueReference", reference("nobody"))]);
    let text = refused_post(&app, "Patient/$export", &unknown, t);
    assert!(text.contains("Patient/nobody"), "{text}");
    for bad in [
        json!({"resourceType": "Bundle", "type": "collection"}),
        parameters(&[("patient", "valueString", json!("Patient/p1"))]),
        parameters(&[("_since", "valueString", json!("yesterday"))]),
        parameters(&[("_type", "valueString", json!("Nonsense"))]),
    ] {
        refused_post(&app, "Patient/$export", &bad, t);
    }
    // `patient` does not apply at system level: refused, or ignored and reported when lenient
    let system = parameters(&[("patient", "valueReference", reference("p1"))]);
    refused_post(&app, "$export", &system, t);
    let (status, outcome) = parts(post_kick(
        &app,
        "$export",
        &system,
        t,
        "respond-async, handling=lenient",
    ));
    assert_eq!(status, 202, "{outcome}");
    assert!(outcome.to_string().contains("ignored"), "{outcome}");

    // a patient the token cannot see is answered like one that does not exist
    let mine = token("patient-p0", "patient/*.rs", Some("p0"), &[]);
    let other = parameters(&[("patient", "valueReference", reference("p1"))]);
    let hidden = refused_post(&app, "Patient/$export", &other, Some(&mine));
    let missing = refused_post(
        &app,
        "Patient/$export",
        &parameters(&[("patient", "valueReference", reference("p9"))]),
        Some(&mine),
    );
    assert_eq!(hidden.replace("p1", "p9"), missing);
    // its own patient is fine, and nothing of others comes out
    let own = parameters(&[("patient", "valueReference", reference("p0"))]);
    let status_url = kick_post(&app, "Patient/$export", &own, Some(&mine));
    let (manifest, _) = wait(&app, &status_url, Some(&mine));
    let got = download(&app, &manifest, Some(&mine));
    assert_eq!(ids(got.get("Patient")), vec!["p0"]);
    assert_eq!(ids(got.get("Condition")), vec!["c0"]);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(post_kickoff_and_patient_parameter);

const SUBSETTED: &str = "http://terminology.hl7.org/CodeSystem/v3-ObservationValue";

fn keys(resource: &Value) -> Vec<String> {
    let mut keys: Vec<String> = resource.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    keys
}

fn subsetted(resource: &Value) -> bool {
    resource["meta"]["tag"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|t| t["system"] == SUBSETTED && t["code"] == "SUBSETTED")
}

fn elements_subset_the_output(backend: Backend) {
    let (dir, app) = exporting(backend, "elements", |_| {});
    seed(&app, 2, None);
    let types = "_type=Patient,Condition,Observation";
    let (manifest, _) = wait(
        &app,
        &kick(
            &app,
            &format!("$export?{types}&_elements=Patient.name,Observation.code"),
            None,
        ),
        None,
    );
    let got = download(&app, &manifest, None);
    for patient in &got["Patient"] {
        assert_eq!(keys(patient), vec!["id", "meta", "name", "resourceType"]);
        assert!(subsetted(patient), "{patient}");
        assert!(patient["meta"]["lastUpdated"].is_string());
    }
    // Observation keeps its mandatory status; subject is dropped
    let observation = &got["Observation"][0];
    assert_eq!(
        keys(observation),
        vec!["code", "id", "meta", "resourceType", "status"]
    );
    assert!(subsetted(observation));
    // no element listed for Condition: exported whole, not tagged
    for condition in &got["Condition"] {
        assert!(condition["code"].is_object() && condition["subject"].is_object());
        assert!(!subsetted(condition), "{condition}");
    }

    // an element without a type applies to every type; POST takes the same
    let body = parameters(&[
        ("_type", "valueString", json!("Condition,Observation")),
        ("_elements", "valueString", json!("code")),
    ]);
    let (manifest, _) = wait(&app, &kick_post(&app, "$export", &body, None), None);
    let got = download(&app, &manifest, None);
    for condition in &got["Condition"] {
        // Condition.subject is mandatory
        assert_eq!(
            keys(condition),
            vec!["code", "id", "meta", "resourceType", "subject"]
        );
        assert!(subsetted(condition));
    }
    assert!(got["Observation"][0].get("subject").is_none());
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(elements_subset_the_output);

fn provenance(id: &str, target: &str, recorded: &str) -> Value {
    json!({"resourceType": "Provenance", "id": id, "target": [{"reference": target}],
           "recorded": recorded, "agent": [{"who": {"reference": "Practitioner/doc"}}]})
}

fn include_associated_provenance(backend: Backend) {
    let (dir, app) = exporting(backend, "associated", |_| {});
    seed(&app, 3, None);
    put(
        &app,
        provenance("pv-old", "Condition/c0", "2026-01-01T00:00:00Z"),
        None,
    );
    put(
        &app,
        provenance("pv-new", "Condition/c0", "2026-02-01T00:00:00Z"),
        None,
    );
    put(
        &app,
        provenance(
            "pv-c1",
            &format!("{}/Condition/c1/_history/1", app.base),
            "2026-01-15T00:00:00Z",
        ),
        None,
    );
    put(
        &app,
        provenance("pv-doc", "Practitioner/doc", "2026-03-01T00:00:00Z"),
        None,
    );

    let export = |query: &str| {
        let (manifest, _) = wait(&app, &kick(&app, query, None), None);
        download(&app, &manifest, None)
    };
    let got = export("$export?_type=Condition&includeAssociatedData=LatestProvenanceResources");
    assert_eq!(ids(got.get("Condition")), vec!["c0", "c1", "c2"]);
    assert_eq!(ids(got.get("Provenance")), vec!["pv-c1", "pv-new"]);
    let got = export("$export?_type=Condition&includeAssociatedData=RelevantProvenanceResources");
    assert_eq!(
        ids(got.get("Provenance")),
        vec!["pv-c1", "pv-new", "pv-old"]
    );
    // only the Provenance of what is exported
    let got = export(
        "$export?_type=Condition&_typeFilter=Condition%3F_id%3Dc1&includeAssociatedData=RelevantProvenanceResources",
    );
    assert_eq!(ids(got.get("Provenance")), vec!["pv-c1"]);
    let body = parameters(&[
        ("_type", "valueString", json!("Practitioner")),
        (
            "includeAssociatedData",
            "valueCode",
            json!("LatestProvenanceResources"),
        ),
    ]);
    let (manifest, _) = wait(&app, &kick_post(&app, "$export", &body, None), None);
    assert_eq!(
        ids(download(&app, &manifest, None).get("Provenance")),
        vec!["pv-doc"]
    );

    // a value we do not support: 400 when strict, ignored and reported when lenient
    let custom = "$export?_type=Condition&includeAssociatedData=_custom";
    let text = refused(
        app.get(custom)
            .header("Prefer", "respond-async")
            .send()
            .unwrap(),
    );
    assert!(text.contains("_custom"), "{text}");
    let response = app
        .get(custom)
        .header("Prefer", "respond-async, handling=lenient")
        .send()
        .unwrap();
    let location = response.headers()["Content-Location"]
        .to_str()
        .unwrap()
        .to_string();
    let (status, outcome) = parts(response);
    assert_eq!(status, 202);
    let warning = outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["severity"] == "warning")
        .unwrap_or_else(|| panic!("no warning: {outcome}"));
    assert!(warning["diagnostics"]
        .as_str()
        .unwrap()
        .contains("includeAssociatedData=_custom"));
    let (manifest, _) = wait(&app, &location, None);
    let got = download(&app, &manifest, None);
    assert!(!got.contains_key("Provenance"));
    assert_eq!(ids(got.get("Condition")).len(), 3);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(include_associated_provenance);

/// Jobs per state, read from the store directly.
fn job_counts(app: &TestApp) -> Vec<(String, i64)> {
    let store = chartroom::open_store(Config {
        database_url: app.database_url.clone(),
        pool_size: 1,
        ..Config::default()
    })
    .unwrap();
    chartroom::store::export::job_counts(&store).unwrap()
}

fn expired_jobs_are_deleted(backend: Backend) {
    let (dir, app) = exporting(backend, "expiry", |c| c.export_retention_seconds = 3);
    seed(&app, 3, None);
    let status_url = kick(&app, "$export?_type=Patient,Condition", None);
    let job = status_url.rsplit("job=").next().unwrap().to_string();
    let (manifest, _) = wait(&app, &status_url, None);
    let response = authed(&app, reqwest::Method::GET, &status_url, None);
    assert_eq!(response.status(), 200);
    let expires = response.headers()["Expires"].to_str().unwrap().to_string();
    let expires = chrono::DateTime::parse_from_rfc2822(&expires)
        .unwrap_or_else(|e| panic!("Expires '{expires}': {e}"))
        .with_timezone(&chrono::Utc);
    let now = chrono::Utc::now();
    assert!(
        expires > now - chrono::Duration::seconds(1)
            && expires < now + chrono::Duration::seconds(5),
        "Expires {expires} vs now {now}"
    );
    let file_url = manifest["output"][0]["url"].as_str().unwrap().to_string();
    assert_eq!(
        authed(&app, reqwest::Method::GET, &file_url, None).status(),
        200
    );
    // a cancelled job goes the same way
    let cancelled = kick(&app, "$export?_type=Patient", None);
    assert_eq!(
        authed(&app, reqwest::Method::DELETE, &cancelled, None).status(),
        202
    );
    assert!(dir.join(&job).exists());
    assert!(!job_counts(&app).is_empty());

    // Expires has whole seconds: the job expires within the second after it
    let pause = (expires - chrono::Utc::now()).num_milliseconds().max(0) as u64 + 1300;
    std::thread::sleep(Duration::from_millis(pause));
    for url in [&status_url, &file_url] {
        let (status, outcome) = parts(authed(&app, reqwest::Method::GET, url, None));
        assert_eq!(
            (status, outcome["resourceType"].as_str()),
            (404, Some("OperationOutcome")),
            "{url}"
        );
    }
    // the worker deletes the files and the rows
    let started = Instant::now();
    while dir.join(&job).exists() || !job_counts(&app).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "expired jobs remain: {:?}, files there: {}",
            job_counts(&app),
            dir.join(&job).exists()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(expired_jobs_are_deleted);

fn expired_jobs_are_deleted_at_start(backend: Backend) {
    // the in-process server keeps jobs a day; a server started with a short retention and no
    // worker threads deletes them while it starts
    let (dir, app) = exporting(backend, "expiry-start", |_| {});
    seed(&app, 2, None);
    let status_url = kick(&app, "$export?_type=Patient", None);
    let job = status_url.rsplit("job=").next().unwrap().to_string();
    wait(&app, &status_url, None);
    std::thread::sleep(Duration::from_millis(1100));
    assert_eq!(
        authed(&app, reqwest::Method::GET, &status_url, None).status(),
        200
    );
    let mut server = server_process_with(
        &app,
        &dir,
        &[
            ("CHARTROOM_EXPORT_RETENTION_SECONDS", "1"),
            ("CHARTROOM_EXPORT_WORKERS", "0"),
        ],
    );
    let started = Instant::now();
    while dir.join(&job).exists() || !job_counts(&app).is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the starting server left the expired job"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    server.kill().unwrap();
    server.wait().unwrap();
    let (status, _) = parts(authed(&app, reqwest::Method::GET, &status_url, None));
    assert_eq!(status, 404);
    let _ = std::fs::remove_dir_all(dir);
}
crate::on_both_backends!(expired_jobs_are_deleted_at_start);
