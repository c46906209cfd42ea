//! Token `:in` / `:not-in`: implicit ICD-10-CM/PCS value sets and stored ValueSets
//! (concept lists, whole systems, excludes, nested value sets, expansions, ICD is-a filters).

use crate::both;
use crate::helpers::{match_ids as ids, parts, put_all, TestApp};
use serde_json::{json, Value};

const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
const SCT: &str = "http://snomed.info/sct";

fn condition(id: &str, system: &str, code: &str) -> Value {
    json!({"resourceType": "Condition", "id": id, "subject": {"reference": "Patient/p1"},
           "code": {"coding": [{"system": system, "code": code}]}})
}

fn seed(app: &TestApp) {
    let resources = vec![
        json!({"resourceType": "Patient", "id": "p1", "gender": "female"}),
        json!({"resourceType": "Patient", "id": "p2", "gender": "male"}),
        condition("t2dm", CM, "E11.65"),
        condition("t1dm", CM, "E10.9"),
        condition("htn", CM, "I10"),
        condition("colon", CM, "C18.9"),
        condition("melanoma", CM, "D03.9"),
        condition("asthma", SCT, "195967001"),
        condition("copd", SCT, "13645005"),
        json!({"resourceType": "Procedure", "id": "appendectomy", "status": "completed",
               "subject": {"reference": "Patient/p2"},
               "code": {"coding": [{"system": PCS, "code": "0DTJ4ZZ"}]}}),
        json!({"resourceType": "Procedure", "id": "cabg", "status": "completed",
               "subject": {"reference": "Patient/p2"},
               "code": {"coding": [{"system": PCS, "code": "021009W"}]}}),
        json!({"resourceType": "ValueSet", "id": "lung", "status": "active",
               "url": "http://example.org/fhir/ValueSet/lung",
               "compose": {"include": [{"system": SCT, "concept": [{"code": "195967001"}, {"code": "13645005"}]}],
                           "exclude": [{"system": SCT, "concept": [{"code": "13645005"}]}]}}),
        json!({"resourceType": "ValueSet", "id": "metabolic", "status": "active",
               "url": "http://example.org/fhir/ValueSet/metabolic",
               "compose": {"include": [
                   {"system": CM, "filter": [{"property": "concept", "op": "is-a", "value": "E11"}]},
                   {"valueSet": ["http://example.org/fhir/ValueSet/lung"]}]}}),
        json!({"resourceType": "ValueSet", "id": "expanded", "status": "active",
               "url": "http://example.org/fhir/ValueSet/expanded",
               "expansion": {"timestamp": "2026-01-01T00:00:00Z",
                             "contains": [{"system": CM, "code": "I10"}, {"system": SCT, "code": "13645005"}]}}),
        json!({"resourceType": "ValueSet", "id": "all-snomed", "status": "active",
               "url": "http://example.org/fhir/ValueSet/all-snomed",
               "compose": {"include": [{"system": SCT}]}}),
    ];
    put_all(app, resources);
}

fn enc(url: &str) -> String {
    url::form_urlencoded::byte_serialize(url.as_bytes()).collect()
}

both!(implicit_icd_value_sets, |app| {
    seed(&app);
    let isa = enc(&format!("{CM}?fhir_vs=isa/E11"));
    assert_eq!(ids(&app, &format!("Condition?code:in={isa}")), ["t2dm"]);
    let range = enc(&format!("{CM}?fhir_vs=range/C00-D49"));
    assert_eq!(
        ids(&app, &format!("Condition?code:in={range}")),
        ["colon", "melanoma"]
    );
    let list = enc(&format!("{CM}?fhir_vs=range/E10\\,I10"));
    assert_eq!(
        ids(&app, &format!("Condition?code:in={list}")),
        ["htn", "t1dm"]
    );
    let all = enc(&format!("{CM}?fhir_vs"));
    assert_eq!(ids(&app, &format!("Condition?code:in={all}")).len(), 5);
    // :not-in keeps every Condition with no code in the set
    assert_eq!(
        ids(&app, &format!("Condition?code:not-in={all}")),
        ["asthma", "copd"]
    );
    // OR of two sets
    assert_eq!(
        ids(&app, &format!("Condition?code:in={isa},{range}")),
        ["colon", "melanoma", "t2dm"]
    );
    let pcs = enc(&format!("{PCS}?fhir_vs=isa/0DT"));
    assert_eq!(
        ids(&app, &format!("Procedure?code:in={pcs}")),
        ["appendectomy"]
    );
    // through a reverse chain: patients with a neoplasm
    assert_eq!(
        ids(
            &app,
            &format!("Patient?_has:Condition:subject:code:in={range}")
        ),
        ["p1"]
    );
});

both!(stored_value_sets, |app| {
    seed(&app);
    let lung = enc("http://example.org/fhir/ValueSet/lung");
    // include minus exclude
    assert_eq!(ids(&app, &format!("Condition?code:in={lung}")), ["asthma"]);
    // a version suffix is accepted
    assert_eq!(
        ids(&app, &format!("Condition?code:in={lung}%7C1.0")),
        ["asthma"]
    );
    // is-a filter on ICD-10-CM plus a nested value set
    let metabolic = enc("http://example.org/fhir/ValueSet/metabolic");
    assert_eq!(
        ids(&app, &format!("Condition?code:in={metabolic}")),
        ["asthma", "t2dm"]
    );
    assert_eq!(
        ids(&app, &format!("Condition?code:not-in={metabolic}")),
        ["colon", "copd", "htn", "melanoma", "t1dm"]
    );
    // a stored expansion
    let expanded = enc("http://example.org/fhir/ValueSet/expanded");
    assert_eq!(
        ids(&app, &format!("Condition?code:in={expanded}")),
        ["copd", "htn"]
    );
    // a whole code system
    let all_snomed = enc("http://example.org/fhir/ValueSet/all-snomed");
    assert_eq!(
        ids(&app, &format!("Condition?code:in={all_snomed}")),
        ["asthma", "copd"]
    );
    // AND with another parameter
    assert_eq!(
        ids(&app, &format!("Condition?code:in={all_snomed}&_id=copd")),
        ["copd"]
    );
});

both!(unknown_or_unsupported_value_sets_are_400, |app| {
    seed(&app);
    for url in [
        "http://example.org/fhir/ValueSet/none",
        "http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=nonsense/E11",
    ] {
        let (status, outcome) = parts(
            app.get(&format!("Condition?code:in={}", enc(url)))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 400, "{url}: {outcome}");
        assert_eq!(outcome["resourceType"], "OperationOutcome");
    }
    // a SNOMED hierarchy filter cannot be evaluated here: said, not guessed
    app.put(
        "ValueSet/sct-isa",
        &json!({"resourceType": "ValueSet", "id": "sct-isa", "status": "active",
                "url": "http://example.org/fhir/ValueSet/sct-isa",
                "compose": {"include": [{"system": SCT, "filter": [{"property": "concept", "op": "is-a", "value": "195967001"}]}]}}),
    )
    .send()
    .unwrap();
    let (status, outcome) = parts(
        app.get(&format!(
            "Condition?code:in={}",
            enc("http://example.org/fhir/ValueSet/sct-isa")
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(status, 400, "{outcome}");
    assert!(outcome.to_string().contains("not supported"), "{outcome}");
});
