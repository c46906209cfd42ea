//! Issue 11's workload shapes beyond single requests: small transactions (1 Patient +
//! 1 Observation) over a client sweep, a CRUD mix over nine resource types, and a
//! Patient search at a fixed arrival rate (open loop: latency counts from the scheduled
//! send time, so a slow server cannot hide its queueing).

use super::client::Client;
use super::load::{expect_ok, run_for, Pick, Stats, Step};
use super::workloads::Target;
use serde::Serialize;
use serde_json::{json, Value};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Client counts of the small-transaction sweep.
pub const TRANSACTION_SWEEP: &[usize] = &[1, 16, 128];

fn transaction(n: u64) -> Vec<u8> {
    let patient = format!("urn:uuid:{}", uuid::Uuid::new_v4());
    json!({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": patient, "request": {"method": "POST", "url": "Patient"},
         "resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1980-02-03",
                      "name": [{"family": format!("Tx{n}"), "given": ["Bench"]}]}},
        {"request": {"method": "POST", "url": "Observation"},
         "resource": {"resourceType": "Observation", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                      "subject": {"reference": patient},
                      "effectiveDateTime": "2025-01-01T10:00:00Z",
                      "valueQuantity": {"value": 60 + n % 40, "unit": "/min",
                                        "system": "http://unitsofmeasure.org", "code": "/min"}}}]})
    .to_string()
    .into_bytes()
}

/// `POST /fhir` transactions of 1 Patient + 1 Observation at `connections`; items are
/// resources written.
pub fn small_transactions(t: &Target, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut n = (worker as u64) << 32;
        Box::new(move |client: &mut Client| {
            n += 1;
            let body = transaction(n);
            expect_ok(
                client.send("POST", "/fhir", Some(&body)),
                "POST transaction",
            )
            .map(|_| 2u64)
        }) as Step
    })
}

/// The nine resource types of the CRUD mix, each with a minimal valid body.
fn crud_body(res_type: &str, patient: &str) -> Value {
    let subject = json!({"reference": format!("Patient/{patient}")});
    let code = json!({"coding": [{"system": "http://snomed.info/sct", "code": "38341003"}]});
    match res_type {
        "Patient" => {
            json!({"resourceType": "Patient", "gender": "male", "birthDate": "1970-01-01"})
        }
        "Observation" => {
            json!({"resourceType": "Observation", "status": "final", "code": code, "subject": subject})
        }
        "Condition" => json!({"resourceType": "Condition", "code": code, "subject": subject}),
        "Encounter" => json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"}, "subject": subject}),
        "Procedure" => {
            json!({"resourceType": "Procedure", "status": "completed", "code": code, "subject": subject})
        }
        "MedicationRequest" => {
            json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "860975"}]},
            "subject": subject})
        }
        "AllergyIntolerance" => {
            json!({"resourceType": "AllergyIntolerance", "patient": subject, "code": code})
        }
        "Immunization" => json!({"resourceType": "Immunization", "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": "140"}]},
            "patient": subject, "occurrenceDateTime": "2024-10-01"}),
        _ => {
            json!({"resourceType": "DiagnosticReport", "status": "final", "code": code, "subject": subject})
        }
    }
}

const CRUD_TYPES: [&str; 9] = [
    "Patient",
    "Observation",
    "Condition",
    "Encounter",
    "Procedure",
    "MedicationRequest",
    "AllergyIntolerance",
    "Immunization",
    "DiagnosticReport",
];

/// One call is one request of a create → read → update → delete cycle per connection,
/// rotating over nine resource types.
pub fn crud_mix(t: &Target, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut pick = Pick::new(worker + 5000);
        let mut created = 0usize;
        // (type, id, stored body, next step: 1 read, 2 update, 3 delete)
        let mut current: Option<(&'static str, String, Value, u8)> = None;
        Box::new(move |client: &mut Client| {
            match current.take() {
                None => {
                    let res_type = CRUD_TYPES[(worker + created) % CRUD_TYPES.len()];
                    created += 1;
                    let patient = &t.patients[pick.below(t.patients.len())];
                    let body = crud_body(res_type, patient).to_string();
                    let path = format!("/fhir/{res_type}");
                    let reply = expect_ok(
                        client.send("POST", &path, Some(body.as_bytes())),
                        "CRUD create",
                    )?;
                    let mut stored: Value =
                        serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?;
                    let id = stored["id"].as_str().unwrap_or_default().to_string();
                    if let Some(map) = stored.as_object_mut() {
                        map.remove("meta");
                    }
                    current = Some((res_type, id, stored, 1));
                }
                Some((res_type, id, stored, 1)) => {
                    let path = format!("/fhir/{res_type}/{id}");
                    expect_ok(client.send("GET", &path, None), "CRUD read")?;
                    current = Some((res_type, id, stored, 2));
                }
                Some((res_type, id, mut stored, 2)) => {
                    stored["language"] = json!("en");
                    let path = format!("/fhir/{res_type}/{id}");
                    let body = stored.to_string();
                    expect_ok(
                        client.send("PUT", &path, Some(body.as_bytes())),
                        "CRUD update",
                    )?;
                    current = Some((res_type, id, stored, 3));
                }
                Some((res_type, id, _, _)) => {
                    let path = format!("/fhir/{res_type}/{id}");
                    expect_ok(client.send("DELETE", &path, None), "CRUD delete")?;
                }
            }
            Ok(1u64)
        }) as Step
    })
}

/// Figures of a fixed-rate run.
#[derive(Debug, Clone, Serialize)]
pub struct FixedRate {
    pub target_per_s: f64,
    pub achieved_per_s: f64,
    pub stats: Stats,
}

/// `GET Patient?name=...` at `rate` requests/s spread over `connections` senders, each
/// with its own schedule; latency is measured from the scheduled time.
pub fn fixed_rate_patient_search(t: &Target, rate: f64, connections: usize) -> FixedRate {
    const NAMES: [&str; 8] = ["smi", "joh", "wil", "bro", "jon", "gar", "mil", "dav"];
    let interval = Duration::from_secs_f64(connections as f64 / rate.max(1.0));
    let started = Instant::now();
    let deadline = started + t.duration;
    let latencies: Mutex<Vec<u32>> = Mutex::new(Vec::new());
    let errors = Mutex::new((0u64, None::<String>));
    std::thread::scope(|scope| {
        for worker in 0..connections {
            let (latencies, errors) = (&latencies, &errors);
            scope.spawn(move || {
                let mut client = Client::new(t.addr);
                // stagger the senders across one interval
                let mut due = started + interval.mul_f64(worker as f64 / connections as f64);
                let mut mine = Vec::new();
                let mut n = worker;
                while due < deadline {
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    n += 1;
                    let path = format!("/fhir/Patient?name={}&_count=10", NAMES[n % NAMES.len()]);
                    if let Err(e) = expect_ok(client.send("GET", &path, None), "Patient search") {
                        if let Ok(mut errs) = errors.lock() {
                            errs.0 += 1;
                            errs.1.get_or_insert(e);
                        }
                    }
                    mine.push(due.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    due += interval;
                }
                if let Ok(mut all) = latencies.lock() {
                    all.extend(mine);
                }
            });
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    let mut all = latencies.into_inner().unwrap_or_default();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len().max(1) - 1) as f64 * p).round() as usize)
            .map_or(0.0, |&us| us as f64 / 1000.0)
    };
    let (error_count, first_error) = errors.into_inner().unwrap_or_default();
    let requests = all.len() as u64;
    FixedRate {
        target_per_s: rate,
        achieved_per_s: requests as f64 / seconds,
        stats: Stats {
            connections,
            seconds,
            requests,
            errors: error_count,
            first_error,
            req_per_s: requests as f64 / seconds,
            p50_ms: pct(0.5),
            p99_ms: pct(0.99),
            max_ms: all.last().map_or(0.0, |&us| us as f64 / 1000.0),
            items: requests,
            items_per_s: requests as f64 / seconds,
        },
    }
}
