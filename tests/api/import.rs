//! `chartroom import`: Bundles and NDJSON through the binary, resume after a kill, failures.

use crate::both;
use crate::helpers::*;
use serde_json::json;
use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn scratch(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("import-{name}-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn import(app: &TestApp, path: &std::path::Path, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_chartroom"));
    cmd.arg("import")
        .arg(path)
        .args(extra)
        .env("CHARTROOM_DATABASE_URL", &app.database_url)
        // a bulk load: the deficiency rules wait for `chartroom sweep`
        .env("CHARTROOM_DEFICIENCY_RULES", "off")
        .env("CHARTROOM_LOG", "warn");
    cmd
}

/// Writes a synthetic population's provider Bundle to `providers` and each patient's Bundle
/// to `{patient_prefix}{i}.json`; returns the patient Bundles' entries.
fn write_population(
    dir: &std::path::Path,
    cfg: &chartroom::synth::SynthConfig,
    providers: &str,
    patient_prefix: &str,
) -> Vec<serde_json::Value> {
    std::fs::write(
        dir.join(providers),
        chartroom::synth::provider_bundle(cfg).to_string(),
    )
    .unwrap();
    let mut entries = Vec::new();
    for (i, p) in chartroom::synth::patients(cfg).enumerate() {
        std::fs::write(
            dir.join(format!("{patient_prefix}{i}.json")),
            p.bundle.to_string(),
        )
        .unwrap();
        entries.extend(p.bundle["entry"].as_array().unwrap().iter().cloned());
    }
    entries
}

fn total(app: &TestApp, path: &str) -> i64 {
    let (status, page) = parts(app.get(path).send().unwrap());
    assert_eq!(status, 200, "{page}");
    page["total"].as_i64().unwrap()
}

both!(ndjson_import_resumes_after_kill, |app| {
    let dir = scratch("resume");
    let file = dir.join("patients.ndjson");
    let lines = 4000;
    let text: String = (0..lines)
        .map(|i| format!("{}\n", json!({"resourceType": "Patient", "id": format!("imp-{i}"), "name": [{"family": format!("F{i}")}]})))
        .collect();
    std::fs::write(&file, text).unwrap();
    let mut child = import(&app, &file, &["--batch-size", "50"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // kill once some batches are committed (progress lines on stderr)
    let mut stderr = child.stderr.take().unwrap();
    let mut seen = String::new();
    let mut buf = [0u8; 256];
    while seen.matches("resources loaded").count() < 3 {
        let n = stderr.read(&mut buf).unwrap();
        if n == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let partial = total(&app, "Patient/_history?_count=1");
    assert!(partial > 0, "the killed run committed nothing: {seen}");
    let output = import(&app, &file, &[]).output().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    // every line exactly once: as many versions as lines, as many resources as lines
    assert_eq!(total(&app, "Patient/_history?_count=1"), lines);
    assert_eq!(total(&app, "Patient?_summary=count"), lines);
    // a third run skips the finished file
    let output = import(&app, &file, &[]).output().unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("1 skipped"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert_eq!(total(&app, "Patient/_history?_count=1"), lines);
    let _ = std::fs::remove_dir_all(dir);
});

both!(import_reports_failures_and_loads_bundles, |app| {
    let dir = scratch("mixed");
    let cfg = chartroom::synth::SynthConfig::new(2, 7);
    let resources = write_population(&dir, &cfg, "0-providers.json", "1-patient").len() as i64;
    let bad = "{\"resourceType\": \"Observation\", \"id\": \"o1\", \"status\": \"final\", \"code\": {\"text\": \"x\"}}\n\
               {\"resourceType\": \"Patient\", \"id\": \"bad\", \"gender\": \"sometimes\"}\n\
               not json\n\
               {\"resourceType\": \"Observation\", \"id\": \"o2\", \"status\": \"final\", \"code\": {\"text\": \"y\"}}\n";
    std::fs::write(dir.join("2-extra.ndjson"), bad).unwrap();
    let output = import(&app, &dir, &[]).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(!output.status.success(), "{stdout}");
    assert!(stdout.contains("2 failed"), "{stdout}");
    assert!(
        stdout.contains("2-extra.ndjson:2") && stdout.contains("2-extra.ndjson:3"),
        "{stdout}"
    );
    assert!(stdout.contains("resources/s"), "{stdout}");
    // the progress bar on stderr ends full, failed lines counted as read
    let stderr = String::from_utf8_lossy(&output.stderr).to_string();
    let last = stderr
        .rsplit('\r')
        .find(|l| l.contains('%'))
        .unwrap_or_default();
    assert!(last.contains("[####################] 100 %"), "{stderr}");
    assert_eq!(total(&app, "Observation?_id=o1,o2&_summary=count"), 2);
    let (status, _) = parts(app.get("Patient/bad").send().unwrap());
    assert_eq!(status, 404);
    assert!(total(&app, "Encounter?_summary=count") > 0);
    assert!(total(&app, "_history?_count=1") >= resources);
    let _ = std::fs::remove_dir_all(dir);
});

both!(
    patient_bundles_load_side_by_side_after_shared_files,
    |app| {
        // patient files sort before the providers file their conditional references need: in
        // file order they would fail, side by side they wait for the shared file
        let dir = scratch("jobs");
        let cfg = chartroom::synth::SynthConfig::new(6, 11);
        let encounters = write_population(&dir, &cfg, "z-providers.json", "a-patient")
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "Encounter")
            .count() as i64;
        let output = import(&app, &dir, &["--jobs", "4"]).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).to_string();
        assert!(output.status.success(), "{stdout}");
        assert!(stdout.contains("0 failed"), "{stdout}");
        assert_eq!(total(&app, "Patient?_summary=count"), 6);
        assert_eq!(total(&app, "Encounter?_summary=count"), encounters);
        // every Encounter's conditional practitioner reference became a literal one to a
        // stored Practitioner
        let (status, page) = parts(
            app.get("Encounter?_include=Encounter:participant&_count=500")
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{page}");
        let entries = page["entry"].as_array().unwrap();
        let mut referenced = std::collections::BTreeSet::new();
        for e in entries.iter().filter(|e| e["search"]["mode"] == "match") {
            for p in e["resource"]["participant"]
                .as_array()
                .into_iter()
                .flatten()
            {
                let reference = p["individual"]["reference"].as_str().unwrap();
                let id = reference.strip_prefix("Practitioner/").expect(reference);
                assert!(!id.contains('?'), "{reference}");
                referenced.insert(id.to_string());
            }
        }
        let included: std::collections::BTreeSet<String> = entries
            .iter()
            .filter(|e| e["search"]["mode"] == "include")
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect();
        assert!(!referenced.is_empty(), "{page}");
        assert_eq!(referenced, included);
        let _ = std::fs::remove_dir_all(dir);
    }
);
