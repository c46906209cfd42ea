//! The workloads: what one call of each is, run through the load driver against a server.

use super::client::Client;
use super::load::{expect_ok, run_for, Pick, Stats, Step};
use serde::Serialize;
use std::net::SocketAddr;
use std::time::Duration;

/// Where and how long to run.
pub struct Target<'a> {
    pub addr: SocketAddr,
    pub duration: Duration,
    /// Ids of the loaded patients.
    pub patients: &'a [String],
}

/// A search of issue 4 (and `$everything`). `{patient}` in the query stands for a patient
/// id picked at random per call.
#[derive(Debug, Clone, Serialize)]
pub struct SearchCase {
    pub name: &'static str,
    pub query: &'static str,
    /// Follow `next` links to the last page; a call is one page.
    pub paging: bool,
    /// Has a page query to explain (not `$everything`).
    pub explain: bool,
}

/// The searches, in the order they run.
pub const SEARCHES: &[SearchCase] = &[
    SearchCase {
        name: "token: Observation by code",
        query: "Observation?code=http://loinc.org%7C4548-4",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "date range",
        query: "Observation?date=ge2023-01-01&date=lt2023-07-01",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "string prefix: Patient name",
        query: "Patient?name=smi",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "chain: Condition by patient birthdate",
        query: "Condition?subject:Patient.birthdate=ge1980-01-01",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "_revinclude: Patient with its Observations",
        query: "Patient?_id={patient}&_revinclude=Observation:subject",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "_sort paged to the last page (call = page)",
        query: "Observation?_sort=-date&_count=100",
        paging: true,
        explain: true,
    },
    SearchCase {
        name: "_summary=count",
        query: "Observation?code=http://loinc.org%7C4548-4&_summary=count",
        paging: false,
        explain: true,
    },
    SearchCase {
        name: "Patient/$everything",
        query: "Patient/{patient}/$everything",
        paging: false,
        explain: false,
    },
];

/// Resources matched in a searchset body (entries with search mode `match`).
fn matches(body: &[u8]) -> u64 {
    let needle = b"\"mode\":\"match\"";
    body.windows(needle.len()).filter(|w| w == needle).count() as u64
}

/// `GET /fhir/{path}`; items are matched resources (or 1 for a read).
fn get(client: &mut Client, path: &str) -> Result<u64, String> {
    let reply = expect_ok(client.send("GET", path, None), path)?;
    Ok(matches(&reply.body).max(1))
}

/// Read by id of random patients at `connections`.
pub fn read(t: &Target, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut pick = Pick::new(worker);
        Box::new(move |client: &mut Client| {
            let path = format!("/fhir/Patient/{}", t.patients[pick.below(t.patients.len())]);
            get(client, &path)
        }) as Step
    })
}

/// The same shape of request against the fixed-bytes server.
pub fn raw_http(addr: SocketAddr, duration: Duration, connections: usize) -> Stats {
    run_for(addr, connections, duration, |_| {
        Box::new(|client: &mut Client| get(client, "/fhir/Patient/raw")) as Step
    })
}

fn observation(patient: &str, value: u64) -> Vec<u8> {
    format!(
        r#"{{"resourceType":"Observation","status":"final","code":{{"coding":[{{"system":"http://loinc.org","code":"8867-4","display":"Heart rate"}}]}},"subject":{{"reference":"Patient/{patient}"}},"effectiveDateTime":"2025-01-01T10:00:00Z","valueQuantity":{{"value":{value},"unit":"/min","system":"http://unitsofmeasure.org","code":"/min"}}}}"#
    )
    .into_bytes()
}

/// `POST Observation` of a small resource.
pub fn create(t: &Target, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut pick = Pick::new(worker + 1000);
        Box::new(move |client: &mut Client| {
            let body = observation(&t.patients[pick.below(t.patients.len())], 60);
            expect_ok(
                client.send("POST", "/fhir/Observation", Some(&body)),
                "POST Observation",
            )
            .map(|_| 1u64)
        }) as Step
    })
}

/// `PUT Observation/{id}`: each connection updates its own few resources in turn (the
/// first call of each creates it), so every call writes a new version.
pub fn update(t: &Target, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut n = 0u64;
        Box::new(move |client: &mut Client| {
            n += 1;
            let path = format!("/fhir/Observation/bench-update-{worker}-{}", n % 8);
            let body = observation(&t.patients[worker % t.patients.len()], n);
            let mut value: serde_json::Value =
                serde_json::from_slice(&body).map_err(|e| e.to_string())?;
            value["id"] = format!("bench-update-{worker}-{}", n % 8).into();
            expect_ok(
                client.send("PUT", &path, Some(value.to_string().as_bytes())),
                &path,
            )
            .map(|_| 1u64)
        }) as Step
    })
}

/// The `next` link of a searchset, as a path on the same server.
fn next_path(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let url = value["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")?["url"]
        .as_str()?
        .to_string();
    let at = url.find("/fhir")?;
    Some(url[at..].to_string())
}

/// Runs `case` at `connections`.
pub fn search(t: &Target, case: &SearchCase, connections: usize) -> Stats {
    run_for(t.addr, connections, t.duration, |worker| {
        let mut pick = Pick::new(worker + 2000);
        let mut next: Option<String> = None;
        Box::new(move |client: &mut Client| {
            let path = match next.take() {
                Some(path) => path,
                None => format!(
                    "/fhir/{}",
                    case.query
                        .replace("{patient}", &t.patients[pick.below(t.patients.len())])
                ),
            };
            let reply = expect_ok(client.send("GET", &path, None), &path)?;
            if case.paging {
                next = next_path(&reply.body);
            }
            Ok(matches(&reply.body))
        }) as Step
    })
}
