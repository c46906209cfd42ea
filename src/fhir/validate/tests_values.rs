//! Primitive values: JSON types, integer ranges and the official formats, one valid
//! and one invalid case each with the exact location reported.

use serde_json::{json, Value};

use super::tests::{assert_issue, assert_valid, patient};

#[test]
fn json_types_of_primitives() {
    assert_valid(patient(
        json!({"active": true, "multipleBirthInteger": 2, "photo": [{"size": 0}]}),
    ));
    assert_issue(
        patient(json!({"active": "true"})),
        "structure",
        "Patient.active",
    );
    assert_issue(
        patient(json!({"birthDate": 1974})),
        "structure",
        "Patient.birthDate",
    );
    assert_issue(
        patient(json!({"multipleBirthInteger": "2"})),
        "structure",
        "Patient.multipleBirth.ofType(integer)",
    );
    let number = |text: &str| serde_json::from_str::<Value>(text).expect("number");
    assert_issue(
        patient(json!({"multipleBirthInteger": number("2.0")})),
        "value",
        "Patient.multipleBirth.ofType(integer)",
    );
    assert_issue(
        patient(json!({"multipleBirthInteger": number("2147483648")})),
        "value",
        "Patient.multipleBirth.ofType(integer)",
    );
    assert_issue(
        patient(json!({"photo": [{"size": -1}]})),
        "value",
        "Patient.photo[0].size",
    );
    let observation = |value: Value| json!({"resourceType": "Observation", "status": "final", "code": {"text": "x"}, "valueQuantity": {"value": value}});
    assert_valid(observation(number("1.50e3")));
    assert_issue(
        observation(json!("1.5")),
        "structure",
        "Observation.value.ofType(Quantity).value",
    );
    let frequency = |n: i64| {
        json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order", "subject": {"reference": "Patient/1"},
            "medicationCodeableConcept": {"text": "x"}, "dosageInstruction": [{"timing": {"repeat": {"frequency": n}}}]})
    };
    assert_valid(frequency(1));
    assert_issue(
        frequency(0),
        "value",
        "MedicationRequest.dosageInstruction[0].timing.repeat.frequency",
    );
}

#[test]
fn date_and_time_formats() {
    assert_valid(patient(json!({"birthDate": "1974"})));
    assert_valid(patient(
        json!({"birthDate": "2000-02-29", "deceasedDateTime": "2020-01-01T10:00:00.123+01:00"}),
    ));
    assert_issue(
        patient(json!({"birthDate": "25/12/1974"})),
        "value",
        "Patient.birthDate",
    );
    assert_issue(
        patient(json!({"birthDate": "1974-02-30"})),
        "value",
        "Patient.birthDate",
    );
    assert_issue(
        patient(json!({"deceasedDateTime": "2020-01-01T10:00"})),
        "value",
        "Patient.deceased.ofType(dateTime)",
    );
    let meta = |instant: &str| patient(json!({"meta": {"lastUpdated": instant}}));
    assert_valid(meta("2020-01-01T10:00:00Z"));
    assert_issue(meta("2020-01-01"), "value", "Patient.meta.lastUpdated");
    let time =
        |t: &str| patient(json!({"extension": [{"url": "http://example.org/t", "valueTime": t}]}));
    assert_valid(time("23:59:60"));
    assert_issue(
        time("24:00:00"),
        "value",
        "Patient.extension[0].value.ofType(time)",
    );
}

#[test]
fn string_formats() {
    let ext = |value: Value| {
        patient(json!({"extension": [{"url": "http://example.org/x", "valueUri": "x"}, value]}))
    };
    assert_valid(ext(
        json!({"url": "http://example.org/o", "valueOid": "urn:oid:1.2.840"}),
    ));
    assert_issue(
        ext(json!({"url": "u", "valueOid": "1.2.840"})),
        "value",
        "Patient.extension[1].value.ofType(oid)",
    );
    assert_valid(ext(
        json!({"url": "u", "valueUuid": "urn:uuid:c757873d-ec9a-4326-a141-556f43239520"}),
    ));
    assert_issue(
        ext(json!({"url": "u", "valueUuid": "urn:uuid:C757873D"})),
        "value",
        "Patient.extension[1].value.ofType(uuid)",
    );
    assert_valid(ext(json!({"url": "u", "valueBase64Binary": "aGk/Pz8+"})));
    assert_issue(
        ext(json!({"url": "u", "valueBase64Binary": "a!"})),
        "value",
        "Patient.extension[1].value.ofType(base64Binary)",
    );
    assert_valid(ext(json!({"url": "u", "valueMarkdown": "**x**\n"})));
    assert_valid(patient(
        json!({"name": [{"family": "Ça\u{a0}va\u{2003}", "text": "  "}]}),
    ));
    assert_issue(
        patient(json!({"name": [{"family": "a\u{b}b"}]})),
        "value",
        "Patient.name[0].family",
    );
    assert_issue(
        ext(json!({"url": "u", "valueMarkdown": ""})),
        "value",
        "Patient.extension[1].value.ofType(markdown)",
    );
    assert_issue(
        ext(json!({"url": "u", "valueCode": "a  b"})),
        "value",
        "Patient.extension[1].value.ofType(code)",
    );
    assert_issue(
        ext(json!({"url": "a b", "valueCode": "ab"})),
        "value",
        "Patient.extension[1].url",
    );
    assert_valid(patient(
        json!({"id": "a-B.9", "meta": {"profile": ["http://x.org/p|1"]}, "photo": [{"url": "http://x.org/a"}]}),
    ));
    assert_issue(patient(json!({"id": "a_b"})), "value", "Patient.id");
    assert_issue(
        patient(json!({"id": "a".repeat(65)})),
        "value",
        "Patient.id",
    );
    assert_issue(
        patient(json!({"meta": {"profile": ["http://x.org/ p"]}})),
        "value",
        "Patient.meta.profile[0]",
    );
    assert_issue(
        patient(json!({"photo": [{"url": "http://x.org/ a"}]})),
        "value",
        "Patient.photo[0].url",
    );
    assert_issue(
        patient(json!({"identifier": [{"system": " http://x"}]})),
        "value",
        "Patient.identifier[0].system",
    );
}
