//! Table tests per datatype, spot checks on official examples, and the sweep
//! extracting every official example.

use serde_json::{json, Value};

use super::*;
use crate::fhir::fhirpath::Item;

fn entries_for<'e>(entries: &'e [IndexEntry], param: &str) -> Vec<&'e IndexValue> {
    entries
        .iter()
        .filter(|e| e.param == param)
        .map(|e| &e.value)
        .collect()
}

fn ms(text: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(text)
        .expect("rfc3339")
        .timestamp_millis()
}

#[test]
fn normalization() {
    assert_eq!(
        normalize_string("  Zoë   Ångström\tO'Brien "),
        "zoe angstrom o'brien"
    );
    assert_eq!(normalize_string("ÉCOLE"), "ecole");
    assert_eq!(normalize_string(""), "");
}

#[test]
fn date_ranges() {
    let cases = [
        ("2020", "2020-01-01T00:00:00Z", "2020-12-31T23:59:59.999Z"),
        (
            "2020-02",
            "2020-02-01T00:00:00Z",
            "2020-02-29T23:59:59.999Z",
        ),
        (
            "2020-12",
            "2020-12-01T00:00:00Z",
            "2020-12-31T23:59:59.999Z",
        ),
        (
            "1974-12-25",
            "1974-12-25T00:00:00Z",
            "1974-12-25T23:59:59.999Z",
        ),
        (
            "2020-01-01T10:00",
            "2020-01-01T10:00:00Z",
            "2020-01-01T10:00:59.999Z",
        ),
        (
            "2020-01-01T10:00:00",
            "2020-01-01T10:00:00Z",
            "2020-01-01T10:00:00.999Z",
        ),
        (
            "2020-01-01T10:00:00+02:00",
            "2020-01-01T08:00:00Z",
            "2020-01-01T08:00:00.999Z",
        ),
        (
            "2020-01-01T10:00:00.5Z",
            "2020-01-01T10:00:00.500Z",
            "2020-01-01T10:00:00.599Z",
        ),
        (
            "2020-01-01T10:00:00.123456-05:00",
            "2020-01-01T15:00:00.123Z",
            "2020-01-01T15:00:00.123Z",
        ),
    ];
    for (input, low, high) in cases {
        assert_eq!(date_range(input), Some((ms(low), ms(high))), "{input}");
    }
    for bad in [
        "",
        "20",
        "2020-13",
        "2020-02-30",
        "2020-01-01T",
        "2020-1-01",
        "abc",
        "2020-01T10:00",
    ] {
        assert_eq!(date_range(bad), None, "{bad}");
    }
}

#[test]
fn number_precision() {
    assert_eq!(precision_range("100"), Some((100.0, 99.5, 100.5)));
    let (v, lo, hi) = precision_range("1.5").expect("decimal");
    assert!((v - 1.5).abs() < 1e-12 && (lo - 1.45).abs() < 1e-12 && (hi - 1.55).abs() < 1e-12);
    let (_, lo, hi) = precision_range("1.0e2").expect("exponent");
    assert!((lo - 95.0).abs() < 1e-9 && (hi - 105.0).abs() < 1e-9);
    assert_eq!(precision_range("x"), None);
}

fn node(value: &Value) -> Item<'_> {
    Item::node(value)
}

#[test]
fn datatype_table() {
    let name = json!({"family": "Chalmers", "given": ["Peter", "Jämes"], "prefix": ["Mr"]});
    let strings = values(ParamKind::String, &[node(&name)]);
    let normalized: Vec<_> = strings
        .iter()
        .map(|v| match v {
            IndexValue::String { normalized, .. } => normalized.as_str(),
            _ => "",
        })
        .collect();
    assert_eq!(normalized, ["chalmers", "peter", "james", "mr"]);

    let address = json!({"line": ["1 Main St"], "city": "Springfield", "postalCode": "12345"});
    assert_eq!(values(ParamKind::String, &[node(&address)]).len(), 3);

    let concept = json!({"coding": [{"system": "http://loinc.org", "code": "29463-7", "display": "Body Weight"}], "text": "Weight"});
    let tokens = values(ParamKind::Token, &[node(&concept)]);
    assert_eq!(tokens.len(), 2);
    assert!(
        matches!(&tokens[1], IndexValue::Token { code: None, display: Some(d), .. } if d == "weight")
    );

    let identifier = json!({"system": "urn:oid:1", "value": "12345",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}});
    let tokens = values(ParamKind::Token, &[node(&identifier)]);
    assert!(
        matches!(&tokens[0], IndexValue::Token { code: Some(c), type_code: Some(t), .. } if c == "12345" && t == "MR")
    );

    let bare_identifier = json!({"value": "A-1"});
    assert!(
        matches!(&values(ParamKind::Token, &[node(&bare_identifier)])[..], [IndexValue::Token { code: Some(c), system: None, .. }] if c == "A-1")
    );
    let phone = json!({"system": "phone", "value": "555-1234", "use": "home"});
    assert!(
        matches!(&values(ParamKind::Token, &[node(&phone)])[..], [IndexValue::Token { code: Some(c), system: Some(s), .. }] if c == "555-1234" && s == "phone")
    );

    let boolean = json!(true);
    assert!(
        matches!(&values(ParamKind::Token, &[node(&boolean)])[0], IndexValue::Token { code: Some(c), .. } if c == "true")
    );

    let period = json!({"start": "2020-01-01"});
    assert_eq!(
        values(ParamKind::Date, &[node(&period)]),
        [IndexValue::Date {
            low: ms("2020-01-01T00:00:00Z"),
            high: i64::MAX
        }]
    );
    let timing = json!({"event": ["2020-01-02", "2020-01-05"]});
    assert_eq!(
        values(ParamKind::Date, &[node(&timing)]),
        [IndexValue::Date {
            low: ms("2020-01-02T00:00:00Z"),
            high: ms("2020-01-05T23:59:59.999Z")
        }]
    );

    let money = json!({"value": 10.5, "currency": "USD"});
    assert!(matches!(&values(ParamKind::Quantity, &[node(&money)])[0],
        IndexValue::Quantity { code: Some(c), system: Some(s), .. } if c == "USD" && s == "urn:iso:std:iso:4217"));

    let refs = [
        (
            json!({"reference": "Patient/1"}),
            Some("Patient"),
            Some("1"),
            None,
        ),
        (
            json!({"reference": "Patient/1/_history/2"}),
            Some("Patient"),
            Some("1"),
            None,
        ),
        (
            json!({"reference": "http://x.org/fhir/Patient/1"}),
            Some("Patient"),
            Some("1"),
            Some("http://x.org/fhir/Patient/1"),
        ),
        (
            json!({"reference": "urn:uuid:abc", "type": "Patient"}),
            Some("Patient"),
            None,
            Some("urn:uuid:abc"),
        ),
        (
            json!("http://hl7.org/fhir/ValueSet/x|4.0.1"),
            Some("ValueSet"),
            Some("x"),
            Some("http://hl7.org/fhir/ValueSet/x|4.0.1"),
        ),
    ];
    for (input, ty, id, url) in refs {
        let out = values(ParamKind::Reference, &[node(&input)]);
        let expected = IndexValue::Reference {
            target_type: ty.map(String::from),
            target_id: id.map(String::from),
            url: url.map(String::from),
            identifier_system: None,
            identifier_value: None,
        };
        assert_eq!(out, [expected], "{input}");
    }
    assert!(values(ParamKind::Reference, &[node(&json!({"reference": "#c1"}))]).is_empty());
}

#[test]
fn patient_and_observation_spot_checks() {
    let patient = json!({"resourceType": "Patient", "id": "x",
        "name": [{"family": "Chalmers", "given": ["Peter"]}], "birthDate": "1974-12-25",
        "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345"}],
        "meta": {"tag": [{"system": "http://s", "code": "t"}]}});
    let entries = extract(&patient).expect("extracts");
    assert!(entries_for(&entries, "family")
        .iter()
        .any(|v| matches!(v, IndexValue::String { normalized, .. } if normalized == "chalmers")));
    assert_eq!(
        entries_for(&entries, "birthdate"),
        [&IndexValue::Date {
            low: ms("1974-12-25T00:00:00Z"),
            high: ms("1974-12-25T23:59:59.999Z")
        }]
    );
    assert_eq!(entries_for(&entries, "identifier").len(), 1);
    assert_eq!(entries_for(&entries, "_tag").len(), 1);
    assert!(entries_for(&entries, "_id").is_empty());

    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/example"},
        "valueQuantity": {"value": 185, "unit": "lbs", "system": "http://unitsofmeasure.org", "code": "[lb_av]"}});
    let entries = extract(&obs).expect("extracts");
    assert!(entries_for(&entries, "code")
        .iter()
        .any(|v| matches!(v, IndexValue::Token { code: Some(c), .. } if c == "29463-7")));
    assert!(
        matches!(entries_for(&entries, "value-quantity")[..], [IndexValue::Quantity { value, .. }] if *value == 185.0)
    );
    assert!(
        matches!(entries_for(&entries, "patient")[..], [IndexValue::Reference { target_type: Some(t), .. }] if t == "Patient")
    );
    let composite: Vec<_> = entries
        .iter()
        .filter(|e| e.param == "code-value-quantity")
        .collect();
    assert_eq!(composite.len(), 2);
    assert_eq!(
        (composite[0].component, composite[1].component),
        (Some(0), Some(1))
    );
    assert!(composite[0].group.is_some() && composite[0].group == composite[1].group);
}

#[test]
fn rejects_resource_without_type() {
    assert!(matches!(
        extract(&json!({"id": "1"})),
        Err(IndexError::MissingResourceType)
    ));
}

#[test]
fn official_examples() {
    let Some(examples) = crate::fhir::fhirpath::test_examples() else {
        println!("FHIR_EXAMPLES_DIR unset or missing: skipping the official example sweep");
        return;
    };
    let mut total = 0;
    let mut errors = Vec::new();
    for resource in examples {
        match extract(resource) {
            Ok(entries) => total += entries.len(),
            Err(e) => errors.push(format!(
                "{:?}/{:?}: {e}",
                resource.get("resourceType"),
                resource.get("id")
            )),
        }
    }
    println!(
        "extracted {total} index entries from {} examples, {} errors",
        examples.len(),
        errors.len()
    );
    assert!(errors.is_empty(), "{errors:#?}");

    let dir = std::env::var("FHIR_EXAMPLES_DIR").unwrap_or_default();
    let read = |name: &str| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).ok()?).ok()
    };
    if let Some(patient) = read("Patient-example.json") {
        let entries = extract(&patient).expect("patient");
        assert!(entries_for(&entries, "family").iter().any(
            |v| matches!(v, IndexValue::String { normalized, .. } if normalized == "chalmers")
        ));
        assert_eq!(
            entries_for(&entries, "birthdate"),
            [&IndexValue::Date {
                low: ms("1974-12-25T00:00:00Z"),
                high: ms("1974-12-25T23:59:59.999Z")
            }]
        );
        assert!(entries_for(&entries, "identifier").iter().any(|v| matches!(v, IndexValue::Token { code: Some(c), type_code: Some(t), .. } if c == "12345" && t == "MR")));
        let started = std::time::Instant::now();
        for _ in 0..100 {
            let _ = extract(&patient);
        }
        println!(
            "Patient-example extraction: {:?} per resource",
            started.elapsed() / 100
        );
    }
    if let Some(obs) = read("Observation-example.json") {
        let entries = extract(&obs).expect("observation");
        assert!(entries_for(&entries, "code")
            .iter()
            .any(|v| matches!(v, IndexValue::Token { code: Some(c), .. } if c == "29463-7")));
        assert!(entries_for(&entries, "value-quantity").iter().any(|v| matches!(v, IndexValue::Quantity { value, unit: Some(u), .. } if *value == 185.0 && u == "lbs")));
        assert!(entries
            .iter()
            .any(|e| e.param == "code-value-quantity" && e.component == Some(1)));
    }
}
