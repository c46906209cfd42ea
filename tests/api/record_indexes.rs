//! The disease, procedure and physician indexes through HTTP on both stores: code,
//! code-and-below, ranges and lists, periods, practitioners, paging, CSV, bad input,
//! and sealed records / patient-scoped tokens.

use crate::both;
use crate::helpers::{parts, Backend, TestApp};
use crate::mpi::{csv_text, secured, token};
use serde_json::{json, Value};

const CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";

fn sealed(mut resource: Value) -> Value {
    resource["meta"] = json!({"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "PSY"}]});
    resource
}

fn encounter(
    id: &str,
    patient: &str,
    doctor: &str,
    start: &str,
    end: &str,
    diagnoses: &[&str],
) -> Value {
    let diagnosis: Vec<Value> = diagnoses
        .iter()
        .enumerate()
        .map(|(i, c)| json!({"condition": {"reference": format!("Condition/{c}")}, "rank": i + 1,
            "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]}}))
        .collect();
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": format!("Patient/{patient}")},
        "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
            "individual": {"reference": format!("Practitioner/{doctor}")}}],
        "period": {"start": start, "end": end}, "diagnosis": diagnosis})
}

fn condition(id: &str, patient: &str, enc: &str, code: &str) -> Value {
    json!({"resourceType": "Condition", "id": id,
        "code": {"coding": [{"system": CM, "code": code}]},
        "subject": {"reference": format!("Patient/{patient}")}, "encounter": {"reference": format!("Encounter/{enc}")}})
}

fn procedure(id: &str, patient: &str, enc: &str, code: &str, doctor: &str, date: &str) -> Value {
    json!({"resourceType": "Procedure", "id": id, "status": "completed",
        "code": {"coding": [{"system": PCS, "code": code}]},
        "subject": {"reference": format!("Patient/{patient}")}, "encounter": {"reference": format!("Encounter/{enc}")},
        "performedDateTime": date, "performer": [{"actor": {"reference": format!("Practitioner/{doctor}")}}]})
}

/// Two patients, two doctors, three stays (one sealed), five diagnoses, two procedures.
fn seed(app: &TestApp, token: Option<&str>) {
    let resources = [
        json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "Doe", "given": ["Jane"]}], "birthDate": "1970-01-01", "gender": "female"}),
        json!({"resourceType": "Patient", "id": "p2", "name": [{"family": "Roe", "given": ["Rick"]}], "birthDate": "1960-02-02", "gender": "male"}),
        json!({"resourceType": "Practitioner", "id": "d1", "name": [{"family": "House"}]}),
        json!({"resourceType": "Practitioner", "id": "d2", "name": [{"family": "Quinn"}]}),
        encounter("e1", "p1", "d1", "2024-03-01", "2024-03-05", &["c1", "c2"]),
        encounter("e2", "p2", "d2", "2025-01-10", "2025-01-14", &["c3", "c4"]),
        sealed(encounter(
            "e3",
            "p1",
            "d1",
            "2024-07-01",
            "2024-07-03",
            &["c5"],
        )),
        condition("c1", "p1", "e1", "E11.9"),
        condition("c2", "p1", "e1", "I10"),
        condition("c3", "p2", "e2", "E10.9"),
        condition("c4", "p2", "e2", "C50.911"),
        sealed(condition("c5", "p1", "e3", "F32.9")),
        procedure("pr1", "p1", "e1", "0DTJ4ZZ", "d1", "2024-03-02"),
        procedure("pr2", "p2", "e2", "0FT44ZZ", "d2", "2025-01-11"),
    ];
    for r in resources {
        let path = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap(),
            r["id"].as_str().unwrap()
        );
        let mut request = app.put(&path, &r);
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        let (status, body) = parts(request.send().unwrap());
        assert!(status == 201 || status == 200, "{path}: {body}");
    }
}

/// (total, ids of the match entries, ids of the include entries) of an index query.
fn index(app: &TestApp, query: &str, token: Option<&str>) -> (i64, Vec<String>, Vec<String>) {
    let mut request = app.get(query);
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let (status, bundle) = parts(request.send().unwrap());
    assert_eq!(status, 200, "{query}: {bundle}");
    assert_eq!(bundle["type"], "searchset");
    let ids = |mode: &str| -> Vec<String> {
        bundle["entry"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .filter(|e| e["search"]["mode"] == mode)
            .map(|e| {
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap(),
                    e["resource"]["id"].as_str().unwrap()
                )
            })
            .collect()
    };
    (
        bundle["total"].as_i64().unwrap(),
        ids("match"),
        ids("include"),
    )
}

fn ids(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

both!(disease_index_filters_by_code_range_list_and_period, |app| {
    seed(&app, None);
    let (total, matches, includes) = index(&app, "$disease-index?code=E11", None);
    assert_eq!((total, matches), (1, ids(&["Condition/c1"])));
    let mut includes = includes;
    includes.sort();
    assert_eq!(includes, ids(&["Encounter/e1", "Patient/p1"]));
    assert_eq!(
        index(&app, "$disease-index?code=e10,E11.9", None).1,
        ids(&["Condition/c3", "Condition/c1"])
    );
    assert_eq!(
        index(&app, "$disease-index?code=E00-E89", None).1,
        ids(&["Condition/c3", "Condition/c1"])
    );
    assert_eq!(
        index(&app, "$disease-index?code=C00-C96", None).1,
        ids(&["Condition/c4"])
    );
    assert_eq!(index(&app, "$disease-index?code=E11.65", None).0, 0);
    assert_eq!(
        index(
            &app,
            "$disease-index?code=E00-I99&period-start=2024&period-end=2024-06",
            None
        )
        .1,
        ids(&["Condition/c1", "Condition/c2"])
    );
    assert_eq!(
        index(&app, "$disease-index?period-start=2025-01-01", None).1,
        ids(&["Condition/c4", "Condition/c3"])
    );
    assert_eq!(
        index(&app, "$disease-index?practitioner=Practitioner/d2", None).0,
        2
    );
    // paging: four pages of one... five rows in all, sorted by code
    let (total, first, _) = index(&app, "$disease-index?_count=2", None);
    assert_eq!(total, 5);
    assert_eq!(first, ids(&["Condition/c4", "Condition/c3"]));
    let (_, second, _) = index(&app, "$disease-index?_count=2&_offset=2", None);
    assert_eq!(second, ids(&["Condition/c1", "Condition/c5"]));
    let (status, page) = parts(app.get("$disease-index?_count=2").send().unwrap());
    assert_eq!(status, 200);
    let next = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        next.contains("_offset=2") && next.contains("_count=2"),
        "{next}"
    );
    let (_, third) = parts(
        app.client
            .get(next.replace("_offset=2", "_offset=4"))
            .send()
            .unwrap(),
    );
    assert_eq!(
        third["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count(),
        1
    );
    assert!(third["link"]
        .as_array()
        .unwrap()
        .iter()
        .all(|l| l["relation"] != "next"));
});

both!(disease_index_exports_csv, |app| {
    seed(&app, None);
    let text = csv_text(&app, "$disease-index?code=E00-E89&_format=csv");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "kind,code,display,date,patient,family,given,birth_date,gender,encounter,admit_date,discharge_date,practitioner,rank,resource");
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(lines[1], "diagnosis,E10.9,,2025-01-10,p2,Roe,Rick,1960-02-02,male,e2,2025-01-10,2025-01-14,d2,1,Condition/c3");
    assert!(lines[2].starts_with("diagnosis,E11.9,"));
    let paged = app
        .get("$disease-index?_format=csv&_count=1&_offset=1")
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(paged.lines().count(), 2);
});

both!(procedure_and_physician_indexes, |app| {
    seed(&app, None);
    assert_eq!(
        index(&app, "$procedure-index?code=0DT", None).1,
        ids(&["Procedure/pr1"])
    );
    assert_eq!(index(&app, "$procedure-index?code=0DTJ4ZZ,0FT", None).0, 2);
    assert_eq!(
        index(&app, "$procedure-index?code=0D-0F", None).1,
        ids(&["Procedure/pr1", "Procedure/pr2"])
    );
    assert_eq!(
        index(&app, "$procedure-index?period-end=2024-12-31", None).1,
        ids(&["Procedure/pr1"])
    );
    assert_eq!(
        index(&app, "$procedure-index?practitioner=d2", None).1,
        ids(&["Procedure/pr2"])
    );
    let (total, matches, _) = index(&app, "$physician-index?practitioner=d1", None);
    assert_eq!(total, 6);
    let mut sorted = matches.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        ids(&[
            "Condition/c1",
            "Condition/c2",
            "Condition/c5",
            "Encounter/e1",
            "Encounter/e3",
            "Procedure/pr1"
        ])
    );
    let csv = app
        .get("$physician-index?practitioner=d1&period-end=2024-03-31&_format=csv")
        .send()
        .unwrap()
        .text()
        .unwrap();
    let kinds: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert_eq!(
        kinds,
        vec!["diagnosis", "diagnosis", "encounter", "procedure"],
        "{csv}"
    );
    assert!(csv.lines().skip(1).all(|l| l.contains(",d1,")));
    assert_eq!(index(&app, "$physician-index", None).0, 10);
});

both!(index_bad_input_is_an_operation_outcome, |app| {
    seed(&app, None);
    for bad in [
        "$disease-index?code=XYZ!!",
        "$disease-index?code=E11-X",
        "$disease-index?period-start=2024-13",
        "$disease-index?period-start=2025&period-end=2024",
        "$disease-index?_count=abc",
        "$procedure-index?code=0D!T",
        "$physician-index?practitioner=",
        "$disease-index?_format=xml",
    ] {
        let (status, body) = parts(app.get(bad).send().unwrap());
        assert!(status == 400 || status == 406, "{bad}: {status} {body}");
        assert_eq!(body["resourceType"], "OperationOutcome", "{bad}");
    }
    let (status, _) = parts(app.post("$disease-index", &json!({})).send().unwrap());
    assert_eq!(status, 405);
});

fn indexes_hide_sealed_records_and_other_patients(backend: Backend) {
    let app = secured(backend);
    let admin = token("user/*.cruds", None, &["*"]);
    seed(&app, Some(&admin));
    let reader = token("user/*.rs", None, &[]);
    let (total, matches, _) = index(&app, "$disease-index", Some(&reader));
    assert_eq!(total, 4);
    assert!(!matches.contains(&"Condition/c5".to_string()));
    let (total, matches, _) = index(&app, "$physician-index?practitioner=d1", Some(&reader));
    assert_eq!(
        total, 4,
        "c5 and the sealed stay e3 are hidden: {matches:?}"
    );
    assert!(!matches
        .iter()
        .any(|m| m == "Encounter/e3" || m == "Condition/c5"));
    let csv = app
        .get("$physician-index?_format=csv")
        .bearer_auth(&reader)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(!csv.contains("c5") && !csv.contains("e3"), "{csv}");
    let cleared = token("user/*.rs", None, &["PSY"]);
    assert_eq!(index(&app, "$disease-index", Some(&cleared)).0, 5);
    // a patient-scoped token sees its own patient only
    let own = token("patient/*.rs", Some("p2"), &["*"]);
    assert_eq!(
        index(&app, "$disease-index", Some(&own)).1,
        ids(&["Condition/c4", "Condition/c3"])
    );
    // a scope on the index's type is enough; another type's is not
    let coder = token("user/Condition.rs", None, &[]);
    assert_eq!(index(&app, "$disease-index?code=E11", Some(&coder)).0, 1);
    for (query, scope) in [
        ("$disease-index", "user/Observation.rs"),
        ("$procedure-index", "user/Condition.rs"),
        ("$physician-index", "user/Encounter.rs"),
    ] {
        let (status, body) = parts(
            app.get(query)
                .bearer_auth(token(scope, None, &[]))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 403, "{query} with {scope}: {body}");
    }
    let (status, _) = parts(app.get("$disease-index").send().unwrap());
    assert_eq!(status, 401);
}
crate::on_both_backends!(indexes_hide_sealed_records_and_other_patients);
