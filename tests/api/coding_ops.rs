//! Terminology operations on ICD-10-CM and ICD-10-PCS through HTTP (GET and POST).

use crate::both;
use crate::helpers::{parts, TestApp};
use serde_json::{json, Value};

pub const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";

/// The first parameter called `name`.
pub fn param<'a>(parameters: &'a Value, name: &str) -> Option<&'a Value> {
    parameters["parameter"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == name)
}

/// (code, value) of every `property` parameter.
fn properties(parameters: &Value) -> Vec<(String, Value)> {
    parameters["parameter"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|p| p["name"] == "property")
        .map(|p| {
            let part = |n: &str| {
                p["part"]
                    .as_array()
                    .and_then(|parts| parts.iter().find(|x| x["name"] == n))
                    .cloned()
                    .unwrap_or(Value::Null)
            };
            let value = part("value");
            let value = value
                .as_object()
                .and_then(|o| o.iter().find(|(k, _)| k.starts_with("value")))
                .map(|(_, v)| v.clone())
                .unwrap_or(Value::Null);
            (
                part("code")["valueCode"].as_str().unwrap_or("").to_string(),
                value,
            )
        })
        .collect()
}

fn get(app: &TestApp, path: &str) -> (u16, Value) {
    parts(app.get(path).send().expect("send"))
}

fn first_issue_code(outcome: &Value) -> &str {
    outcome["issue"][0]["code"].as_str().unwrap_or("")
}

both!(lookup_cm, |app| {
    let (status, p) = get(&app, &format!("CodeSystem/$lookup?system={CM}&code=E11.9"));
    assert_eq!(status, 200, "{p}");
    assert_eq!(p["resourceType"], "Parameters");
    assert_eq!(param(&p, "name").unwrap()["valueString"], "ICD-10-CM");
    assert_eq!(param(&p, "version").unwrap()["valueString"], "2026");
    assert_eq!(
        param(&p, "display").unwrap()["valueString"],
        "Type 2 diabetes mellitus without complications"
    );
    let props = properties(&p);
    assert!(
        props.contains(&("parent".into(), json!("E11"))),
        "{props:?}"
    );
    assert!(props.contains(&("billable".into(), json!(true))));
    assert!(props.iter().any(|(c, _)| c == "excludes1"), "{props:?}");

    // A header: not billable, lists its children; undotted input works.
    let (status, p) = get(&app, &format!("CodeSystem/$lookup?system={CM}&code=e11"));
    assert_eq!(status, 200);
    assert_eq!(param(&p, "abstract").unwrap()["valueBoolean"], true);
    let props = properties(&p);
    assert!(props.contains(&("billable".into(), json!(false))));
    assert!(
        props.contains(&("child".into(), json!("E11.9"))),
        "{props:?}"
    );

    // 7th characters of a fracture subcategory; `property` narrows the output.
    let (_, p) = get(
        &app,
        &format!("CodeSystem/$lookup?system={CM}&code=S72.001&property=seventhCharacter"),
    );
    let props = properties(&p);
    assert!(
        props.iter().all(|(c, _)| c == "seventhCharacter"),
        "{props:?}"
    );
    assert!(props.contains(&("seventhCharacter".into(), json!("A"))));
});

both!(lookup_pcs_and_post, |app| {
    let (status, p) = get(
        &app,
        &format!("CodeSystem/$lookup?system={PCS}&code=0DTJ4ZZ"),
    );
    assert_eq!(status, 200, "{p}");
    assert_eq!(param(&p, "name").unwrap()["valueString"], "ICD-10-PCS");
    let display = param(&p, "display").unwrap()["valueString"]
        .as_str()
        .unwrap();
    assert!(display.contains("Appendix"), "{display}");
    assert!(properties(&p).contains(&("operation".into(), json!("T"))));

    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": CM, "code": "I10"}}
    ]});
    let (status, p) = parts(app.post("CodeSystem/$lookup", &body).send().unwrap());
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        param(&p, "display").unwrap()["valueString"],
        "Essential (primary) hypertension"
    );
});

both!(lookup_not_found, |app| {
    let (status, o) = get(&app, &format!("CodeSystem/$lookup?system={CM}&code=QQQ.1"));
    assert_eq!(status, 404);
    assert_eq!(o["resourceType"], "OperationOutcome");
    assert_eq!(first_issue_code(&o), "not-found");
    let (status, _) = get(&app, &format!("CodeSystem/$lookup?system={PCS}&code=0DT"));
    assert_eq!(status, 404);
    let (status, o) = get(
        &app,
        "CodeSystem/$lookup?system=http://loinc.org&code=1234-5",
    );
    assert_eq!(status, 404, "{o}");
    let (status, _) = get(&app, "CodeSystem/$lookup?code=E11.9");
    assert_eq!(status, 400);
});

fn validate(app: &TestApp, query: &str) -> Value {
    let (status, p) = get(app, &format!("CodeSystem/$validate-code?{query}"));
    assert_eq!(status, 200, "{p}");
    p
}

fn result(p: &Value) -> bool {
    param(p, "result").unwrap()["valueBoolean"]
        .as_bool()
        .unwrap()
}

fn message(p: &Value) -> String {
    param(p, "message")
        .and_then(|m| m["valueString"].as_str())
        .unwrap_or("")
        .to_string()
}

both!(validate_code, |app| {
    let p = validate(&app, &format!("url={CM}&code=E11.9"));
    assert!(result(&p));
    assert!(param(&p, "message").is_none());
    let p = validate(&app, &format!("url={CM}&code=QQQ.1"));
    assert!(!result(&p));
    assert!(message(&p).contains("QQQ.1"));
    // header: a code of the system, but not billable — the message suggests children
    let p = validate(&app, &format!("url={CM}&code=E11"));
    assert!(result(&p));
    assert!(
        message(&p).contains("header") && message(&p).contains("E11."),
        "{p}"
    );
    let p = validate(&app, &format!("url={CM}&code=S72.001"));
    assert!(
        message(&p).contains("7th character") && message(&p).contains("A ("),
        "{p}"
    );
    // wrong display: false, with the expected display
    let p = validate(&app, &format!("url={CM}&code=E11.9&display=Diabetes"));
    assert!(!result(&p));
    assert!(message(&p).contains("Type 2 diabetes mellitus without complications"));
    // a code deleted for FY2026 is valid on an FY2025 date only
    let p = validate(&app, &format!("url={CM}&code=S30.1XXA&date=2025-11-10"));
    assert!(!result(&p), "{p}");
    assert!(result(&validate(
        &app,
        &format!("url={CM}&code=S30.1XXA&date=2025-03-10")
    )));
    // PCS
    assert!(result(&validate(&app, &format!("url={PCS}&code=0DTJ4ZZ"))));
    let p = validate(&app, &format!("url={PCS}&code=0DT"));
    assert!(!result(&p));
    assert!(message(&p).contains("0DT"), "{p}");
    assert!(!result(&validate(&app, &format!("url={PCS}&code=ZZZZZZZ"))));
    // PCS displays: the CMS long description (labels reordered, words added) is accepted,
    // a display describing another procedure is not
    let long = "Resection%20of%20Appendix,%20Percutaneous%20Endoscopic%20Approach";
    assert!(result(&validate(
        &app,
        &format!("url={PCS}&code=0DTJ4ZZ&display={long}")
    )));
    let knee = "Replacement%20of%20Right%20Knee%20Joint%20with%20Synthetic%20Substitute,%20Cemented,%20Open%20Approach";
    assert!(result(&validate(
        &app,
        &format!("url={PCS}&code=0SRC0J9&display={knee}")
    )));
    let p = validate(
        &app,
        &format!("url={PCS}&code=0DTJ4ZZ&display=Excision%20of%20Gallbladder"),
    );
    assert!(!result(&p), "{p}");
    assert!(message(&p).contains("does not describe"), "{p}");
    // an unknown code system: result false, not an error
    let p = validate(&app, "url=http://example.org/cs&code=1");
    assert!(!result(&p));
    // POST with a coding
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "coding", "valueCoding": {"system": CM, "code": "I10", "display": "Essential (primary) hypertension"}}
    ]});
    let (status, p) = parts(app.post("CodeSystem/$validate-code", &body).send().unwrap());
    assert_eq!(status, 200, "{p}");
    assert!(result(&p));
});

both!(subsumes, |app| {
    let outcome = |a: &str, b: &str| {
        let (status, p) = get(
            &app,
            &format!("CodeSystem/$subsumes?system={CM}&codeA={a}&codeB={b}"),
        );
        assert_eq!(status, 200, "{p}");
        param(&p, "outcome").unwrap()["valueCode"]
            .as_str()
            .unwrap()
            .to_string()
    };
    assert_eq!(outcome("E11", "E11.9"), "subsumes");
    assert_eq!(outcome("E11.9", "E11"), "subsumed-by");
    assert_eq!(outcome("E11.9", "e119"), "equivalent");
    assert_eq!(outcome("E11.9", "I10"), "not-subsumed");
    let (status, _) = get(
        &app,
        &format!("CodeSystem/$subsumes?system={CM}&codeA=E11&codeB=QQQ.1"),
    );
    assert_eq!(status, 404);
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "codingA", "valueCoding": {"system": PCS, "code": "0DTJ4ZZ"}},
        {"name": "codingB", "valueCoding": {"system": PCS, "code": "0DTJ0ZZ"}}
    ]});
    let (status, p) = parts(app.post("CodeSystem/$subsumes", &body).send().unwrap());
    assert_eq!(status, 200, "{p}");
    assert_eq!(param(&p, "outcome").unwrap()["valueCode"], "not-subsumed");
});

fn expand(app: &TestApp, query: &str) -> Value {
    let (status, vs) = get(app, &format!("ValueSet/$expand?{query}"));
    assert_eq!(status, 200, "{vs}");
    assert_eq!(vs["resourceType"], "ValueSet");
    vs
}

fn codes(vs: &Value) -> Vec<String> {
    vs["expansion"]["contains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap().to_string())
        .collect()
}

both!(expand_implicit_value_sets, |app| {
    let vs = expand(&app, &format!("url={CM}?fhir_vs=isa/E11&count=1000"));
    let all = codes(&vs);
    let total = vs["expansion"]["total"].as_u64().unwrap() as usize;
    assert_eq!(all.len(), total);
    assert_eq!(all[0], "E11");
    assert!(all.iter().all(|c| c.starts_with("E11")));
    assert!(all.contains(&"E11.9".to_string()) && total > 50, "{total}");
    assert_eq!(vs["expansion"]["contains"][0]["abstract"], true);

    // paging: two pages of 10 are the first 20 codes
    let first = codes(&expand(&app, &format!("url={CM}?fhir_vs=isa/E11&count=10")));
    let second = expand(
        &app,
        &format!("url={CM}?fhir_vs=isa/E11&count=10&offset=10"),
    );
    assert_eq!(second["expansion"]["offset"], 10);
    assert_eq!(
        second["expansion"]["total"].as_u64().unwrap() as usize,
        total
    );
    let mut both = first.clone();
    both.extend(codes(&second));
    assert_eq!(both, all[..20].to_vec());

    // filter (words in any order, case-insensitive)
    let vs = expand(
        &app,
        &format!("url={CM}?fhir_vs=isa/E11&filter=COMPLICATIONS%20without"),
    );
    assert_eq!(codes(&vs), vec!["E11.9", "E11.A"]);
    assert_eq!(vs["expansion"]["total"], 2);
    let vs = expand(&app, &format!("url={CM}?fhir_vs=isa/E11&filter=e11.9"));
    assert_eq!(codes(&vs), vec!["E11.9"]);

    // the whole code system, count only
    let vs = expand(&app, &format!("url={CM}?fhir_vs&count=0"));
    assert!(vs["expansion"]["total"].as_u64().unwrap() > 70_000, "{vs}");
    assert_eq!(codes(&vs).len(), 0);

    // a range (chartroom extension) and PCS
    let vs = expand(&app, &format!("url={CM}?fhir_vs=range/I10-I16&count=1000"));
    assert!(codes(&vs)
        .iter()
        .all(|c| c.as_str() >= "I10" && c.as_str() < "I17"));
    let vs = expand(&app, &format!("url={PCS}?fhir_vs=isa/0DTJ&count=1000"));
    let pcs = codes(&vs);
    assert!(!pcs.is_empty() && pcs.iter().all(|c| c.starts_with("0DTJ")));
    assert!(pcs.contains(&"0DTJ4ZZ".to_string()));
    let vs = expand(&app, &format!("url={PCS}?fhir_vs=isa/0DT&filter=appendix"));
    assert!(codes(&vs).contains(&"0DTJ4ZZ".to_string()), "{vs}");

    let (status, o) = get(&app, &format!("ValueSet/$expand?url={CM}?fhir_vs=nope/E11"));
    assert_eq!(status, 404, "{o}");
    let (status, _) = get(&app, "ValueSet/$expand?url=http://example.org/vs");
    assert_eq!(status, 404);
});

both!(value_set_validate_code, |app| {
    let check = |query: &str| {
        let (status, p) = get(&app, &format!("ValueSet/$validate-code?{query}"));
        assert_eq!(status, 200, "{p}");
        result(&p)
    };
    assert!(check(&format!(
        "url={CM}?fhir_vs=isa/E11&system={CM}&code=E11.9"
    )));
    assert!(!check(&format!(
        "url={CM}?fhir_vs=isa/E11&system={CM}&code=I10"
    )));
    assert!(!check(&format!(
        "url={CM}?fhir_vs=isa/E11&system={PCS}&code=E11.9"
    )));
    assert!(check(&format!(
        "url={PCS}?fhir_vs&system={PCS}&code=0DTJ4ZZ"
    )));
    let body = json!({"resourceType": "Parameters", "parameter": [
        {"name": "url", "valueUri": format!("{CM}?fhir_vs=isa/E11")},
        {"name": "coding", "valueCoding": {"system": CM, "code": "E11.65"}}
    ]});
    let (status, p) = parts(app.post("ValueSet/$validate-code", &body).send().unwrap());
    assert_eq!(status, 200, "{p}");
    assert!(result(&p));
});

both!(capability_statement_lists_operations, |app| {
    let (status, cs) = parts(app.get("metadata").send().unwrap());
    assert_eq!(status, 200);
    let resource = |t: &str| {
        cs["rest"][0]["resource"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["type"] == t)
            .cloned()
            .unwrap()
    };
    let names = |r: &serde_json::Value| -> Vec<String> {
        r["operation"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|o| o["name"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(
        names(&resource("CodeSystem")),
        ["lookup", "subsumes", "validate-code"]
    );
    assert_eq!(names(&resource("ValueSet")), ["expand", "validate-code"]);
    assert!(names(&resource("Encounter")).contains(&"audit-coding".to_string()));
    assert!(names(&cs["rest"][0]).contains(&"audit-verify".to_string()));
    // every records-room operation is listed, from the same tables as the OpenAPI document
    assert!(names(&resource("Encounter")).contains(&"set-coding-status".to_string()));
    assert!(names(&resource("Patient")).contains(&"match".to_string()));
    assert!(names(&cs["rest"][0]).contains(&"dnfb".to_string()));
    assert!(names(&cs["rest"][0]).contains(&"export".to_string()));
    assert!(resource("Observation").get("operation").is_none());
});
