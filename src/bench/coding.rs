//! Coding workloads (issue 7's figures): validate-on-write overhead on Condition create
//! (the same store served with validation `off` and `warn`, alternated in one run),
//! `$lookup` latency at one connection, `$audit-coding` of an encounter with 15 diagnoses
//! and 6 procedures, and the audit sweep over every loaded encounter.

use super::client::Client;
use super::load::{expect_ok, run_for, Pick, Stats, Step};
use super::workloads::Target;
use crate::config::Config;
use crate::http::background;
use crate::store::Store;
use serde::Serialize;
use serde_json::{json, Value};
use std::time::Duration;

const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";

/// Fifteen billable ICD-10-CM codes (a long inpatient stay).
const DIAGNOSES: [&str; 15] = [
    "I50.9", "E11.9", "I10", "N18.30", "E78.5", "J44.1", "Z79.4", "E66.9", "G63", "E10.9",
    "S72.001A", "W01.0XXA", "F32.A", "K21.9", "Z87.891",
];
/// Six ICD-10-PCS codes with their days.
const PROCEDURES: [(&str, &str); 6] = [
    ("0016070", "2026-01-11"),
    ("02703ZZ", "2026-01-11"),
    ("0DTJ4ZZ", "2026-01-12"),
    ("0SR9019", "2026-01-12"),
    ("5A1955Z", "2026-01-13"),
    ("BW28ZZZ", "2026-01-14"),
];
/// Codes the create workload cycles through.
const CREATE_CODES: [&str; 6] = ["E11.9", "I10", "J44.1", "S72.001A", "N18.30", "E78.5"];

/// Figures of the coding workloads on one store.
#[derive(Debug, Clone, Serialize)]
pub struct CodingFigures {
    /// `POST Condition` with `coding_validation = off`, then `warn` (the default).
    pub create_validation_off: Stats,
    pub create_validation_on: Stats,
    /// off req/s ÷ on req/s (goal ≤ 1.1).
    pub validation_overhead: f64,
    pub lookup: Stats,
    pub audit_encounter: Stats,
    pub sweep_encounters: usize,
    pub sweep_seconds: f64,
    pub sweep_encounters_per_s: f64,
}

fn condition_body(patient: &str, code: &str) -> Vec<u8> {
    json!({"resourceType": "Condition", "subject": {"reference": format!("Patient/{patient}")},
           "recordedDate": "2026-01-15",
           "code": {"coding": [{"system": CM, "code": code}]}})
    .to_string()
    .into_bytes()
}

fn create_conditions(
    addr: std::net::SocketAddr,
    t: &Target,
    connections: usize,
    duration: Duration,
) -> Stats {
    run_for(addr, connections, duration, |worker| {
        let mut pick = Pick::new(worker + 7000);
        Box::new(move |client: &mut Client| {
            let patient = &t.patients[pick.below(t.patients.len())];
            let body = condition_body(patient, CREATE_CODES[pick.below(CREATE_CODES.len())]);
            expect_ok(
                client.send("POST", "/fhir/Condition", Some(&body)),
                "POST Condition",
            )
            .map(|_| 1u64)
        }) as Step
    })
}

/// Sums two halves of an alternated workload into one figure.
fn combine(a: Stats, b: Stats) -> Stats {
    let seconds = a.seconds + b.seconds;
    let requests = a.requests + b.requests;
    Stats {
        connections: a.connections,
        seconds,
        requests,
        errors: a.errors + b.errors,
        first_error: a.first_error.or(b.first_error),
        req_per_s: requests as f64 / seconds.max(1e-9),
        p50_ms: (a.p50_ms + b.p50_ms) / 2.0,
        p99_ms: a.p99_ms.max(b.p99_ms),
        max_ms: a.max_ms.max(b.max_ms),
        items: a.items + b.items,
        items_per_s: (a.items + b.items) as f64 / seconds.max(1e-9),
    }
}

/// Stores an encounter of the first patient with 15 coded diagnoses and 6 procedures.
fn stored_encounter(client: &mut Client, patient: &str) -> Result<String, String> {
    let mut diagnoses = Vec::new();
    for (i, code) in DIAGNOSES.iter().enumerate() {
        let body = condition_body(patient, code);
        let reply = expect_ok(
            client.send("POST", "/fhir/Condition", Some(&body)),
            "POST Condition",
        )?;
        let created: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
        diagnoses.push(json!({"condition": {"reference": format!("Condition/{}", created["id"].as_str().unwrap_or(""))},
            "rank": i + 1,
            "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]}}));
    }
    let encounter = json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": format!("Patient/{patient}")},
        "period": {"start": "2026-01-10", "end": "2026-01-15"}, "diagnosis": diagnoses});
    let reply = expect_ok(
        client.send(
            "POST",
            "/fhir/Encounter",
            Some(encounter.to_string().as_bytes()),
        ),
        "POST Encounter",
    )?;
    let created: Value = serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
    let id = created["id"].as_str().unwrap_or_default().to_string();
    for (code, day) in PROCEDURES {
        let body = json!({"resourceType": "Procedure", "status": "completed",
            "subject": {"reference": format!("Patient/{patient}")},
            "encounter": {"reference": format!("Encounter/{id}")},
            "performedDateTime": day, "code": {"coding": [{"system": PCS, "code": code}]}});
        expect_ok(
            client.send("POST", "/fhir/Procedure", Some(body.to_string().as_bytes())),
            "POST Procedure",
        )?;
    }
    Ok(id)
}

/// Runs the coding workloads against the server at `t.addr` (validation `warn`) and a second
/// server on the same database with validation `off`.
pub fn run(t: &Target, store: &Store, connections: usize) -> Result<CodingFigures, String> {
    let off_config = Config {
        coding_validation: "off".into(),
        ..(*store.config).clone()
    };
    let off_store = Store {
        config: std::sync::Arc::new(off_config),
        ..store.clone()
    };
    let off_server = background::spawn(off_store).map_err(|e| format!("start server: {e}"))?;
    let half = t.duration / 2;
    // Alternate off/on twice so drift in the machine's load hits both sides alike.
    let off_a = create_conditions(off_server.addr, t, connections, half);
    let on_a = create_conditions(t.addr, t, connections, half);
    let off_b = create_conditions(off_server.addr, t, connections, half);
    let on_b = create_conditions(t.addr, t, connections, half);
    drop(off_server);
    let create_validation_off = combine(off_a, off_b);
    let create_validation_on = combine(on_a, on_b);
    let validation_overhead =
        create_validation_off.req_per_s / create_validation_on.req_per_s.max(1e-9);

    let lookup = run_for(t.addr, 1, t.duration, |_| {
        let mut n = 0usize;
        Box::new(move |client: &mut Client| {
            n += 1;
            let path = format!(
                "/fhir/CodeSystem/$lookup?system={CM}&code={}",
                DIAGNOSES[n % DIAGNOSES.len()]
            );
            expect_ok(client.send("GET", &path, None), "$lookup").map(|_| 1u64)
        }) as Step
    });

    let mut client = Client::new(t.addr);
    let id = stored_encounter(&mut client, &t.patients[0])?;
    let path = format!("/fhir/Encounter/{id}/$audit-coding");
    let audit_encounter = run_for(t.addr, 1, t.duration, |_| {
        let path = path.clone();
        Box::new(move |client: &mut Client| {
            expect_ok(client.send("GET", &path, None), "$audit-coding").map(|_| 1u64)
        }) as Step
    });

    let terms = crate::coding::shared::terminology().map_err(|e| e.to_string())?;
    let since = chrono::NaiveDate::from_ymd_opt(1900, 1, 1).unwrap_or_default();
    let report =
        crate::coding::encounter::sweep(store, &terms, since).map_err(|e| e.to_string())?;
    Ok(CodingFigures {
        create_validation_off,
        create_validation_on,
        validation_overhead,
        lookup,
        audit_encounter,
        sweep_encounters: report.encounters,
        sweep_seconds: report.seconds,
        sweep_encounters_per_s: report.encounters as f64 / report.seconds.max(1e-9),
    })
}
