//! One valid and one invalid case per check, asserting the exact location reported.

use serde_json::{json, Value};

use super::{is_resource_type, resource_types, validate_resource, Severity};

pub(super) fn found(resource: Value) -> Vec<(&'static str, String)> {
    validate_resource(&resource)
        .into_iter()
        .map(|issue| (issue.code, issue.expression))
        .collect()
}

pub(super) fn assert_valid(resource: Value) {
    let issues = validate_resource(&resource);
    assert!(issues.is_empty(), "expected valid, got {issues:#?}");
}

pub(super) fn assert_issue(resource: Value, code: &str, expression: &str) {
    let issues = found(resource);
    assert_eq!(
        issues,
        vec![(code, expression.to_string())],
        "issues: {issues:?}"
    );
}

pub(super) fn patient(extra: Value) -> Value {
    let mut resource = json!({"resourceType": "Patient", "id": "p1"});
    if let (Some(target), Value::Object(fields)) = (resource.as_object_mut(), extra) {
        target.extend(fields);
    }
    resource
}

#[test]
fn resource_type_list() {
    assert_eq!(resource_types().len(), 146);
    assert!(is_resource_type("Patient") && is_resource_type("Bundle"));
    assert!(
        !is_resource_type("HumanName")
            && !is_resource_type("DomainResource")
            && !is_resource_type("patient")
    );
}

#[test]
fn root_must_be_a_known_resource() {
    assert_valid(json!({"resourceType": "Patient"}));
    assert_issue(json!([1]), "structure", "Resource");
    assert_issue(json!({"id": "x"}), "required", "Resource");
    assert_issue(json!({"resourceType": "Patient2"}), "invalid", "Resource");
    assert_issue(json!({"resourceType": 7}), "invalid", "Resource");
}

#[test]
fn unknown_elements_at_any_depth() {
    assert_valid(patient(
        json!({"name": [{"family": "Chalmers"}], "contact": [{"gender": "male"}]}),
    ));
    assert_issue(patient(json!({"foo": 1})), "structure", "Patient.foo");
    assert_issue(
        patient(json!({"name": [{"famly": "X"}]})),
        "structure",
        "Patient.name[0].famly",
    );
    assert_issue(
        patient(json!({"contact": [{"bogus": true}]})),
        "structure",
        "Patient.contact[0].bogus",
    );
    assert_issue(
        patient(json!({"name": [{"resourceType": "X"}]})),
        "structure",
        "Patient.name[0].resourceType",
    );
}

#[test]
fn element_ids_and_extensions() {
    let ext = json!([{"url": "http://example.org/x", "valueString": "y"}]);
    assert_valid(patient(json!({
        "extension": ext, "modifierExtension": ext,
        "name": [{"id": "n1", "extension": ext, "family": "X"}],
        "contact": [{"id": "c1", "modifierExtension": ext, "gender": "male"}],
    })));
    assert_issue(
        patient(json!({"name": [{"modifierExtension": ext}]})),
        "structure",
        "Patient.name[0].modifierExtension",
    );
    assert_issue(
        patient(json!({"name": [{"id": 5}]})),
        "structure",
        "Patient.name[0].id",
    );
}

#[test]
fn primitive_companions() {
    let ext = json!({"extension": [{"url": "http://example.org/x", "valueBoolean": true}]});
    assert_valid(patient(
        json!({"birthDate": "1974-12-25", "_birthDate": ext}),
    ));
    assert_valid(patient(json!({"_birthDate": ext})));
    assert_valid(patient(
        json!({"name": [{"given": ["A", null], "_given": [null, ext]}]}),
    ));
    assert_issue(
        patient(json!({"_birthDate": {"foo": 1}})),
        "structure",
        "Patient.birthDate.foo",
    );
    assert_issue(
        patient(json!({"_birthDate": "x"})),
        "structure",
        "Patient.birthDate",
    );
    assert_issue(
        patient(json!({"_name": [ext]})),
        "structure",
        "Patient._name",
    );
    let text = |extra: Value| {
        patient(json!({"text": {"status": "generated", "div": "<div>x</div>", "_div": extra}}))
    };
    assert_issue(text(ext.clone()), "structure", "Patient.text._div");
    assert_issue(
        patient(json!({"name": [{"given": ["A", null]}]})),
        "structure",
        "Patient.name[0].given[1]",
    );
    assert_issue(
        patient(json!({"name": [{"given": ["A", "B"], "_given": [ext]}]})),
        "structure",
        "Patient.name[0].given",
    );
}

#[test]
fn arrays_exactly_where_elements_repeat() {
    assert_valid(patient(
        json!({"name": [{"given": ["A"]}], "gender": "male"}),
    ));
    assert_issue(
        patient(json!({"gender": ["male"]})),
        "structure",
        "Patient.gender",
    );
    assert_issue(
        patient(json!({"name": {"family": "X"}})),
        "structure",
        "Patient.name",
    );
    assert_issue(
        patient(json!({"name": [{"given": "A"}]})),
        "structure",
        "Patient.name[0].given",
    );
}

#[test]
fn no_nulls_or_empties() {
    assert_valid(patient(json!({"name": [{"family": " ", "text": "a"}]})));
    assert_issue(
        patient(json!({"birthDate": null})),
        "structure",
        "Patient.birthDate",
    );
    assert_issue(
        patient(json!({"name": [{"family": ""}]})),
        "value",
        "Patient.name[0].family",
    );
    assert_issue(patient(json!({"name": []})), "structure", "Patient.name");
    assert_issue(
        patient(json!({"name": [{}]})),
        "structure",
        "Patient.name[0]",
    );
    assert_issue(
        patient(json!({"name": [null]})),
        "structure",
        "Patient.name[0]",
    );
    assert_issue(
        patient(json!({"_birthDate": {}})),
        "structure",
        "Patient.birthDate",
    );
}

#[test]
fn minimum_cardinality_when_parent_present() {
    assert_valid(
        json!({"resourceType": "Encounter", "status": "finished", "class": {"code": "IMP"}}),
    );
    assert_issue(
        json!({"resourceType": "Encounter", "class": {"code": "IMP"}}),
        "required",
        "Encounter.status",
    );
    let observation = |component: Value| json!({"resourceType": "Observation", "status": "final", "code": {"text": "bp"}, "component": [component]});
    assert_valid(observation(json!({"code": {"text": "systolic"}})));
    assert_issue(
        observation(json!({"valueString": "x"})),
        "required",
        "Observation.component[0].code",
    );
    assert_valid(patient(json!({"gender": "male"})));
    assert_issue(
        patient(json!({"link": [{"type": "seealso"}]})),
        "required",
        "Patient.link[0].other",
    );
}

#[test]
fn choice_types_allow_one_variant() {
    let ext = |value: Value| patient(json!({"extension": [value]}));
    assert_valid(ext(
        json!({"url": "http://example.org/x", "valueString": "a"}),
    ));
    assert_issue(
        ext(json!({"url": "u", "valueString": "a", "valueBoolean": true})),
        "structure",
        "Patient.extension[0].value.ofType(boolean)",
    );
    assert_issue(
        ext(json!({"valueString": "a"})),
        "required",
        "Patient.extension[0].url",
    );
    assert_issue(
        ext(json!({"url": "u", "valueFoo": "a"})),
        "structure",
        "Patient.extension[0].valueFoo",
    );
    assert_issue(
        patient(json!({"deceasedBoolean": false, "_deceasedDateTime": {"id": "x"}})),
        "structure",
        "Patient.deceased.ofType(dateTime)",
    );
}

#[test]
fn required_bindings() {
    assert_valid(patient(json!({"gender": "unknown"})));
    let issues = validate_resource(&patient(json!({"gender": "bogus"})));
    assert_eq!(issues.len(), 1);
    assert_eq!(
        (issues[0].code, issues[0].expression.as_str()),
        ("code-invalid", "Patient.gender")
    );
    assert_eq!(issues[0].severity, Severity::Error);
    assert!(
        issues[0].message.contains("male, female, other, unknown"),
        "{}",
        issues[0].message
    );
    assert_issue(
        json!({"resourceType": "Encounter", "status": "done", "class": {"code": "IMP"}}),
        "code-invalid",
        "Encounter.status",
    );
    assert_issue(
        json!({"resourceType": "Observation", "status": "ok", "code": {"text": "x"}}),
        "code-invalid",
        "Observation.status",
    );
    let condition = |code: &str| {
        json!({"resourceType": "Condition", "subject": {"reference": "Patient/1"}, "clinicalStatus": {"coding": [
            {"system": "http://example.org/local", "code": "whatever"},
            {"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": code}]}})
    };
    assert_valid(condition("active"));
    assert_issue(
        condition("cured"),
        "code-invalid",
        "Condition.clinicalStatus.coding[1].code",
    );
    // Extensible and preferred bindings are not enforced.
    assert_valid(patient(
        json!({"maritalStatus": {"coding": [{"system": "http://x.org", "code": "q"}]}, "language": "xx"}),
    ));
}

#[test]
fn nested_resources_use_their_own_type() {
    assert_valid(patient(
        json!({"contained": [{"resourceType": "Organization", "id": "o", "name": "X"}]}),
    ));
    assert_issue(
        patient(json!({"contained": [{"resourceType": "Organization", "gender": "male"}]})),
        "structure",
        "Patient.contained[0].gender",
    );
    assert_issue(
        patient(json!({"contained": [{"id": "o"}]})),
        "required",
        "Patient.contained[0]",
    );
    let bundle = |resource: Value| json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": resource}]});
    assert_valid(bundle(patient(json!({"gender": "male"}))));
    assert_issue(
        bundle(patient(json!({"gender": "bogus"}))),
        "code-invalid",
        "Bundle.entry[0].resource.gender",
    );
    assert_issue(
        bundle(json!({"resourceType": "Nope"})),
        "invalid",
        "Bundle.entry[0].resource",
    );
    let parameters = |resource: Value| json!({"resourceType": "Parameters", "parameter": [{"name": "r", "resource": resource}]});
    assert_valid(parameters(patient(json!({}))));
    assert_issue(
        parameters(patient(json!({"birthDate": "x"}))),
        "value",
        "Parameters.parameter[0].resource.birthDate",
    );
}

#[test]
fn hostile_nesting_is_reported_not_overflowed() {
    let mut extension = json!({"url": "u", "valueString": "x"});
    for _ in 0..200 {
        extension = json!({"url": "u", "extension": [extension]});
    }
    let issues = found(patient(json!({"extension": [extension]})));
    assert_eq!(issues.len(), 1);
    assert_eq!(issues[0].0, "structure");
}

#[test]
fn issue_list_is_capped() {
    let names: Vec<Value> = (0..1500).map(|_| json!({"famly": "X"})).collect();
    let issues = found(patient(json!({"name": names})));
    assert_eq!(issues.len(), 1001);
    assert_eq!(
        issues[999],
        ("structure", "Patient.name[999].famly".to_string())
    );
    assert_eq!(issues[1000].1, "Resource");
}

#[test]
fn typical_patient_is_fast() {
    let resource = json!({
        "resourceType": "Patient", "id": "example",
        "meta": {"versionId": "1", "lastUpdated": "2024-01-01T00:00:00Z"},
        "identifier": [{"use": "usual", "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345",
            "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
        "active": true,
        "name": [{"use": "official", "family": "Chalmers", "given": ["Peter", "James"]}],
        "telecom": [{"system": "phone", "value": "(03) 5555 6473", "use": "work", "rank": 1}],
        "gender": "male", "birthDate": "1974-12-25",
        "address": [{"use": "home", "line": ["534 Erewhon St"], "city": "PleasantVille", "postalCode": "3999"}],
        "managingOrganization": {"reference": "Organization/1"}
    });
    let start = std::time::Instant::now();
    assert_valid(resource.clone());
    println!(
        "first validation (loads the model unless another test did): {:?}",
        start.elapsed()
    );
    let rounds = 2000;
    let start = std::time::Instant::now();
    for _ in 0..rounds {
        std::hint::black_box(validate_resource(std::hint::black_box(&resource)));
    }
    println!(
        "validate typical Patient: {:?} per resource",
        start.elapsed() / rounds
    );
}
