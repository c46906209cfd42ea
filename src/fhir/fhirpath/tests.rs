//! FHIRPath unit tests and the conformance sweep over the official R4
//! search-parameter expressions and examples.

use once_cell::sync::Lazy;
use serde_json::{json, Value};

use super::*;

/// Official R4 examples from `FHIR_EXAMPLES_DIR` (`None` when unset/missing).
pub(crate) static EXAMPLES: Lazy<Option<Vec<Value>>> = Lazy::new(|| {
    let dir = crate::fhir::test_examples_dir().ok()?;
    let entries = std::fs::read_dir(&dir).ok()?;
    let mut out = Vec::new();
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("json") {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        if let Ok(value) = serde_json::from_str::<Value>(&text) {
            if value.get("resourceType").is_some() {
                out.push(value);
            }
        }
    }
    Some(out)
});

fn eval_strings(expr: &str, resource: &Value) -> Vec<String> {
    eval_str(expr, resource)
        .expect("evaluates")
        .iter()
        .map(|i| item_string(i).unwrap_or_else(|| format!("{i:?}")))
        .collect()
}

fn patient() -> Value {
    json!({
        "resourceType": "Patient", "id": "p1",
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]},
                 {"use": "usual", "given": ["Jim"]}],
        "birthDate": "1974-12-25",
        "_birthDate": {"extension": [
            {"url": "http://x/tod", "valueDateTime": "1974-12-25T14:35:45-05:00"}]},
        "deceasedBoolean": false,
        "managingOrganization": {"reference": "Organization/1"},
        "generalPractitioner": [{"reference": "http://example.org/fhir/Practitioner/7/_history/2"},
                                {"reference": "#c1"}],
        "contained": [{"resourceType": "Practitioner", "id": "c1"}],
        "telecom": [{"system": "phone", "value": "555"}, {"system": "email", "value": "a@b"}]
    })
}

#[test]
fn navigation_and_filters() {
    let p = patient();
    assert_eq!(
        eval_strings("Patient.name.given", &p),
        ["Peter", "James", "Jim"]
    );
    assert_eq!(
        eval_strings("name.where(use = 'official').family", &p),
        ["Chalmers"]
    );
    assert_eq!(
        eval_strings("Patient.telecom.where(system='email').value", &p),
        ["a@b"]
    );
    assert!(eval_strings("Observation.code", &p).is_empty());
    assert_eq!(eval_strings("Patient.name[1].given.first()", &p), ["Jim"]);
    assert_eq!(eval_strings("Patient.name.given.last()", &p), ["Jim"]);
    assert_eq!(eval_strings("Resource.id | DomainResource.id", &p), ["p1"]);
}

#[test]
fn choice_types_and_type_operators() {
    let obs = json!({"resourceType": "Observation",
        "valueQuantity": {"value": 185, "unit": "lbs"},
        "component": [{"valueString": "x"}, {"valueQuantity": {"value": 1}}]});
    assert_eq!(
        eval_strings("(Observation.value as Quantity).unit", &obs),
        ["lbs"]
    );
    assert!(eval_strings("(Observation.value as CodeableConcept)", &obs).is_empty());
    assert_eq!(
        eval_strings("Observation.component.value.ofType(string)", &obs),
        ["x"]
    );
    assert_eq!(
        eval_strings("Observation.value is Quantity", &obs),
        ["true"]
    );
    assert_eq!(
        eval_strings("Observation.value.as(Quantity).value", &obs),
        ["185"]
    );
    assert_eq!(
        eval_strings("Observation.component.value.as(Quantity).value", &obs),
        ["1"]
    );
}

#[test]
fn primitive_extensions_and_booleans() {
    let p = patient();
    assert_eq!(eval_strings("Patient.birthDate", &p), ["1974-12-25"]);
    assert_eq!(
        eval_strings("Patient.birthDate.extension('http://x/tod').value", &p),
        ["1974-12-25T14:35:45-05:00"]
    );
    assert_eq!(
        eval_strings(
            "Patient.deceased.exists() and Patient.deceased != false",
            &p
        ),
        ["false"]
    );
    assert_eq!(eval_strings("Patient.name.exists() and true", &p), ["true"]);
    // Different precision that overlaps: the comparison is empty.
    assert!(eval_strings("Patient.birthDate < @1974-12", &p).is_empty());
    // Element names ending like a type are not typed by their suffix.
    let cond =
        json!({"resourceType": "Condition", "reasonCode": [{"text": "x"}], "onsetString": "y"});
    assert!(eval_strings("Condition.children().ofType(code)", &cond).is_empty());
    assert_eq!(
        eval_strings("Condition.children().ofType(string)", &cond),
        ["y"]
    );
    assert_eq!(eval_strings("Patient.name.empty().not()", &p), ["true"]);
}

#[test]
fn declared_element_types() {
    let p = patient();
    let yes = [
        "Patient.name.first() is HumanName",
        "Patient.birthDate is date",
        "Patient.birthDate is FHIR.date",
        "Patient.telecom.first() is ContactPoint",
        "Patient.managingOrganization is Reference",
        "Patient.contained.first() is Practitioner",
        "Patient.contained.first() is DomainResource",
        "Patient.name.first().given.first() is string",
        "Patient.id is id",
    ];
    for expr in yes {
        assert_eq!(eval_strings(expr, &p), ["true"], "{expr}");
    }
    assert_eq!(eval_strings("Patient.birthDate is string", &p), ["false"]);
    let gender = json!({"resourceType": "Patient", "gender": "male"});
    let items = eval_str("Patient.gender", &gender).expect("evaluates");
    let [Item::Node(node)] = &items[..] else {
        panic!("one node")
    };
    assert_eq!(
        node.code_system("male"),
        Some("http://hl7.org/fhir/administrative-gender")
    );
    assert_eq!(node.code_system("nonsense"), None);
    let q = json!({"resourceType": "Questionnaire", "item": [{"linkId": "1",
        "item": [{"linkId": "1.1", "type": "string"}]}]});
    assert_eq!(eval_strings("Questionnaire.item.item.linkId", &q), ["1.1"]);
    assert_eq!(
        eval_strings("Questionnaire.item.item.first() is BackboneElement", &q),
        ["true"]
    );
    assert_eq!(
        eval_strings("Questionnaire.item.item.type.first() is code", &q),
        ["true"]
    );
    assert_eq!(
        eval_strings("Questionnaire.descendants().ofType(code).count()", &q),
        ["1"]
    );
}

#[test]
fn resolve_placeholders() {
    let p = patient();
    assert_eq!(
        eval_strings(
            "Patient.managingOrganization.where(resolve() is Organization).reference",
            &p
        ),
        ["Organization/1"]
    );
    assert!(eval_strings(
        "Patient.managingOrganization.where(resolve() is Patient)",
        &p
    )
    .is_empty());
    assert_eq!(
        eval_strings(
            "Patient.generalPractitioner.where(resolve() is Practitioner).count()",
            &p
        ),
        ["2"]
    );
    assert_eq!(
        eval_strings(
            "Patient.generalPractitioner.resolve().ofType(Practitioner).id",
            &p
        ),
        ["c1"]
    );
}

#[test]
fn operators_and_functions() {
    let p = patient();
    let cases = [
        ("1 + 2 * 3", "7"),
        ("(1 + 2) * 3", "9"),
        ("7 div 2", "3"),
        ("7 mod 2", "1"),
        ("'ab' & 'cd'", "abcd"),
        ("Patient.name.given.count()", "3"),
        ("Patient.name.given.distinct().count()", "3"),
        ("Patient.name.family.startsWith('Cha')", "true"),
        ("Patient.name.family.lower()", "chalmers"),
        ("Patient.name.family.upper()", "CHALMERS"),
        ("Patient.name.family.substring(1, 3)", "hal"),
        ("Patient.name.family.matches('^C.*s$')", "true"),
        ("Patient.name.family.replace('C', 'K')", "Khalmers"),
        ("Patient.name.family.length()", "8"),
        ("Patient.name.given.select($this.length()).first()", "5"),
        ("Patient.name.all(given.exists())", "true"),
        ("iif(Patient.active.exists(), 'y', 'n')", "n"),
        ("Patient.birthDate > @1970-01-01", "true"),
        ("Patient.birthDate < @1975-01", "true"),
        ("3 > 2 and 2 >= 2 and 1 < 2 and 1 <= 1", "true"),
        ("2 in (1 | 2 | 3)", "true"),
        ("(1 | 2) contains 5", "false"),
        ("true implies false", "false"),
        ("true xor false", "true"),
        ("5 'mg' = 5 'mg'", "true"),
        ("'Abc' ~ 'aBC'", "true"),
        ("Patient.children().count() > 5", "true"),
        ("Patient.descendants().where($this = 'Jim').count()", "1"),
        ("%resource.id", "p1"),
        ("-(3) + 1", "-2"),
        ("@2020-01-31 + 1 month", "2020-02-29"),
        ("@2020-03 - 1 'mo'", "2020-02"),
        ("@2020 + 2 years", "2022"),
        ("@2020-01-01T23:30:00Z + 45 minutes", "2020-01-02T00:15:00Z"),
        (
            "@2020-01-01T10:00:00.250+02:00 - 1 day",
            "2019-12-31T10:00:00.250+02:00",
        ),
        ("Patient.birthDate + 18 years", "1992-12-25"),
        ("(today() - 18 years) > @1900-01-01", "true"),
    ];
    for (expr, expected) in cases {
        assert_eq!(eval_strings(expr, &p), [expected], "{expr}");
    }
}

#[test]
fn syntax_errors_do_not_panic() {
    for bad in [
        "Patient.", "where(", "'open", "1 +", "a[1", "@", "%", "a..b", "((",
    ] {
        assert!(compile(bad).is_err(), "{bad}");
    }
    assert!(matches!(
        eval_str("Patient.foo()", &patient()),
        Err(FhirPathError::Unsupported(_))
    ));
}

/// Every expression of the R4 definitions compiles, and evaluates without
/// error against every official example of its base type.
#[test]
fn all_definitions_against_official_examples() {
    let registry = crate::fhir::search_params::registry();
    let mut expressions = 0;
    let mut failures = Vec::new();
    for def in registry.all() {
        for source in def
            .expression
            .iter()
            .chain(def.components.iter().map(|c| &c.expression))
        {
            expressions += 1;
            if let Err(e) = compile(source) {
                failures.push(format!("{}: {e}", source));
            }
        }
    }
    println!(
        "compiled {expressions} expressions, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{failures:#?}");
    let Some(examples) = EXAMPLES.as_ref() else {
        println!("FHIR_EXAMPLES_DIR unset or missing: skipping the example sweep");
        return;
    };
    let (mut evaluations, mut items) = (0usize, 0usize);
    for resource in examples {
        let Some(rt) = resource.get("resourceType").and_then(Value::as_str) else {
            continue;
        };
        for def in registry.params_for(rt) {
            let Some(expr) = def.compiled.as_ref() else {
                continue;
            };
            evaluations += 1;
            match evaluate(expr, resource) {
                Ok(found) => items += found.len(),
                Err(e) => failures.push(format!(
                    "{} on {rt}/{:?}: {e}",
                    def.code,
                    resource.get("id")
                )),
            }
        }
    }
    println!(
        "{} examples, {evaluations} evaluations, {items} items, {} errors, 0 unsupported",
        examples.len(),
        failures.len()
    );
    assert!(
        failures.is_empty(),
        "{:#?}",
        &failures[..failures.len().min(20)]
    );
}
