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

/// `code` of each token value.
fn codes<'v>(values: impl IntoIterator<Item = &'v IndexValue>) -> Vec<&'v str> {
    values
        .into_iter()
        .filter_map(|v| match v {
            IndexValue::Token { code: Some(c), .. } => Some(c.as_str()),
            _ => None,
        })
        .collect()
}

/// `normalized` of each string value.
fn normalized<'v>(values: impl IntoIterator<Item = &'v IndexValue>) -> Vec<&'v str> {
    values
        .into_iter()
        .filter_map(|v| match v {
            IndexValue::String { normalized, .. } => Some(normalized.as_str()),
            _ => None,
        })
        .collect()
}

/// Build a token value.
fn token(system: Option<&str>, code: Option<&str>, display: Option<&str>) -> IndexValue {
    IndexValue::Token {
        system: system.map(String::from),
        code: code.map(String::from),
        display: display.map(String::from),
        type_system: None,
        type_code: None,
    }
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
    assert_eq!(normalized(&strings), ["chalmers", "peter", "james", "mr"]);

    let address = json!({"line": ["1 Main St"], "city": "Springfield", "postalCode": "12345"});
    assert_eq!(values(ParamKind::String, &[node(&address)]).len(), 3);

    let loinc = "http://loinc.org";
    let concept = json!({"coding": [{"system": loinc, "code": "29463-7", "display": "Body Weight"}],
        "text": "Weight"});
    assert_eq!(
        values(ParamKind::Token, &[node(&concept)]),
        [
            token(Some(loinc), Some("29463-7"), Some("body weight")),
            token(None, None, Some("weight"))
        ]
    );
    // a text that repeats a coding's display adds no display-only token
    let repeated = json!({"coding": [{"system": loinc, "code": "29463-7", "display": "Body Weight"}],
        "text": "Body weight"});
    assert_eq!(
        values(ParamKind::Token, &[node(&repeated)]),
        [token(Some(loinc), Some("29463-7"), Some("body weight"))]
    );

    let identifier = json!({"system": "urn:oid:1", "value": "12345",
        "type": {"coding": [
            {"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}});
    let tokens = values(ParamKind::Token, &[node(&identifier)]);
    let IndexValue::Token { type_code, .. } = &tokens[0] else {
        panic!("token expected")
    };
    assert_eq!(
        (codes(&tokens), type_code.as_deref()),
        (vec!["12345"], Some("MR"))
    );

    let bare_identifier = json!({"value": "A-1"});
    assert_eq!(
        values(ParamKind::Token, &[node(&bare_identifier)]),
        [token(None, Some("A-1"), None)]
    );
    let phone = json!({"system": "phone", "value": "555-1234", "use": "home"});
    assert_eq!(
        values(ParamKind::Token, &[node(&phone)]),
        [token(Some("phone"), Some("555-1234"), None)]
    );

    let boolean = json!(true);
    assert_eq!(
        codes(&values(ParamKind::Token, &[node(&boolean)])),
        ["true"]
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
    let quantities = values(ParamKind::Quantity, &[node(&money)]);
    let [IndexValue::Quantity { code, system, .. }] = &quantities[..] else {
        panic!("one quantity")
    };
    assert_eq!(code.as_deref(), Some("USD"));
    assert_eq!(system.as_deref(), Some("urn:iso:std:iso:4217"));

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
    let gender = json!({"resourceType": "Patient", "gender": "female"});
    let entries = extract(&gender).expect("extracts");
    let system = "http://hl7.org/fhir/administrative-gender";
    assert_eq!(
        entries_for(&entries, "gender"),
        [&token(Some(system), Some("female"), None)]
    );

    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "subject": {"reference": "Patient/example"},
        "valueQuantity": {"value": 185, "unit": "lbs",
            "system": "http://unitsofmeasure.org", "code": "[lb_av]"}});
    let entries = extract(&obs).expect("extracts");
    assert_eq!(codes(entries_for(&entries, "code")), ["29463-7"]);
    let quantity = entries_for(&entries, "value-quantity");
    assert!(matches!(quantity[..], [IndexValue::Quantity { value, .. }] if *value == 185.0));
    let patient = entries_for(&entries, "patient");
    let [IndexValue::Reference { target_type, .. }] = &patient[..] else {
        panic!("one reference")
    };
    assert_eq!(target_type.as_deref(), Some("Patient"));
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

    let dir = crate::fhir::test_examples_dir().unwrap_or_default();
    let read = |name: &str| -> Option<Value> {
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/{name}")).ok()?).ok()
    };
    if let Some(patient) = read("Patient-example.json") {
        let entries = extract(&patient).expect("patient");
        assert!(normalized(entries_for(&entries, "family")).contains(&"chalmers"));
        assert_eq!(
            entries_for(&entries, "birthdate"),
            [&IndexValue::Date {
                low: ms("1974-12-25T00:00:00Z"),
                high: ms("1974-12-25T23:59:59.999Z")
            }]
        );
        let identifiers = entries_for(&entries, "identifier");
        assert_eq!(codes(identifiers.iter().copied()), ["12345"]);
        assert!(
            matches!(identifiers[0], IndexValue::Token { type_code: Some(t), .. } if t == "MR")
        );
        let started = std::time::Instant::now();
        for _ in 0..100 {
            let _ = extract(&patient);
        }
        println!(
            "Patient-example extraction: {:?} per resource (this build profile)",
            started.elapsed() / 100
        );
    }
    if let Some(obs) = read("Observation-example.json") {
        let entries = extract(&obs).expect("observation");
        assert!(codes(entries_for(&entries, "code")).contains(&"29463-7"));
        let quantity = entries_for(&entries, "value-quantity");
        let [IndexValue::Quantity { value, unit, .. }] = quantity[..] else {
            panic!("one quantity")
        };
        assert_eq!((*value, unit.as_deref()), (185.0, Some("lbs")));
        assert!(entries
            .iter()
            .any(|e| e.param == "code-value-quantity" && e.component == Some(1)));
    }
}

#[test]
fn combo_parameters_are_served_from_the_rows_they_repeat() {
    let obs = json!({"resourceType": "Observation", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "55284-4"}]},
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                       "valueQuantity": {"value": 150, "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}]});
    let entries = extract(&obs).expect("extracts");
    assert!(entries.iter().all(|e| !e.param.starts_with("combo-")));
    assert_eq!(codes(entries_for(&entries, "code")), ["55284-4"]);
    assert_eq!(codes(entries_for(&entries, "component-code")), ["8480-6"]);
    // every combo-* parameter of R4 is covered, and its parts exist with its kind
    let registry = registry();
    for def in registry.params_for("Observation") {
        if !def.code.starts_with("combo-") {
            continue;
        }
        let parts = def.union_of().expect(&def.code);
        for part in parts {
            let other = registry.get("Observation", part).expect(part);
            assert_eq!(other.kind, def.kind, "{} / {part}", def.code);
        }
    }
}
