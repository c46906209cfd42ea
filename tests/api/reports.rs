//! Reports ($prevalence, $incidence, ... , $completion-report) over a synthetic population
//! built here, whose true counts the test computes from the same construction.

use crate::helpers::{parts, spawn_with, Backend, TestApp};
use chartroom::auth::{mint, Claims};
use serde_json::{json, Value};
use std::collections::BTreeMap;

const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
const RX: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const SECRET: &str = "reporting-test-secret";
const PERIOD: &str = "period-start=2024-01-01&period-end=2024-12-31";

/// One condition of the construction.
#[derive(Clone)]
struct Cond {
    code: &'static str,
    onset: &'static str,
    abated: Option<&'static str>,
    refuted: bool,
    sealed: bool,
}

/// One patient of the construction and everything recorded for them.
struct Person {
    id: String,
    female: bool,
    birth: &'static str,
    band: &'static str,
    state: &'static str,
    seen: bool,
    inpatient: bool,
    stay_days: i64,
    conditions: Vec<Cond>,
    /// (medication, authored, status)
    meds: Vec<(&'static str, &'static str, &'static str)>,
    /// (day, HbA1c value)
    hba1c: Vec<(&'static str, f64)>,
    /// (ICD-10-PCS code, performer)
    procedures: Vec<(&'static str, String)>,
    attending: String,
}

const BANDS: [(&str, &str); 4] = [
    ("2012-03-15", "0-17"),
    ("1990-07-01", "18-44"),
    ("1970-01-20", "45-64"),
    ("1950-11-11", "65-"),
];
const STATES: [&str; 3] = ["MA", "NY", "CA"];
const METFORMIN: &str = "860975";
const INSULIN: &str = "311041";

fn population(n: usize) -> Vec<Person> {
    (0..n)
        .map(|i| {
            let (birth, band) = BANDS[(i / 2) % 4];
            let mut conditions = Vec::new();
            let cond = |code, onset, abated| Cond {
                code,
                onset,
                abated,
                refuted: false,
                sealed: false,
            };
            if i % 3 == 0 {
                let onset = if i % 6 == 0 {
                    "2024-02-01"
                } else {
                    "2023-01-10"
                };
                let abated = (i % 12 == 0).then_some("2024-06-30");
                conditions.push(cond("E11.9", onset, abated));
            }
            if i % 5 == 0 {
                conditions.push(cond("E11.65", "2024-08-01", None));
            }
            if i % 4 == 0 {
                conditions.push(cond("I10", "2020-01-01", None));
            }
            if i % 7 == 0 {
                conditions.push(cond("E10.9", "2020-01-01", Some("2023-06-01")));
            }
            if i % 11 == 0 {
                conditions.push(cond("C34.90", "2024-03-01", None));
            }
            if i % 13 == 0 {
                conditions.push(cond("D05.10", "2024-03-01", None));
            }
            if i == 3 {
                conditions.push(Cond {
                    refuted: true,
                    ..cond("C50.911", "2024-01-05", None)
                });
            }
            if i % 10 == 1 {
                conditions.push(Cond {
                    sealed: true,
                    ..cond("E11.9", "2024-04-01", None)
                });
            }
            let mut meds = Vec::new();
            let mut hba1c = Vec::new();
            if i % 3 == 0 {
                let (med, day) = if i % 2 == 0 {
                    (METFORMIN, "2024-03-01")
                } else {
                    (INSULIN, "2024-04-01")
                };
                meds.push((med, day, "active"));
                let base = 7.0 + (i % 5) as f64 * 0.5;
                hba1c.push(("2023-06-01", base + 1.0));
                hba1c.push(("2024-01-15", base));
                hba1c.push(("2024-09-01", base - 0.25 * ((i % 4) as f64 + 1.0)));
                hba1c.push(("2025-02-01", 5.0));
            }
            if i == 0 {
                meds.push((INSULIN, "2024-05-01", "cancelled"));
            }
            if i == 1 {
                meds.push((METFORMIN, "2024-05-01", "active"));
            }
            let mut procedures = Vec::new();
            if i % 4 == 1 {
                procedures.push(("0DTJ4ZZ", format!("doc{}", i % 2)));
            }
            if i % 6 == 1 {
                procedures.push(("0SR9019", "doc1".to_string()));
            }
            Person {
                id: format!("p{i}"),
                female: i % 2 == 0,
                birth,
                band,
                state: STATES[(i / 8) % 3],
                seen: i % 10 != 9,
                inpatient: i % 3 != 2,
                stay_days: (i % 4) as i64 + 1,
                conditions,
                meds,
                hba1c,
                procedures,
                attending: format!("doc{}", i % 2),
            }
        })
        .collect()
}

fn put(resource: Value) -> Value {
    let url = format!(
        "{}/{}",
        resource["resourceType"].as_str().unwrap(),
        resource["id"].as_str().unwrap()
    );
    json!({"resource": resource, "request": {"method": "PUT", "url": url}})
}

fn sealed_meta() -> Value {
    json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "SDV"}]})
}

fn entries(people: &[Person]) -> Vec<Value> {
    let mut out = vec![
        put(json!({"resourceType": "Practitioner", "id": "doc0", "name": [{"family": "Zero"}]})),
        put(json!({"resourceType": "Practitioner", "id": "doc1", "name": [{"family": "One"}]})),
    ];
    for p in people {
        let subject = json!({"reference": format!("Patient/{}", p.id)});
        out.push(put(json!({"resourceType": "Patient", "id": p.id,
            "gender": if p.female { "female" } else { "male" }, "birthDate": p.birth,
            "address": [{"state": p.state, "postalCode": format!("{}01", p.state.len() * 100 + p.id.len())}]})));
        let mut diagnoses = Vec::new();
        for (k, c) in p.conditions.iter().enumerate() {
            let id = format!("{}-c{k}", p.id);
            let mut cond = json!({"resourceType": "Condition", "id": id, "subject": subject,
                "code": {"coding": [{"system": ICD, "code": c.code}]},
                "onsetDateTime": c.onset,
                "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": if c.refuted { "refuted" } else { "confirmed" }}]}});
            if let Some(a) = c.abated {
                cond["abatementDateTime"] = json!(a);
            }
            if c.sealed {
                cond["meta"] = sealed_meta();
            }
            out.push(put(cond));
            diagnoses.push(
                json!({"condition": {"reference": format!("Condition/{id}")}, "rank": k + 1}),
            );
        }
        let (admit, discharge) = if p.seen {
            (
                "2024-05-10".to_string(),
                format!("2024-05-{:02}", 10 + p.stay_days),
            )
        } else {
            ("2022-02-01".to_string(), "2022-02-02".to_string())
        };
        let mut enc = json!({"resourceType": "Encounter", "id": format!("{}-e", p.id), "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": if p.inpatient { "IMP" } else { "AMB" }},
            "subject": subject, "period": {"start": admit, "end": discharge},
            "participant": [{"individual": {"reference": format!("Practitioner/{}", p.attending)}}]});
        if !diagnoses.is_empty() {
            enc["diagnosis"] = Value::Array(diagnoses);
        }
        out.push(put(enc));
        for (k, (med, day, status)) in p.meds.iter().enumerate() {
            out.push(put(
                json!({"resourceType": "MedicationRequest", "id": format!("{}-m{k}", p.id),
                "status": status, "intent": "order", "subject": subject, "authoredOn": day,
                "medicationCodeableConcept": {"coding": [{"system": RX, "code": med}]}}),
            ));
        }
        for (k, (day, value)) in p.hba1c.iter().enumerate() {
            out.push(put(json!({"resourceType": "Observation", "id": format!("{}-o{k}", p.id),
                "status": "final", "subject": subject, "effectiveDateTime": day,
                "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4"}]},
                "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}})));
        }
        for (k, (code, performer)) in p.procedures.iter().enumerate() {
            out.push(put(
                json!({"resourceType": "Procedure", "id": format!("{}-x{k}", p.id),
                "status": "completed", "subject": subject, "performedDateTime": "2024-05-11",
                "encounter": {"reference": format!("Encounter/{}-e", p.id)},
                "code": {"coding": [{"system": PCS, "code": code}]},
                "performer": [{"actor": {"reference": format!("Practitioner/{performer}")}}]}),
            ));
        }
    }
    out
}

/// Loads the construction: one transaction without authentication, else one PUT per
/// resource (transactions need a token unlimited by Consent rules).
fn seed(app: &TestApp, people: &[Person], token: Option<&str>) {
    let entries = entries(people);
    let Some(t) = token else {
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
        let (status, body) = parts(app.post("", &bundle).send().unwrap());
        assert_eq!(status, 200, "seed: {body}");
        return;
    };
    for entry in entries {
        let url = entry["request"]["url"].as_str().unwrap();
        let (status, body) = parts(
            app.put(url, &entry["resource"])
                .bearer_auth(t)
                .send()
                .unwrap(),
        );
        assert!(status == 200 || status == 201, "seed {url}: {body}");
    }
}

fn token(scope: &str, patient: Option<&str>, clearances: &[&str]) -> String {
    let claims = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: "analyst".into(),
        scope: scope.into(),
        patient: patient.map(str::to_string),
        chartroom_clearances: clearances.iter().map(|c| c.to_string()).collect(),
        ..Claims::default()
    };
    mint(&claims, SECRET).unwrap()
}

fn open_app(backend: Backend) -> TestApp {
    // the operational reports count Tasks the tests create in the contract's shape; the
    // deficiency rules would add their own
    spawn_with(backend, |c| c.deficiency_rules = "off".into())
}

fn secured(backend: Backend) -> TestApp {
    spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    })
}

fn get_json(app: &TestApp, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.get(path);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    parts(request.send().unwrap())
}

/// Content type and text of a 200 answer.
fn fetch(app: &TestApp, path: &str) -> (String, String) {
    let response = app.get(path).send().unwrap();
    assert_eq!(response.status().as_u16(), 200, "{path}");
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_string();
    (content_type, response.text().unwrap())
}

fn report(app: &TestApp, path: &str) -> Value {
    let (status, body) = get_json(app, path, None);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

// ---- the truth, by construction ----

fn in_spec(code: &str, spec: &str) -> bool {
    let key = code.replace('.', "");
    spec.split(',').any(|item| match item.split_once('-') {
        Some((lo, hi)) => {
            key[..lo.len().min(key.len())] >= *lo && key[..hi.len().min(key.len())] <= *hi
        }
        None => key.starts_with(&item.replace('.', "")),
    })
}

fn present(c: &Cond, from: &str, to: &str, cleared: bool) -> bool {
    !c.refuted && (cleared || !c.sealed) && c.onset <= to && c.abated.is_none_or(|a| a >= from)
}

fn has(p: &Person, spec: &str, from: &str, to: &str, cleared: bool) -> bool {
    p.conditions
        .iter()
        .any(|c| in_spec(c.code, spec) && present(c, from, to, cleared))
}

fn sex(p: &Person) -> &'static str {
    if p.female {
        "female"
    } else {
        "male"
    }
}

/// Truth counts per stratum of `keys` (values joined by `|`): (numerator, denominator).
fn truth(
    people: &[Person],
    keys: &[&str],
    num: impl Fn(&Person) -> bool,
    den: impl Fn(&Person) -> bool,
) -> BTreeMap<String, (i64, i64)> {
    let mut out: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for p in people.iter().filter(|p| den(p)) {
        let stratum = keys
            .iter()
            .map(|k| match *k {
                "sex" => sex(p),
                "age-band" => p.band,
                _ => p.state,
            })
            .collect::<Vec<_>>()
            .join("|");
        let cell = out.entry(stratum).or_default();
        cell.1 += 1;
        cell.0 += i64::from(num(p));
    }
    out
}

/// Cells of a plain-JSON stratifier keyed like `truth`.
fn json_strata(group: &Value, keys: &[&str]) -> BTreeMap<String, Value> {
    let stratifier = group["stratifiers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["keys"] == json!(keys))
        .unwrap_or_else(|| panic!("no stratifier {keys:?} in {group}"));
    stratifier["strata"]
        .as_array()
        .unwrap()
        .iter()
        .map(|st| {
            let k = keys
                .iter()
                .map(|k| st["values"][k].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
                .join("|");
            (k, st["cells"].clone())
        })
        .collect()
}

fn group<'a>(body: &'a Value, id: &str) -> &'a Value {
    body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["id"] == id)
        .unwrap_or_else(|| panic!("no group {id} in {body}"))
}

fn assert_counts(
    group: &Value,
    keys: &[&str],
    expected: &BTreeMap<String, (i64, i64)>,
    what: &str,
) {
    let got = json_strata(group, keys);
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>(),
        "{what}: strata of {keys:?}"
    );
    for (k, (n, d)) in expected {
        let cells = &got[k];
        assert_eq!(
            cells["numerator"],
            json!(*n as f64),
            "{what} {keys:?} {k} numerator"
        );
        assert_eq!(
            cells["denominator"],
            json!(*d as f64),
            "{what} {keys:?} {k} denominator"
        );
        let score = cells["score"].as_f64();
        if *d > 0 {
            assert!(
                (score.unwrap() - *n as f64 * 1000.0 / *d as f64).abs() < 1e-9,
                "{what} {k} score"
            );
        }
    }
}

/// Patients seen in 2024 with E11 present then (sealed ones included), and patients seen.
fn e11_2024(people: &[Person]) -> (i64, i64) {
    total(&truth(
        people,
        &[],
        |p| has(p, "E11", "2024-01-01", "2024-12-31", true),
        |p| p.seen,
    ))
}

fn total(map: &BTreeMap<String, (i64, i64)>) -> (i64, i64) {
    map.values().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn prevalence_matches_construction(backend: Backend) {
    let app = open_app(backend);
    let people = population(60);
    seed(&app, &people, None);
    let body = report(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&stratify=sex,age-band,region&_format=json"),
    );
    let period = group(&body, "period-prevalence");
    let seen = |p: &Person| p.seen;
    let case = |p: &Person| has(p, "E11", "2024-01-01", "2024-12-31", true);
    let (n, d) = total(&truth(&people, &[], case, seen));
    assert!(n > 10 && d == 54, "construction: {n}/{d}");
    assert_eq!(period["total"]["numerator"], json!(n as f64));
    assert_eq!(period["total"]["denominator"], json!(d as f64));
    // encounters in the period carrying an E11 diagnosis (refuted ones excluded)
    let encounters = people
        .iter()
        .filter(|p| {
            p.seen
                && p.conditions
                    .iter()
                    .any(|c| in_spec(c.code, "E11") && !c.refuted)
        })
        .count();
    assert_eq!(period["total"]["encounters"], json!(encounters as f64));
    for keys in [
        vec!["sex"],
        vec!["age-band"],
        vec!["region"],
        vec!["sex", "age-band", "region"],
    ] {
        assert_counts(period, &keys, &truth(&people, &keys, case, seen), "period");
    }
    let point = group(&body, "point-prevalence");
    let at_point = |p: &Person| has(p, "E11", "2024-12-31", "2024-12-31", true);
    assert_counts(
        point,
        &["sex"],
        &truth(&people, &["sex"], at_point, seen),
        "point",
    );
    assert!(point["total"]["numerator"].as_f64() < period["total"]["numerator"].as_f64());

    // month by month: every 2024 encounter is in May
    let body = report(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&trend=month&_format=json"),
    );
    let monthly = group(&body, "monthly-prevalence");
    let may = |p: &Person| has(p, "E11", "2024-05-01", "2024-05-31", true);
    let expected: BTreeMap<String, (i64, i64)> = truth(&people, &[], may, seen)
        .into_values()
        .map(|c| ("2024-05".to_string(), c))
        .collect();
    assert_counts(monthly, &["month"], &expected, "monthly");
    let svg = app
        .get(&format!(
            "$prevalence?code=E11&{PERIOD}&trend=month&_format=svg"
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert!(
        doc.descendants().any(|n| n.text() == Some("month")),
        "the trend chart"
    );

    // the same as a MeasureReport
    let mr = report(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&stratify=sex,age-band"),
    );
    assert_eq!(mr["resourceType"], "MeasureReport");
    assert_eq!(mr["status"], "complete");
    assert_eq!(mr["type"], "summary");
    assert_eq!(
        mr["period"],
        json!({"start": "2024-01-01", "end": "2024-12-31"})
    );
    let g = &mr["group"][0];
    let count = |pops: &Value, code: &str| {
        pops.as_array()
            .unwrap()
            .iter()
            .find(|p| p["code"]["coding"][0]["code"] == code)
            .map(|p| p["count"].clone())
            .unwrap()
    };
    assert_eq!(count(&g["population"], "numerator"), json!(n));
    assert_eq!(count(&g["population"], "denominator"), json!(d));
    assert!(
        (g["measureScore"]["value"].as_f64().unwrap() - n as f64 * 1000.0 / d as f64).abs() < 1e-9
    );
    let by_sex = &g["stratifier"][0];
    assert_eq!(by_sex["code"][0]["text"], "sex");
    let female = by_sex["stratum"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["value"]["text"] == "female")
        .unwrap();
    let (fn_, fd) = truth(&people, &["sex"], case, seen)["female"];
    assert_eq!(count(&female["population"], "numerator"), json!(fn_));
    assert_eq!(count(&female["population"], "denominator"), json!(fd));
    let bands: Vec<&str> = g["stratifier"][1]["stratum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["value"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(bands, ["0-17", "18-44", "45-64", "65-"]);
    let cross = &g["stratifier"][2];
    assert_eq!(cross["code"].as_array().unwrap().len(), 2);
    assert_eq!(cross["stratum"][0]["component"][0]["code"]["text"], "sex");
    // a valid R4 resource: the server's own validation stores it
    app.create(&mr);
    let ratio = report(
        &app,
        &format!("$predisposition?code=E11&comorbidity=I10&{PERIOD}&stratify=sex"),
    );
    app.create(&ratio);
}
crate::on_both_backends!(prevalence_matches_construction);

fn ranges_lists_incidence_and_predisposition(backend: Backend) {
    let app = open_app(backend);
    let people = population(60);
    seed(&app, &people, None);
    let seen = |p: &Person| p.seen;
    for spec in ["C00-C96", "C00-D49", "E10,I10", "E11.65", "C50"] {
        let body = report(
            &app,
            &format!("$prevalence?code={spec}&{PERIOD}&_format=json"),
        );
        let (n, d) = total(&truth(
            &people,
            &[],
            |p| has(p, spec, "2024-01-01", "2024-12-31", true),
            seen,
        ));
        let g = group(&body, "period-prevalence");
        assert_eq!(g["total"]["numerator"], json!(n as f64), "{spec}");
        assert_eq!(g["total"]["denominator"], json!(d as f64), "{spec}");
    }
    // incidence: first E11 diagnosis in 2024, over the seen without an earlier one
    let first = |p: &Person| {
        p.conditions
            .iter()
            .filter(|c| in_spec(c.code, "E11") && !c.refuted)
            .map(|c| c.onset)
            .min()
    };
    let body = report(
        &app,
        &format!("$incidence?code=E11&{PERIOD}&stratify=age-band&_format=json"),
    );
    let expected = truth(
        &people,
        &["age-band"],
        |p| first(p).is_some_and(|f| ("2024-01-01"..="2024-12-31").contains(&f)),
        |p| p.seen && first(p).is_none_or(|f| f >= "2024-01-01"),
    );
    assert_counts(
        group(&body, "incidence"),
        &["age-band"],
        &expected,
        "incidence",
    );
    // predisposition: I10 among patients with and without E11
    let body = report(
        &app,
        &format!("$predisposition?code=E11&comorbidity=I10&{PERIOD}&stratify=sex&_format=json"),
    );
    let a = |p: &Person| has(p, "E11", "2024-01-01", "2024-12-31", true);
    let b = |p: &Person| has(p, "I10", "2024-01-01", "2024-12-31", true);
    let with = truth(&people, &["sex"], b, |p| p.seen && a(p));
    let without = truth(&people, &["sex"], b, |p| p.seen && !a(p));
    assert_counts(group(&body, "with-condition"), &["sex"], &with, "with");
    assert_counts(
        group(&body, "without-condition"),
        &["sex"],
        &without,
        "without",
    );
    let (a1, n1) = total(&with);
    let (c0, n0) = total(&without);
    let rr = (a1 as f64 / n1 as f64) / (c0 as f64 / n0 as f64);
    let ratio = &group(&body, "prevalence-ratio")["total"];
    assert!(
        (ratio["ratio"].as_f64().unwrap() - rr).abs() < 1e-9,
        "{ratio}"
    );
    let se = (1.0 / a1 as f64 - 1.0 / n1 as f64 + 1.0 / c0 as f64 - 1.0 / n0 as f64).sqrt();
    assert!((ratio["ci95-low"].as_f64().unwrap() - (rr.ln() - 1.96 * se).exp()).abs() < 1e-9);
    assert!((ratio["ci95-high"].as_f64().unwrap() - (rr.ln() + 1.96 * se).exp()).abs() < 1e-9);

    // ages are completed years on period-end: born 2006-12-31 is 18, born 2007-01-01 is 17
    let bands = |app: &TestApp| {
        let body = report(
            app,
            &format!("$prevalence?code=I10&{PERIOD}&stratify=age-band&_format=json"),
        );
        json_strata(group(&body, "period-prevalence"), &["age-band"])
            .into_iter()
            .map(|(k, c)| (k, c["denominator"].as_f64().unwrap()))
            .collect::<BTreeMap<String, f64>>()
    };
    let before = bands(&app);
    for (id, birth) in [("edge18", "2006-12-31"), ("edge17", "2007-01-01")] {
        let patient =
            json!({"resourceType": "Patient", "id": id, "gender": "female", "birthDate": birth});
        let (status, body) = parts(app.put(&format!("Patient/{id}"), &patient).send().unwrap());
        assert_eq!(status, 201, "{body}");
        app.create(&json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
            "subject": {"reference": format!("Patient/{id}")},
            "period": {"start": "2024-03-01", "end": "2024-03-01"}}));
    }
    let after = bands(&app);
    assert_eq!(
        after["18-44"] - before["18-44"],
        1.0,
        "{before:?} {after:?}"
    );
    assert_eq!(after["0-17"] - before["0-17"], 1.0, "{before:?} {after:?}");
}
crate::on_both_backends!(ranges_lists_incidence_and_predisposition);

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn close(a: &Value, b: f64, what: &str) {
    assert!(
        (a.as_f64().unwrap_or(f64::NAN) - b).abs() < 1e-9,
        "{what}: {a} vs {b}"
    );
}

fn prescriptions_treatment_volumes_and_stays(backend: Backend) {
    let app = open_app(backend);
    let people = population(60);
    seed(&app, &people, None);
    let cohort: Vec<&Person> = people
        .iter()
        .filter(|p| p.seen && has(p, "E11", "2024-01-01", "2024-12-31", true))
        .collect();
    let body = report(
        &app,
        &format!("$prescriptions?code=E11&{PERIOD}&_format=json"),
    );
    for med in [METFORMIN, INSULIN] {
        let with: Vec<&&Person> = cohort
            .iter()
            .filter(|p| p.meds.iter().any(|(m, _, s)| *m == med && *s == "active"))
            .collect();
        let requests: usize = with
            .iter()
            .map(|p| {
                p.meds
                    .iter()
                    .filter(|(m, _, s)| *m == med && *s == "active")
                    .count()
            })
            .sum();
        let t = &group(&body, med)["total"];
        assert_eq!(t["numerator"], json!(with.len() as f64), "{med}");
        assert_eq!(t["denominator"], json!(cohort.len() as f64), "{med}");
        assert_eq!(t["requests"], json!(requests as f64), "{med}");
    }
    assert_eq!(
        body["groups"].as_array().unwrap().len(),
        2,
        "only the two medications: {body}"
    );

    // treatment response: HbA1c change after the first request of each medication
    let body = report(
        &app,
        &format!("$treatment-response?code=E11&observation=4548-4&target=lt7.5&{PERIOD}&stratify=sex&_format=json"),
    );
    for med in [METFORMIN, INSULIN] {
        let treated: Vec<&Person> = people
            .iter()
            .filter(|p| p.seen && p.meds.iter().any(|(m, _, s)| *m == med && *s == "active"))
            .filter(|p| {
                p.conditions
                    .iter()
                    .any(|c| in_spec(c.code, "E11") && !c.refuted)
            })
            .filter(|p| !p.hba1c.is_empty())
            .collect();
        let changes: Vec<f64> = treated
            .iter()
            .map(|p| p.hba1c[2].1 - p.hba1c[1].1)
            .collect();
        let hits = treated.iter().filter(|p| p.hba1c[2].1 < 7.5).count();
        let t = &group(&body, med)["total"];
        assert_eq!(
            t["measure-population"],
            json!(treated.len() as f64),
            "{med}: {t}"
        );
        assert_eq!(t["numerator"], json!(hits as f64), "{med}");
        close(
            &t["mean-change"],
            changes.iter().sum::<f64>() / changes.len() as f64,
            "mean",
        );
        close(&t["median-change"], median(changes.clone()), "median");
        close(
            &t["share-reaching-target"],
            hits as f64 * 100.0 / treated.len() as f64,
            "share",
        );
        let female: Vec<f64> = treated
            .iter()
            .filter(|p| p.female)
            .map(|p| p.hba1c[2].1 - p.hba1c[1].1)
            .collect();
        let strata = json_strata(group(&body, med), &["sex"]);
        if !female.is_empty() {
            close(
                &strata["female"]["median-change"],
                median(female),
                "female median",
            );
        }
    }

    // procedure volumes by code item and performer
    let body = report(
        &app,
        &format!("$procedure-volume?code=0DT,0SR&{PERIOD}&stratify=practitioner&_format=json"),
    );
    for (item, code) in [("0DT", "0DTJ4ZZ"), ("0SR", "0SR9019")] {
        let by_doc = |doc: &str| {
            people
                .iter()
                .flat_map(|p| p.procedures.iter())
                .filter(|(c, d)| *c == code && (doc.is_empty() || d == doc))
                .count() as f64
        };
        let g = group(&body, item);
        assert_eq!(g["total"]["procedures"], json!(by_doc("")), "{item}");
        let strata = json_strata(g, &["practitioner"]);
        for (doc, cells) in strata {
            assert_eq!(cells["procedures"], json!(by_doc(&doc)), "{item} {doc}");
        }
    }

    // length of stay of inpatients discharged in 2024, by sex
    let body = report(
        &app,
        &format!("$length-of-stay?{PERIOD}&stratify=sex&_format=json"),
    );
    let stays = |female: Option<bool>| -> Vec<f64> {
        people
            .iter()
            .filter(|p| p.seen && p.inpatient && female.is_none_or(|f| p.female == f))
            .map(|p| p.stay_days as f64)
            .collect()
    };
    let g = group(&body, "all");
    let all = stays(None);
    assert_eq!(g["total"]["encounters"], json!(all.len() as f64));
    assert_eq!(g["total"]["bed-days"], json!(all.iter().sum::<f64>()));
    close(
        &g["total"]["mean-days"],
        all.iter().sum::<f64>() / all.len() as f64,
        "mean stay",
    );
    close(&g["total"]["median-days"], median(all), "median stay");
    let strata = json_strata(g, &["sex"]);
    close(
        &strata["male"]["median-days"],
        median(stays(Some(false))),
        "male median stay",
    );
}
crate::on_both_backends!(prescriptions_treatment_volumes_and_stays);

fn suppression_sealed_records_and_scopes(backend: Backend) {
    let app = secured(backend);
    let admin = token("user/*.cruds", None, &["*"]);
    let people = population(60);
    seed(&app, &people, Some(&admin));
    let analyst = token("user/Condition.s", None, &[]);
    let identified = token("user/Condition.s", None, &["identified-data"]);
    let path = format!("$prevalence?code=E11&{PERIOD}&stratify=sex,age-band&_format=json");

    // identified data, not cleared for SDV: exact counts, the sealed E11 conditions left out
    let (status, body) = get_json(&app, &path, Some(&identified));
    assert_eq!(status, 200, "{body}");
    assert!(body["suppression"].is_null());
    let seen = |p: &Person| p.seen;
    let visible = truth(
        &people,
        &["sex", "age-band"],
        |p| has(p, "E11", "2024-01-01", "2024-12-31", false),
        seen,
    );
    assert_counts(
        group(&body, "period-prevalence"),
        &["sex", "age-band"],
        &visible,
        "uncleared",
    );
    let with_sealed = total(&truth(
        &people,
        &[],
        |p| has(p, "E11", "2024-01-01", "2024-12-31", true),
        seen,
    ))
    .0;
    assert!(
        total(&visible).0 < with_sealed,
        "the construction has sealed cases"
    );

    // cleared for everything: the sealed cases count too
    let (_, body) = get_json(&app, &path, Some(&admin));
    assert_eq!(
        group(&body, "period-prevalence")["total"]["numerator"],
        json!(with_sealed as f64)
    );

    // no identified-data permission: cells 1..10 hidden, and no hidden cell is the only
    // hidden one of a published sum
    let (status, body) = get_json(&app, &path, Some(&analyst));
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["suppression"]["threshold"], 11);
    let g = group(&body, "period-prevalence");
    let mut hidden = 0;
    for keys in [vec!["sex"], vec!["age-band"], vec!["sex", "age-band"]] {
        let expected = truth(
            &people,
            &keys,
            |p| has(p, "E11", "2024-01-01", "2024-12-31", false),
            seen,
        );
        for (k, cells) in json_strata(g, &keys) {
            let (n, _) = expected[&k];
            let published = cells["numerator"].as_f64();
            match published {
                Some(v) => {
                    assert_eq!(v, n as f64, "{keys:?} {k}");
                    assert!(n == 0 || n >= 11, "{keys:?} {k}: {n} published");
                }
                None => {
                    hidden += 1;
                    assert!(cells["suppressed"]
                        .as_array()
                        .unwrap()
                        .contains(&json!("numerator")));
                    assert!(cells["score"].is_null(), "a hidden count hides its rate");
                }
            }
        }
    }
    assert!(hidden > 0);
    // complementary: in every sum (total over sex; each sex over sex × age band), never
    // exactly one hidden numerator
    let sums: Vec<(Option<f64>, Vec<Option<f64>>)> = {
        let by_sex = json_strata(g, &["sex"]);
        let cross = json_strata(g, &["sex", "age-band"]);
        let mut out = vec![(
            g["total"]["numerator"].as_f64(),
            by_sex.values().map(|c| c["numerator"].as_f64()).collect(),
        )];
        for (s, cells) in &by_sex {
            out.push((
                cells["numerator"].as_f64(),
                cross
                    .iter()
                    .filter(|(k, _)| k.starts_with(&format!("{s}|")))
                    .map(|(_, c)| c["numerator"].as_f64())
                    .collect(),
            ));
        }
        out
    };
    for (parent, parts) in &sums {
        let unknown = usize::from(parent.is_none()) + parts.iter().filter(|p| p.is_none()).count();
        assert_ne!(
            unknown, 1,
            "a sum with one hidden cell: {parent:?} {parts:?}"
        );
    }
    // the MeasureReport marks hidden counts as masked
    let (_, mr) = get_json(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&stratify=sex,age-band"),
        Some(&analyst),
    );
    assert!(mr.to_string().contains("\"masked\""));

    // patient-scoped tokens cannot run reports; tokens without the scope are refused
    let patient = token("patient/Condition.s", Some("p0"), &[]);
    let (status, outcome) = get_json(&app, &path, Some(&patient));
    assert_eq!(status, 403, "{outcome}");
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let other = token("user/Observation.s", None, &[]);
    assert_eq!(get_json(&app, &path, Some(&other)).0, 403);
}
crate::on_both_backends!(suppression_sealed_records_and_scopes);

fn csv_svg_and_bad_parameters(backend: Backend) {
    let app = open_app(backend);
    let people = population(40);
    seed(&app, &people, None);
    let (content_type, text) = fetch(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&stratify=sex,age-band&_format=csv"),
    );
    assert!(content_type.starts_with("text/csv"));
    let lines: Vec<&str> = text.split("\r\n").filter(|l| !l.is_empty()).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    assert_eq!(header[..4], ["group", "stratifier", "sex", "age-band"]);
    assert!(header.contains(&"numerator") && header.contains(&"score"));
    for line in &lines[1..] {
        assert_eq!(line.split(',').count(), header.len(), "{line}");
    }
    let (n, d) = e11_2024(&people);
    let total_row: Vec<&str> = lines[1].split(',').collect();
    assert_eq!(total_row[0], "period-prevalence");
    assert_eq!(total_row[1], "total");
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    assert_eq!(total_row[col("numerator")], n.to_string());
    assert_eq!(total_row[col("denominator")], d.to_string());
    // 2 groups × (total + 2 sexes + 4 bands + 8 cells)
    assert_eq!(lines.len() - 1, 2 * 15);

    let (content_type, svg) = fetch(
        &app,
        &format!("$prevalence?code=E11&{PERIOD}&stratify=age-band,sex&_format=svg"),
    );
    assert_eq!(content_type, "image/svg+xml");
    let doc = roxmltree::Document::parse(&svg).expect("well-formed SVG");
    assert_eq!(doc.root_element().tag_name().name(), "svg");
    let texts: Vec<&str> = doc.descendants().filter_map(|n| n.text()).collect();
    for label in ["age band (years)", "female", "male", "0-17", "65-"] {
        assert!(
            texts.iter().any(|t| t.contains(label)),
            "{label} in {texts:?}"
        );
    }
    let bars = doc
        .descendants()
        .filter(|n| {
            n.tag_name().name() == "rect" && n.children().any(|c| c.tag_name().name() == "title")
        })
        .count();
    assert_eq!(bars, 8, "one bar per age band and sex");

    for bad in [
        format!("$prevalence?{PERIOD}"),
        "$prevalence?code=E11&period-start=2024-01-01".to_string(),
        "$prevalence?code=E11&period-start=2024-13-01&period-end=2024-12-31".to_string(),
        "$prevalence?code=E11&period-start=2024-12-01&period-end=2024-01-01".to_string(),
        format!("$prevalence?code=E11!&{PERIOD}"),
        format!("$prevalence?code=E11&{PERIOD}&stratify=shoe-size"),
        format!("$prevalence?code=E11&{PERIOD}&age-bands=0-20,10-30"),
        format!("$prevalence?code=E11&{PERIOD}&colour=red"),
        format!("$prevalence?code=E11&{PERIOD}&_format=xlsx"),
        format!("$predisposition?code=E11&{PERIOD}"),
        format!("$treatment-response?{PERIOD}&observation=4548-4&target=seven"),
        format!("$completion-report?{PERIOD}&delinquent-days=-3"),
    ] {
        let (status, outcome) = get_json(&app, &bad, None);
        assert_eq!(status, 400, "{bad}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome", "{bad}");
    }
}
crate::on_both_backends!(csv_svg_and_bad_parameters);

fn task(
    id: &str,
    system: &str,
    code: &str,
    encounter: &str,
    patient: &str,
    status: &str,
    extra: Value,
) -> Value {
    let mut t = json!({"resourceType": "Task", "id": id, "status": status, "intent": "order",
        "code": {"coding": [{"system": system, "code": code}]},
        "focus": {"reference": format!("Encounter/{encounter}")},
        "encounter": {"reference": format!("Encounter/{encounter}")},
        "for": {"reference": format!("Patient/{patient}")},
        "authoredOn": "2024-06-01T09:00:00Z", "lastModified": "2024-06-03T09:00:00Z"});
    for (k, v) in extra.as_object().unwrap() {
        t[k] = v.clone();
    }
    put(t)
}

fn operational_reports(backend: Backend) {
    let app = open_app(backend);
    let people = population(20);
    seed(&app, &people, None);
    let deficiency = "http://chartroom.dev/fhir/CodeSystem/deficiency";
    let records = "http://chartroom.dev/fhir/CodeSystem/records-task";
    let final_status = json!({"businessStatus": {"coding": [{"system": "http://chartroom.dev/fhir/CodeSystem/coding-status", "code": "final"}]}});
    let coded_status = json!({"businessStatus": {"coding": [{"system": "http://chartroom.dev/fhir/CodeSystem/coding-status", "code": "coded"}]}});
    // open deficiencies on p0, p1 (two on p1), a closed one on p2, a cancelled one on p3
    let mut entries = vec![
        task(
            "d0",
            deficiency,
            "missing-principal",
            "p0-e",
            "p0",
            "requested",
            json!({}),
        ),
        task(
            "d1",
            deficiency,
            "discharge-summary-missing",
            "p1-e",
            "p1",
            "in-progress",
            json!({}),
        ),
        task(
            "d2",
            deficiency,
            "missing-principal",
            "p1-e",
            "p1",
            "requested",
            json!({}),
        ),
        task(
            "d3",
            deficiency,
            "missing-principal",
            "p2-e",
            "p2",
            "completed",
            json!({}),
        ),
        task(
            "d4",
            deficiency,
            "patient-missing-address",
            "p3-e",
            "p3",
            "cancelled",
            json!({}),
        ),
    ];
    // coding: p0..p5 final (p4, p5 in July), p6 coded only
    for i in 0..6 {
        let mut t = task(
            &format!("k{i}"),
            records,
            "coding",
            &format!("p{i}-e"),
            &format!("p{i}"),
            "completed",
            final_status.clone(),
        );
        if i >= 4 {
            t["resource"]["lastModified"] = json!("2024-07-02T10:00:00Z");
        }
        entries.push(t);
    }
    entries.push(task(
        "k6",
        records,
        "coding",
        "p6-e",
        "p6",
        "in-progress",
        coded_status,
    ));
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let (status, body) = parts(app.post("", &bundle).send().unwrap());
    assert_eq!(status, 200, "{body}");

    let discharged = people.iter().filter(|p| p.seen).count() as f64;
    let body = report(
        &app,
        &format!("$completion-report?{PERIOD}&as-of=2024-06-20&delinquent-days=30&_format=json"),
    );
    let completion = &group(&body, "record-completion")["total"];
    assert_eq!(completion["denominator"], json!(discharged));
    assert_eq!(
        completion["numerator"],
        json!(discharged - 2.0),
        "p0 and p1 are incomplete"
    );
    close(
        &completion["percent"],
        (discharged - 2.0) * 100.0 / discharged,
        "completion rate",
    );
    // every stay ended by 2024-05-14: more than 30 days before 2024-06-20, not before 2024-06-01
    assert_eq!(
        group(&body, "delinquency")["total"]["numerator"],
        json!(2.0)
    );
    let body2 = report(
        &app,
        &format!("$completion-report?{PERIOD}&as-of=2024-06-01&delinquent-days=30&_format=json"),
    );
    assert_eq!(
        group(&body2, "delinquency")["total"]["numerator"],
        json!(0.0)
    );
    let kinds = json_strata(group(&body, "deficiencies"), &["kind"]);
    assert_eq!(kinds["missing-principal"]["opened"], json!(3.0));
    assert_eq!(kinds["missing-principal"]["closed"], json!(1.0));
    assert_eq!(kinds["missing-principal"]["open"], json!(2.0));
    assert_eq!(kinds["patient-missing-address"]["cancelled"], json!(1.0));

    let body = report(
        &app,
        &format!("$coding-throughput?{PERIOD}&as-of=2024-12-31&stratify=month&_format=json"),
    );
    let coded = group(&body, "coded-final");
    assert_eq!(coded["total"]["coded"], json!(6.0));
    let months = json_strata(coded, &["month"]);
    assert_eq!(months["2024-06"]["coded"], json!(4.0));
    assert_eq!(months["2024-07"]["coded"], json!(2.0));
    assert_eq!(
        group(&body, "dnfb")["total"]["numerator"],
        json!(discharged - 6.0)
    );
    let csv = app
        .get(&format!(
            "$coding-throughput?{PERIOD}&stratify=month&_format=csv"
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(csv.starts_with("group,stratifier,month,"), "{csv}");

    let body = report(&app, &format!("$coding-audit-rates?{PERIOD}&_format=json"));
    let audit = group(&body, "coding-audit");
    let audited = audit["total"]["denominator"].as_f64().unwrap()
        + audit["total"]["skipped"].as_f64().unwrap();
    assert_eq!(audited, discharged);
    let chapters = json_strata(audit, &["chapter"]);
    let sum: f64 = chapters
        .values()
        .map(|c| c["denominator"].as_f64().unwrap())
        .sum();
    assert_eq!(sum, audit["total"]["denominator"].as_f64().unwrap());
    assert!(
        chapters.keys().any(|k| k.starts_with("4 ")),
        "diabetes principal diagnoses: {chapters:?}"
    );
}
crate::on_both_backends!(operational_reports);

fn report_cli_prints_csv_and_json(backend: Backend) {
    let app = open_app(backend);
    let people = population(30);
    seed(&app, &people, None);
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
            .args(["report"])
            .args(args)
            .env("CHARTROOM_DATABASE_URL", &app.database_url)
            .output()
            .expect("run chartroom report");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).to_string(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (n, d) = e11_2024(&people);
    let (ok, csv, err) = run(&[
        "prevalence",
        "--identified",
        "code=E11",
        "period-start=2024-01-01",
        "period-end=2024-12-31",
        "stratify=sex",
    ]);
    assert!(ok, "{err}");
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "group,stratifier,sex,numerator,denominator,encounters,score"
    );
    assert!(
        lines[1].starts_with(&format!("period-prevalence,total,,{n},{d},")),
        "{csv}"
    );
    // without --identified the job hides sealed records and small cells
    let (ok, json, err) = run(&[
        "length-of-stay",
        "--format",
        "json",
        "period-start=2024-01-01",
        "period-end=2024-12-31",
    ]);
    assert!(ok, "{err}");
    let body: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(body["report"], "length-of-stay");
    assert_eq!(body["suppression"]["threshold"], 11);
    let (ok, _, err) = run(&["incidence", "code=E11", "period-start=2024-01-01"]);
    assert!(!ok);
    assert!(err.contains("period-end is required"), "{err}");
}
crate::on_both_backends!(report_cli_prints_csv_and_json);

fn enc(url: &str) -> String {
    url::form_urlencoded::byte_serialize(url.as_bytes()).collect()
}

/// Period-prevalence total (numerator, denominator) of a `code` value.
fn prevalence_total(app: &TestApp, code: &str) -> (Value, Value) {
    let body = report(
        app,
        &format!("$prevalence?code={}&{PERIOD}&_format=json", enc(code)),
    );
    let total = &group(&body, "period-prevalence")["total"];
    (total["numerator"].clone(), total["denominator"].clone())
}

fn value_sets_in_code(backend: Backend) {
    let app = open_app(backend);
    let people = population(60);
    seed(&app, &people, None);
    let seen = |p: &Person| p.seen;
    // implicit ICD-10-CM value sets count exactly like the equivalent code or range
    for (url, spec) in [
        (format!("{ICD}?fhir_vs=isa/E11"), "E11"),
        (format!("{ICD}?fhir_vs=range/C00-D49"), "C00-D49"),
        (format!("{ICD}?fhir_vs=range/E10,I10"), "E10,I10"),
    ] {
        let (n, d) = total(&truth(
            &people,
            &[],
            |p| has(p, spec, "2024-01-01", "2024-12-31", true),
            seen,
        ));
        assert!(n > 0, "{spec} has cases");
        assert_eq!(prevalence_total(&app, &url), prevalence_total(&app, spec));
        assert_eq!(
            prevalence_total(&app, &url),
            (json!(n as f64), json!(d as f64)),
            "{url}"
        );
    }
    // a stored ValueSet: E11 and below plus I10, without E11.65; SNOMED codes are not counted
    let vs = "http://example.org/fhir/ValueSet/diabetes-htn";
    let value_set = json!({"resourceType": "ValueSet", "id": "diabetes-htn", "status": "active",
        "url": vs, "version": "2",
        "compose": {
            "include": [
                {"system": ICD, "filter": [{"property": "concept", "op": "is-a", "value": "E11"}]},
                {"system": ICD, "concept": [{"code": "I10"}]},
                {"system": "http://snomed.info/sct", "concept": [{"code": "44054006"}]}],
            "exclude": [{"system": ICD, "concept": [{"code": "E11.65"}]}]}});
    let (status, body) = parts(app.put("ValueSet/diabetes-htn", &value_set).send().unwrap());
    assert_eq!(status, 201, "{body}");
    let in_set = |c: &Cond| (in_spec(c.code, "E11") && c.code != "E11.65") || c.code == "I10";
    let (n, d) = total(&truth(
        &people,
        &[],
        |p| {
            p.conditions
                .iter()
                .any(|c| in_set(c) && present(c, "2024-01-01", "2024-12-31", true))
        },
        seen,
    ));
    let (with_excluded, _) = total(&truth(
        &people,
        &[],
        |p| has(p, "E11,I10", "2024-01-01", "2024-12-31", true),
        seen,
    ));
    assert!(n < with_excluded, "the exclude takes patients out");
    for code in [vs.to_string(), format!("{vs}|2")] {
        assert_eq!(
            prevalence_total(&app, &code),
            (json!(n as f64), json!(d as f64)),
            "{code}"
        );
    }
    // a second version of the same url: |version picks it; without a version it is ambiguous
    let older = json!({"resourceType": "ValueSet", "id": "diabetes-htn-1", "status": "retired",
        "url": vs, "version": "1",
        "compose": {"include": [{"system": ICD, "concept": [{"code": "I10"}]}]}});
    let (status, body) = parts(app.put("ValueSet/diabetes-htn-1", &older).send().unwrap());
    assert_eq!(status, 201, "{body}");
    let i10 = total(&truth(
        &people,
        &[],
        |p| has(p, "I10", "2024-01-01", "2024-12-31", true),
        seen,
    ));
    assert_ne!(i10.0, n);
    assert_eq!(
        prevalence_total(&app, &format!("{vs}|1")),
        (json!(i10.0 as f64), json!(i10.1 as f64))
    );
    assert_eq!(
        prevalence_total(&app, &format!("{vs}|2")),
        (json!(n as f64), json!(d as f64))
    );
    for (code, says) in [
        (vs.to_string(), "ambiguous"),
        (format!("{vs}|3"), "not known"),
    ] {
        let (status, outcome) = get_json(
            &app,
            &format!("$prevalence?code={}&{PERIOD}", enc(&code)),
            None,
        );
        assert_eq!(status, 400, "{code}: {outcome}");
        assert!(outcome.to_string().contains(says), "{code}: {outcome}");
    }
    // a value set as comorbidity: the same as its range
    let predisposition = |b: &str| {
        let body = report(
            &app,
            &format!(
                "$predisposition?code=I10&comorbidity={}&{PERIOD}&_format=json",
                enc(b)
            ),
        );
        group(&body, "with-condition")["total"].clone()
    };
    assert_eq!(
        predisposition(&format!("{ICD}?fhir_vs=isa/E11")),
        predisposition("E11")
    );
    // ICD-10-PCS value sets group procedure volumes like a prefix does
    let pcs = format!("{PCS}?fhir_vs=isa/0DT");
    let body = report(
        &app,
        &format!("$procedure-volume?code={}&{PERIOD}&_format=json", enc(&pcs)),
    );
    let expected = people
        .iter()
        .flat_map(|p| p.procedures.iter())
        .filter(|(c, _)| c.starts_with("0DT"))
        .count();
    assert!(expected > 0);
    assert_eq!(
        group(&body, &pcs)["total"]["procedures"],
        json!(expected as f64)
    );

    // value sets that cannot be evaluated are a 400 naming them
    app.put(
        "ValueSet/sct-isa",
        &json!({"resourceType": "ValueSet", "id": "sct-isa", "status": "active",
                "url": "http://example.org/fhir/ValueSet/sct-isa",
                "compose": {"include": [{"system": "http://snomed.info/sct",
                    "filter": [{"property": "concept", "op": "is-a", "value": "73211009"}]}]}}),
    )
    .send()
    .unwrap();
    for (query, url) in [
        ("$prevalence?code=", "http://example.org/fhir/ValueSet/none"),
        (
            "$prevalence?code=",
            "http://example.org/fhir/ValueSet/sct-isa",
        ),
        ("$prevalence?code=", &pcs),
        (
            "$prevalence?code=",
            "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=nonsense/E11",
        ),
        (
            "$predisposition?code=E11&comorbidity=",
            "http://example.org/fhir/ValueSet/none",
        ),
    ] {
        let (status, outcome) = get_json(&app, &format!("{query}{}&{PERIOD}", enc(url)), None);
        assert_eq!(status, 400, "{url}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
        assert!(
            outcome["issue"][0]["diagnostics"]
                .as_str()
                .is_some_and(|d| d.contains(url)),
            "{url}: {outcome}"
        );
    }
}
crate::on_both_backends!(value_sets_in_code);
