//! Registry extracts through `GET /fhir/$registry-extract` on both stores: a seeded
//! population whose membership is known by construction, every output format parsed,
//! de-identification checked by grepping the whole output for planted identifiers,
//! pseudonym stability, the disclosures in `$disclosures`, sealed records and scopes.

use crate::helpers::{parts, put_all, spawn_with, Backend, TestApp};
use crate::on_both_backends;
use crate::security::{token, SECRET};
use serde_json::{json, Value};
use std::collections::BTreeSet;

const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const LOINC: &str = "http://loinc.org";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

fn app(backend: Backend, secured: bool) -> TestApp {
    spawn_with(backend, |c| {
        c.registry_secret = Some("registry-pseudonym-secret".into());
        if secured {
            c.auth = "on".into();
            c.jwt_hs256_secret = Some(SECRET.into());
            c.jwt_audience = Some("chartroom".into());
        }
    })
}

/// Adds the bearer token when the test runs with authentication on.
fn authed(
    request: reqwest::blocking::RequestBuilder,
    bearer: Option<&str>,
) -> reqwest::blocking::RequestBuilder {
    match bearer {
        Some(bearer) => request.bearer_auth(bearer),
        None => request,
    }
}

fn patient(id: &str, gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "gender": gender, "birthDate": birth,
           "address": [{"state": "MA", "postalCode": "02139", "country": "US"}]})
}

fn condition(id: &str, patient: &str, code: &str, onset: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": CM, "code": code}]}, "onsetDateTime": onset})
}

fn observation(id: &str, patient: &str, loinc: &str, value: f64, date: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": LOINC, "code": loinc}]}, "effectiveDateTime": date,
           "valueQuantity": {"value": value, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}})
}

fn blood_pressure(id: &str, patient: &str, sys: i64, dia: i64, date: &str) -> Value {
    let part = |code: &str, v: i64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
        "valueQuantity": {"value": v, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}})
    };
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "subject": {"reference": format!("Patient/{patient}")},
           "code": {"coding": [{"system": LOINC, "code": "85354-9"}]}, "effectiveDateTime": date,
           "component": [part("8480-6", sys), part("8462-4", dia)]})
}

fn medication(id: &str, patient: &str, rxnorm: &str, reason: Option<&str>, date: &str) -> Value {
    let mut m = json!({"resourceType": "MedicationRequest", "id": id, "status": "active", "intent": "order",
           "subject": {"reference": format!("Patient/{patient}")}, "authoredOn": date,
           "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": rxnorm}]}});
    if let Some(reason) = reason {
        m["reasonReference"] = json!([{"reference": format!("Condition/{reason}")}]);
    }
    m
}

fn procedure(id: &str, patient: &str, code: &str, reason: &str, date: &str) -> Value {
    json!({"resourceType": "Procedure", "id": id, "status": "completed",
           "subject": {"reference": format!("Patient/{patient}")}, "performedDateTime": date,
           "code": {"coding": [{"system": "http://www.cms.gov/Medicare/Coding/ICD10", "code": code}]},
           "reasonReference": [{"reference": format!("Condition/{reason}")}]})
}

/// Identifiers planted on dm1 (and its records); none may survive Safe Harbor.
const PLANTED: &[&str] = &[
    "Zebulon",
    "Quixworth",
    "MRN-55501234",
    "55501234",
    "078-05-1120",
    "617-555-0142",
    "zebulon.q@example.com",
    "Wallaby",
    "Cambridge",
    "02139-4307",
    "1961-03-14",
    "2020-02-17",
    "2023-01-05",
    "https://zq.example.net",
    "10.20.30.40",
    "dm1",
    "Okonkwo",
];

fn dm1_patient() -> Value {
    json!({"resourceType": "Patient", "id": "dm1", "gender": "male", "birthDate": "1961-03-14",
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Zebulon Quixworth</div>"},
        "identifier": [
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}, "system": "urn:oid:1.2.3", "value": "MRN-55501234"},
            {"type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "SS"}]}, "system": "http://hl7.org/fhir/sid/us-ssn", "value": "078-05-1120"}],
        "name": [{"family": "Quixworth", "given": ["Zebulon"]}],
        "telecom": [{"system": "phone", "value": "617-555-0142"}, {"system": "email", "value": "zebulon.q@example.com"},
                    {"system": "url", "value": "https://zq.example.net"}],
        "address": [{"line": ["42 Wallaby Way"], "city": "Cambridge", "state": "MA", "postalCode": "02139-4307", "country": "US"}],
        "contact": [{"name": {"family": "Okonkwo"}}],
        "extension": [{"url": "http://example.org/last-login-ip", "valueString": "10.20.30.40"}]})
}

/// The population: ids name what each patient is by construction.
fn seed(app: &TestApp, bearer: Option<&str>) {
    let mut resources = vec![
        dm1_patient(),
        condition("dm1-a", "dm1", "E11.9", "2020-02-17"),
        condition("dm1-b", "dm1", "E11.65", "2022-06-01"),
        observation("dm1-o1", "dm1", "4548-4", 7.9, "2023-01-05"),
        observation("dm1-o2", "dm1", "4548-4", 7.1, "2024-02-01"),
        observation("dm1-o3", "dm1", "4548-4", 6.8, "2024-09-01"),
        medication("dm1-m1", "dm1", "860975", None, "2020-02-17"),
        medication("dm1-m2", "dm1", "617312", None, "2021-01-01"),
        patient("dm2", "female", "1980-01-01"),
        condition("dm2-a", "dm2", "E10.9", "2018-04-04"),
        patient("dm-resolved", "female", "1970-01-01"),
        {
            let mut c = condition("dmr-a", "dm-resolved", "E09.9", "2015-01-01");
            c["abatementDateTime"] = json!("2017-01-01");
            c
        },
        patient("dm-refuted", "male", "1970-01-01"),
        {
            let mut c = condition("dmf-a", "dm-refuted", "E11.9", "2021-01-01");
            c["verificationStatus"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "refuted"}]});
            c
        },
        patient("dm-snomed", "male", "1970-01-01"),
        json!({"resourceType": "Condition", "id": "dms-a", "subject": {"reference": "Patient/dm-snomed"},
               "code": {"coding": [{"system": "http://snomed.info/sct", "code": "44054006"}]}}),
        patient("dm-deleted", "male", "1970-01-01"),
        condition("dmd-a", "dm-deleted", "E11.9", "2021-01-01"),
        patient("sealed", "female", "1975-05-05"),
        {
            let mut c = condition("sealed-a", "sealed", "E11.9", "2021-01-01");
            c["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]});
            c
        },
        patient("both", "male", "1950-01-01"),
        condition("both-a", "both", "E11.9", "2019-01-01"),
        condition("both-b", "both", "I10", "2019-01-01"),
        blood_pressure("both-bp", "both", 150, 95, "2024-03-03"),
        patient("htn1", "female", "1960-01-01"),
        condition("htn1-a", "htn1", "I10", "2016-01-01"),
        blood_pressure("htn1-bp1", "htn1", 148, 92, "2023-03-03"),
        blood_pressure("htn1-bp2", "htn1", 132, 84, "2024-03-03"),
        medication("htn1-m", "htn1", "314076", Some("htn1-a"), "2016-01-02"),
        patient("htn2", "male", "1966-01-01"),
        condition("htn2-a", "htn2", "I16.9", "2024-07-07"),
        patient("angina", "male", "1966-01-01"),
        condition("angina-a", "angina", "I20.9", "2024-07-07"),
        patient("ca1", "female", "1958-08-08"),
        {
            let mut c = condition("ca1-a", "ca1", "C50.911", "2024-03-10");
            c["extension"] = json!([{"url": "http://hl7.org/fhir/us/mcode/StructureDefinition/mcode-histology-morphology-behavior",
                "valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "8500/3"}]}}]);
            c["stage"] = json!([{"summary": {"coding": [{"system": "http://cancerstaging.org", "code": "IIA"}]}}]);
            c
        },
        procedure("ca1-p", "ca1", "0HTU0ZZ", "ca1-a", "2024-04-01"),
        medication("ca1-m", "ca1", "198240", Some("ca1-a"), "2024-05-01"),
        medication("ca1-m-before", "ca1", "198240", Some("ca1-a"), "2023-01-01"),
        patient("ca2", "female", "1970-02-02"),
        condition("ca2-a", "ca2", "D05.10", "2024-06-01"),
        json!({"resourceType": "Observation", "id": "ca2-morph", "status": "final", "subject": {"reference": "Patient/ca2"},
               "focus": [{"reference": "Condition/ca2-a"}],
               "code": {"coding": [{"system": LOINC, "code": "31206-6"}]},
               "valueCodeableConcept": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/icd-o-3", "code": "8500/2"}]}}),
        patient("ca-old", "male", "1940-01-01"),
        condition("ca-old-a", "ca-old", "C61", "2019-05-05"),
    ];
    resources.push(patient("nobody", "female", "1990-01-01"));
    for resource in resources {
        let path = format!(
            "{}/{}",
            resource["resourceType"].as_str().unwrap(),
            resource["id"].as_str().unwrap()
        );
        let request = authed(app.put(&path, &resource), bearer);
        let (status, body) = parts(request.send().unwrap());
        assert!(status == 200 || status == 201, "{path}: {status} {body}");
    }
    let request = authed(app.delete("Condition/dmd-a"), bearer);
    assert_eq!(request.send().unwrap().status().as_u16(), 204);
}

fn extract(app: &TestApp, query: &str, bearer: Option<&str>) -> (u16, String) {
    let request = authed(app.get(&format!("$registry-extract?{query}")), bearer);
    let response = request.send().unwrap();
    (response.status().as_u16(), response.text().unwrap())
}

fn ndjson(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| {
            serde_json::from_str(l).unwrap_or_else(|e| panic!("line does not parse: {e}: {l}"))
        })
        .collect()
}

fn patient_ids(resources: &[Value]) -> BTreeSet<String> {
    resources
        .iter()
        .filter(|r| r["resourceType"] == "Patient")
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect()
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|s| s.to_string()).collect()
}

fn members(app: &TestApp, query: &str) -> BTreeSet<String> {
    let (status, text) = extract(
        app,
        &format!("{query}&_format=ndjson&deidentify=none"),
        None,
    );
    assert_eq!(status, 200, "{query}: {text}");
    patient_ids(&ndjson(&text))
}

fn each_registry_selects_exactly_its_patients(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    assert_eq!(
        members(&app, "registry=diabetes"),
        set(&["both", "dm-resolved", "dm1", "dm2", "sealed"])
    );
    assert_eq!(
        members(
            &app,
            "registry=diabetes&period-start=2024-01-01&period-end=2024-12-31"
        ),
        set(&["both", "dm1", "dm2", "sealed"]),
        "resolved in 2017: not active in 2024"
    );
    assert_eq!(
        members(&app, "registry=hypertension"),
        set(&["both", "htn1", "htn2"])
    );
    assert_eq!(
        members(&app, "registry=cancer"),
        set(&["ca-old", "ca1", "ca2"])
    );
    assert_eq!(
        members(&app, "registry=cancer&period-start=2024&period-end=2024"),
        set(&["ca1", "ca2"])
    );
    // the record carries the data elements of the definition, and nothing else of the patient
    let (_, text) = extract(
        &app,
        "registry=diabetes&_format=ndjson&deidentify=none",
        None,
    );
    let lines = ndjson(&text);
    let ids: BTreeSet<String> = lines
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap()
            )
        })
        .collect();
    for expected in [
        "Condition/dm1-b",
        "Observation/dm1-o3",
        "MedicationRequest/dm1-m1",
    ] {
        assert!(ids.contains(expected), "{expected} missing: {ids:?}");
    }
    for absent in [
        "MedicationRequest/dm1-m2",
        "Observation/both-bp",
        "Condition/both-b",
        "Condition/dmd-a",
    ] {
        assert!(
            !ids.contains(absent),
            "{absent} should not be sent: {ids:?}"
        );
    }
    let (_, text) = extract(&app, "registry=cancer&_format=ndjson&deidentify=none", None);
    let ids: BTreeSet<String> = ndjson(&text)
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        ids.contains("ca1-p") && ids.contains("ca1-m") && ids.contains("ca2-morph"),
        "{ids:?}"
    );
    assert!(
        !ids.contains("ca1-m-before"),
        "treatment before diagnosis is not first course: {ids:?}"
    );
}
on_both_backends!(each_registry_selects_exactly_its_patients);

fn every_format_parses(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    // Bundle: a collection that fhirbolt parses
    let (status, text) = extract(&app, "registry=hypertension&deidentify=none", None);
    assert_eq!(status, 200, "{text}");
    let bundle: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "collection");
    chartroom::fhir::model::check(&bundle)
        .unwrap_or_else(|e| panic!("fhirbolt refuses the Bundle: {e}"));
    let entries = bundle["entry"].as_array().unwrap();
    assert!(entries
        .iter()
        .all(|e| e["fullUrl"].as_str().is_some_and(|u| u.starts_with("http"))));
    assert_eq!(
        patient_ids(
            &entries
                .iter()
                .map(|e| e["resource"].clone())
                .collect::<Vec<_>>()
        ),
        set(&["both", "htn1", "htn2"])
    );
    // the de-identified Bundle parses too
    let (_, text) = extract(&app, "registry=diabetes&deidentify=safe-harbor", None);
    chartroom::fhir::model::check(&serde_json::from_str(&text).unwrap()).unwrap();
    // an empty extract is still a valid Bundle (no empty entry array)
    let (_, text) = extract(
        &app,
        "registry=cancer&period-start=1990&period-end=1990&deidentify=none",
        None,
    );
    let empty: Value = serde_json::from_str(&text).unwrap();
    assert!(empty.get("entry").is_none());
    chartroom::fhir::model::check(&empty).unwrap();

    // CSV: header and one row per patient, values from the record
    let (status, text) = extract(&app, "registry=diabetes&_format=csv&deidentify=none", None);
    assert_eq!(status, 200);
    let rows: Vec<Vec<&str>> = text.lines().map(|l| l.split(',').collect()).collect();
    let header = &rows[0];
    assert_eq!(header[0], "patient_id");
    let col = |name: &str| {
        header
            .iter()
            .position(|h| *h == name)
            .unwrap_or_else(|| panic!("no column {name}: {header:?}"))
    };
    assert_eq!(rows.len(), 1 + 5);
    let dm1 = rows.iter().find(|r| r[0] == "dm1").unwrap();
    assert_eq!(dm1.len(), header.len());
    assert_eq!(dm1[col("hba1c_count")], "3");
    assert_eq!(dm1[col("hba1c_last")], "6.8");
    assert_eq!(dm1[col("complications")], "E11.65");
    assert_eq!(dm1[col("medications")], "860975");
    assert_eq!(dm1[col("first_diagnosis_date")], "2020-02-17");
    let (_, text) = extract(
        &app,
        "registry=hypertension&_format=csv&deidentify=none",
        None,
    );
    let htn1 = text.lines().find(|l| l.starts_with("htn1,")).unwrap();
    assert!(
        htn1.contains("2023-03-03=148/92;2024-03-03=132/84"),
        "{htn1}"
    );

    // NAACCR XML: well-formed, the right item numbers
    let (status, text) = extract(
        &app,
        "registry=cancer&_format=naaccr-xml&deidentify=none&period-start=2024",
        None,
    );
    assert_eq!(status, 200, "{text}");
    let doc = roxmltree::Document::parse(&text)
        .unwrap_or_else(|e| panic!("not well-formed: {e}\n{text}"));
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "NaaccrData");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://naaccr.org/naaccrxml")
    );
    let numbers = [
        ("recordType", "10"),
        ("naaccrRecordVersion", "50"),
        ("patientIdNumber", "20"),
        ("sex", "220"),
        ("dateOfBirth", "240"),
        ("vitalStatus", "1760"),
        ("tumorRecordNumber", "60"),
        ("addrAtDxState", "80"),
        ("addrAtDxPostalCode", "100"),
        ("ageAtDiagnosis", "230"),
        ("dateOfDiagnosis", "390"),
        ("primarySite", "400"),
        ("histologicTypeIcdO3", "522"),
        ("behaviorCodeIcdO3", "523"),
        ("ajccTnmClinStageGroup", "1004"),
        ("rxDateSurgery", "1200"),
        ("rxDateSystemic", "3230"),
    ];
    let items: Vec<roxmltree::Node> = doc
        .descendants()
        .filter(|n| n.has_tag_name("Item"))
        .collect();
    for (id, num) in numbers {
        let item = items
            .iter()
            .find(|n| n.attribute("naaccrId") == Some(id))
            .unwrap_or_else(|| panic!("no item {id}"));
        assert_eq!(item.attribute("naaccrNum"), Some(num), "{id}");
    }
    for item in &items {
        let id = item.attribute("naaccrId").unwrap();
        if let Some((_, num)) = numbers.iter().find(|(i, _)| *i == id) {
            assert_eq!(item.attribute("naaccrNum"), Some(*num), "{id}");
        }
    }
    let patients: Vec<roxmltree::Node> = root
        .children()
        .filter(|n| n.has_tag_name("Patient"))
        .collect();
    assert_eq!(patients.len(), 2);
    let value = |node: &roxmltree::Node, id: &str| {
        node.descendants()
            .find(|n| n.attribute("naaccrId") == Some(id))
            .and_then(|n| n.text())
            .map(str::to_string)
    };
    let ca1 = patients
        .iter()
        .find(|p| value(p, "dateOfBirth").as_deref() == Some("19580808"))
        .expect("ca1");
    assert_eq!(value(ca1, "sex").as_deref(), Some("2"));
    assert_eq!(value(ca1, "primarySite").as_deref(), Some("C509"));
    assert_eq!(value(ca1, "histologicTypeIcdO3").as_deref(), Some("8500"));
    assert_eq!(value(ca1, "behaviorCodeIcdO3").as_deref(), Some("3"));
    assert_eq!(value(ca1, "dateOfDiagnosis").as_deref(), Some("20240310"));
    assert_eq!(value(ca1, "ajccTnmClinStageGroup").as_deref(), Some("IIA"));
    assert_eq!(value(ca1, "rxDateSurgery").as_deref(), Some("20240401"));
    assert_eq!(value(ca1, "rxDateSystemic").as_deref(), Some("20240501"));
    assert_eq!(value(ca1, "ageAtDiagnosis").as_deref(), Some("065"));
    let ca2 = patients
        .iter()
        .find(|p| value(p, "dateOfBirth").as_deref() == Some("19700202"))
        .expect("ca2");
    assert_eq!(
        value(ca2, "behaviorCodeIcdO3").as_deref(),
        Some("2"),
        "from the linked Observation"
    );
    assert_eq!(
        value(ca2, "primarySite"),
        None,
        "D05 has no derivable topography"
    );

    // bad input: OperationOutcome, not a half-written body
    for (query, status) in [
        ("registry=diabetes&_format=naaccr-xml", 400),
        ("registry=dental", 404),
        ("_format=csv", 400),
        ("registry=cancer&period-start=2024-13-01", 400),
        ("registry=cancer&deidentify=maybe", 400),
        ("registry=cancer&period-start=2025&period-end=2024", 400),
    ] {
        let (got, body) = extract(&app, query, None);
        assert_eq!(got, status, "{query}: {body}");
        assert_eq!(
            serde_json::from_str::<Value>(&body).unwrap()["resourceType"],
            "OperationOutcome"
        );
    }
}
on_both_backends!(every_format_parses);

fn safe_harbor_leaves_no_identifier(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    for format in ["bundle", "ndjson", "csv"] {
        let (status, text) = extract(
            &app,
            &format!("registry=diabetes&_format={format}&deidentify=safe-harbor"),
            None,
        );
        assert_eq!(status, 200, "{text}");
        for planted in PLANTED {
            assert!(
                !text.contains(planted),
                "{format}: '{planted}' survived:\n{text}"
            );
        }
        assert!(text.contains("1961"), "{format}: the birth year stays");
        assert!(text.contains("E11.65"), "{format}: the codes stay");
    }
    let (_, text) = extract(
        &app,
        "registry=cancer&_format=naaccr-xml&deidentify=safe-harbor",
        None,
    );
    roxmltree::Document::parse(&text).unwrap();
    for planted in ["ca1", "ca2", "19580808", "20240310", "02139"] {
        assert!(
            !text.contains(planted),
            "naaccr: '{planted}' survived:\n{text}"
        );
    }
    assert!(text.contains(">2024<") && text.contains(">021<"), "{text}");
    // ages up to 89 survive Safe Harbor (ca1 was 65 at diagnosis); ca-old (born 1940,
    // diagnosed 2019 at 79) too
    assert!(text.contains(r#"naaccrNum="230">065<"#), "{text}");
    assert!(text.contains(r#"naaccrNum="230">079<"#), "{text}");
    // limited data set: dates and city/ZIP stay, direct identifiers go
    let (_, text) = extract(
        &app,
        "registry=diabetes&_format=ndjson&deidentify=limited",
        None,
    );
    assert!(
        text.contains("1961-03-14") && text.contains("02139-4307") && text.contains("Cambridge")
    );
    for planted in [
        "Zebulon",
        "Quixworth",
        "MRN-55501234",
        "078-05-1120",
        "617-555-0142",
        "Wallaby",
        "zebulon.q@example.com",
        "10.20.30.40",
    ] {
        assert!(!text.contains(planted), "limited: '{planted}' survived");
    }
}
on_both_backends!(safe_harbor_leaves_no_identifier);

fn pseudonyms_are_stable_and_per_registry(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    let ids = |query: &str| {
        let (status, text) = extract(&app, query, None);
        assert_eq!(status, 200, "{text}");
        patient_ids(&ndjson(&text))
    };
    let first = ids("registry=diabetes&_format=ndjson&deidentify=safe-harbor");
    let second = ids("registry=diabetes&_format=ndjson&deidentify=safe-harbor");
    assert_eq!(first.len(), 5);
    assert_eq!(first, second, "same registry, same pseudonyms");
    let hypertension = ids("registry=hypertension&_format=ndjson&deidentify=safe-harbor");
    assert_eq!(hypertension.len(), 3);
    assert!(
        first.is_disjoint(&hypertension),
        "'both' has unrelated pseudonyms in the two registries"
    );
    // references follow: every Condition's subject is one of the pseudonymous Patients
    let (_, text) = extract(
        &app,
        "registry=diabetes&_format=ndjson&deidentify=safe-harbor",
        None,
    );
    for r in ndjson(&text)
        .iter()
        .filter(|r| r["resourceType"] == "Condition")
    {
        let subject = r["subject"]["reference"]
            .as_str()
            .unwrap()
            .trim_start_matches("Patient/");
        assert!(first.contains(subject), "{subject}");
    }
    // no secret, no pseudonyms: refused
    let unkeyed = spawn_with(backend, |_| {});
    let (status, body) = extract(&unkeyed, "registry=diabetes&deidentify=safe-harbor", None);
    assert_eq!(status, 503, "{body}");
}
on_both_backends!(pseudonyms_are_stable_and_per_registry);

fn accounting(app: &TestApp, patient: &str, bearer: Option<&str>) -> Vec<Value> {
    let request = authed(app.get(&format!("Patient/{patient}/$disclosures")), bearer);
    let (status, bundle) = parts(request.send().unwrap());
    assert_eq!(status, 200, "{bundle}");
    crate::helpers::entry_resources(&bundle)
}

fn extracts_are_disclosures(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    // a failed extract records nothing
    let (status, _) = extract(&app, "registry=diabetes&_format=naaccr-xml", None);
    assert_eq!(status, 400);
    assert!(accounting(&app, "dm1", None).is_empty());
    let (status, _) = extract(
        &app,
        "registry=diabetes&deidentify=safe-harbor&recipient=Commonwealth%20Diabetes%20Registry",
        None,
    );
    assert_eq!(status, 200);
    let events = accounting(&app, "dm1", None);
    assert_eq!(events.len(), 1, "{events:?}");
    let event = events[0].to_string();
    assert!(event.contains("PUBHLTH"), "{event}");
    assert!(event.contains("Commonwealth Diabetes Registry"), "{event}");
    for sent in [
        "Condition/dm1-a",
        "Condition/dm1-b",
        "Observation/dm1-o1",
        "MedicationRequest/dm1-m1",
    ] {
        assert!(
            event.contains(sent),
            "{sent} not in the accounting: {event}"
        );
    }
    assert!(!event.contains("MedicationRequest/dm1-m2"), "{event}");
    assert!(
        accounting(&app, "htn1", None).is_empty(),
        "htn1 was not sent"
    );
    assert!(accounting(&app, "dm-refuted", None).is_empty());
    // a second submission is a second disclosure, to the registry's default recipient
    extract(&app, "registry=hypertension", None);
    let events = accounting(&app, "both", None);
    assert_eq!(events.len(), 2);
    assert!(events
        .iter()
        .any(|e| e.to_string().contains("Regional hypertension registry")));
    // the chain still verifies
    let (status, report) = parts(app.get("$audit-verify").send().unwrap());
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["parameter"][1]["valueBoolean"], true, "{report}");
}
on_both_backends!(extracts_are_disclosures);

fn sealed_records_and_scopes(backend: Backend) {
    let app = app(backend, true);
    let admin = token("user/*.cruds", None, &["*"]);
    seed(&app, Some(&admin));
    let ids = |bearer: &str| {
        let (status, text) = extract(
            &app,
            "registry=diabetes&_format=ndjson&deidentify=none",
            Some(bearer),
        );
        assert_eq!(status, 200, "{text}");
        patient_ids(&ndjson(&text))
    };
    let reader = token("system/*.rs", None, &[]);
    assert_eq!(
        ids(&reader),
        set(&["both", "dm-resolved", "dm1", "dm2"]),
        "the PSY-sealed diagnosis stays out"
    );
    let cleared = token("system/*.rs", None, &["PSY"]);
    assert!(ids(&cleared).contains("sealed"));
    assert!(
        accounting(&app, "sealed", Some(&admin)).len() == 1,
        "only the cleared extract disclosed it"
    );
    for (scope, patient) in [
        ("system/Patient.rs", None),
        ("patient/*.rs", Some("dm1")),
        ("user/Observation.rs", None),
    ] {
        let (status, body) = extract(
            &app,
            "registry=diabetes",
            Some(&token(scope, patient, &["*"])),
        );
        assert_eq!(status, 403, "{scope}: {body}");
    }
    let (status, _) = extract(&app, "registry=diabetes", None);
    assert_eq!(status, 401);
}
on_both_backends!(sealed_records_and_scopes);

fn cli_report_registry(backend: Backend) {
    let app = app(backend, false);
    seed(&app, None);
    let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("registry-{}.csv", uuid::Uuid::new_v4().simple()));
    let run = |format: &str| {
        std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
            .args([
                "report",
                "registry",
                "--name",
                "diabetes",
                "--deidentify",
                "safe-harbor",
            ])
            .args(["--format", format, "--out"])
            .arg(&out)
            .env("CHARTROOM_DATABASE_URL", &app.database_url)
            .env("CHARTROOM_REGISTRY_SECRET", "registry-pseudonym-secret")
            .env("CHARTROOM_LOG", "warn")
            .env_remove("CHARTROOM_CONFIG")
            .output()
            .unwrap()
    };
    let done = run("csv");
    assert!(
        done.status.success(),
        "{}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert!(String::from_utf8_lossy(&done.stdout).contains("4 patient(s)"));
    let csv = std::fs::read_to_string(&out).unwrap();
    let cli_ids: BTreeSet<String> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap().to_string())
        .collect();
    // the same pseudonyms as the HTTP extract (same secret, same registry); the sealed
    // patient stays out without --clearances
    let (_, text) = extract(
        &app,
        "registry=diabetes&_format=ndjson&deidentify=safe-harbor",
        None,
    );
    let http_ids = patient_ids(&ndjson(&text));
    assert_eq!(cli_ids.len(), 4);
    assert!(cli_ids.is_subset(&http_ids), "{cli_ids:?} {http_ids:?}");
    for planted in PLANTED {
        assert!(
            !csv.contains(planted),
            "{planted} survived in the CLI extract"
        );
    }
    let events = accounting(&app, "dm1", None);
    assert_eq!(events.len(), 2, "one disclosure per run");
    assert!(events
        .iter()
        .any(|e| e.to_string().contains("chartroom-cli")));
    // a refused extract leaves no file and records nothing
    std::fs::remove_file(&out).unwrap();
    let refused = run("naaccr-xml");
    assert!(!refused.status.success());
    assert!(!out.exists());
    assert_eq!(accounting(&app, "dm1", None).len(), 2);
}
on_both_backends!(cli_report_registry);

const CDC: &str = "urn:oid:2.16.840.1.113883.6.238";

/// A cancer patient with US Core race/ethnicity (Synthea's shape: ombCategory, detailed,
/// text) and an address district.
fn cancer_patient(
    id: &str,
    birth: &str,
    race: &[(&str, &str)],
    ethnicity: &[(&str, &str)],
    district: &str,
) -> Vec<Value> {
    let extension = |url: &str, parts: &[(&str, &str)]| {
        let mut items: Vec<Value> = parts
            .iter()
            .map(|(part, code)| json!({"url": part, "valueCoding": {"system": CDC, "code": code, "display": "x"}}))
            .collect();
        items.push(json!({"url": "text", "valueString": "as stated"}));
        json!({"url": url, "extension": items})
    };
    let mut p = patient(id, "female", birth);
    p["address"][0]["district"] = json!(district);
    p["extension"] = json!([
        extension(
            "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race",
            race
        ),
        extension(
            "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity",
            ethnicity
        )
    ]);
    vec![
        p,
        condition(&format!("{id}-a"), id, "C50.911", "2024-03-10"),
    ]
}

fn naaccr_race_ethnicity_and_county(backend: Backend) {
    let app = app(backend, false);
    let mut resources = Vec::new();
    // white and black, Puerto Rican, FIPS county 017
    resources.extend(cancer_patient(
        "r-mixed",
        "1951-01-01",
        &[("ombCategory", "2106-3"), ("ombCategory", "2054-5")],
        &[("ombCategory", "2135-2"), ("detailed", "2180-8")],
        "017",
    ));
    // Asian, detailed Vietnamese; not Hispanic; a county name, not a code
    resources.extend(cancer_patient(
        "r-asian",
        "1952-01-01",
        &[("ombCategory", "2028-9"), ("detailed", "2047-9")],
        &[("ombCategory", "2186-5")],
        "Suffolk",
    ));
    // Hispanic without detail, no race; a 5-digit state+county code
    resources.extend(cancer_patient(
        "r-unknown",
        "1953-01-01",
        &[],
        &[("ombCategory", "2135-2")],
        "25025",
    ));
    put_all(&app, resources);
    let naaccr = |mode: &str| {
        let (status, text) = extract(
            &app,
            &format!("registry=cancer&_format=naaccr-xml&deidentify={mode}"),
            None,
        );
        assert_eq!(status, 200, "{text}");
        text
    };
    // per patient (found by birth year): naaccrId → value
    let items = |text: &str| -> Vec<(String, Vec<(String, String)>)> {
        let doc = roxmltree::Document::parse(text).unwrap();
        doc.root_element()
            .children()
            .filter(|n| n.has_tag_name("Patient"))
            .map(|p| {
                let items: Vec<(String, String)> = p
                    .descendants()
                    .filter(|n| n.has_tag_name("Item"))
                    .map(|n| {
                        (
                            format!(
                                "{}#{}",
                                n.attribute("naaccrId").unwrap(),
                                n.attribute("naaccrNum").unwrap()
                            ),
                            n.text().unwrap_or("").to_string(),
                        )
                    })
                    .collect();
                let birth = items
                    .iter()
                    .find(|(k, _)| k == "dateOfBirth#240")
                    .map(|(_, v)| v[..4].to_string())
                    .unwrap_or_default();
                (birth, items)
            })
            .collect()
    };
    let get = |all: &[(String, Vec<(String, String)>)], year: &str, item: &str| {
        all.iter()
            .find(|(b, _)| b == year)
            .unwrap_or_else(|| panic!("no patient born {year}"))
            .1
            .iter()
            .find(|(k, _)| k == item)
            .map(|(_, v)| v.clone())
    };
    let expected = [
        ("1951", ["02", "01", "88", "88", "88"], "2", "017"),
        ("1952", ["10", "88", "88", "88", "88"], "0", "999"),
        ("1953", ["99", "99", "99", "99", "99"], "6", "025"),
    ];
    for mode in ["none", "limited", "safe-harbor"] {
        let all = items(&naaccr(mode));
        assert_eq!(all.len(), 3, "{mode}");
        for (year, races, origin, county) in &expected {
            for (i, race) in races.iter().enumerate() {
                let item = format!("race{}#{}", i + 1, 160 + i);
                assert_eq!(
                    get(&all, year, &item).as_deref(),
                    Some(*race),
                    "{mode} {year} {item}"
                );
            }
            assert_eq!(
                get(&all, year, "spanishHispanicOrigin#190").as_deref(),
                Some(*origin),
                "{mode} {year}"
            );
            // county is a geographic subdivision smaller than a state: never under Safe Harbor
            let want = (mode != "safe-harbor").then(|| county.to_string());
            assert_eq!(
                get(&all, year, "countyAtDxReported#90"),
                want,
                "{mode} {year}"
            );
        }
    }
    assert!(!naaccr("safe-harbor").contains("naaccrNum=\"90\""));
}
on_both_backends!(naaccr_race_ethnicity_and_county);
