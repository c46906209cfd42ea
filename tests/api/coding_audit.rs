//! `$audit-coding` end to end: stored encounters (projections), Bundles and Claims.

use crate::both;
use crate::coding_ops::{CM, PCS};
use crate::helpers::{parts, Backend, TestApp};
use serde_json::{json, Value};

const EDIT_SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/coding-edit";
const POA: &str = "http://chartroom.dev/fhir/StructureDefinition/present-on-admission";

fn patient(app: &TestApp) -> String {
    let p = app.create(&json!({
        "resourceType": "Patient", "gender": "male", "birthDate": "1950-03-02",
        "name": [{"family": "Auditson", "given": ["Carl"]}]
    }));
    p["id"].as_str().unwrap().to_string()
}

fn condition_json(patient: &str, code: &str) -> Value {
    json!({
        "resourceType": "Condition",
        "subject": {"reference": patient},
        "code": {"coding": [{"system": CM, "code": code}]}
    })
}

fn diagnosis(reference: &str, rank: u32) -> Value {
    json!({
        "condition": {"reference": reference},
        "rank": rank,
        "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]},
        "extension": [{"url": POA, "valueCodeableConcept": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", "code": "Y"}]}}]
    })
}

fn encounter_json(patient: &str, diagnoses: Vec<Value>) -> Value {
    json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": patient},
        "period": {"start": "2026-01-10T08:00:00Z", "end": "2026-01-15T12:00:00Z"},
        "diagnosis": diagnoses
    })
}

/// Stores Conditions with `codes` (ranks 1.. in order, or `ranks`) and the encounter.
fn stored_encounter(app: &TestApp, patient_id: &str, codes: &[&str], ranks: &[u32]) -> String {
    let subject = format!("Patient/{patient_id}");
    let diagnoses = codes
        .iter()
        .enumerate()
        .map(|(i, code)| {
            let c = app.create(&condition_json(&subject, code));
            let rank = ranks.get(i).copied().unwrap_or(i as u32 + 1);
            diagnosis(&format!("Condition/{}", c["id"].as_str().unwrap()), rank)
        })
        .collect();
    let e = app.create(&encounter_json(&subject, diagnoses));
    e["id"].as_str().unwrap().to_string()
}

fn audit(app: &TestApp, id: &str) -> Value {
    let (status, o) = parts(
        app.get(&format!("Encounter/{id}/$audit-coding"))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200, "{o}");
    assert_eq!(o["resourceType"], "OperationOutcome");
    o
}

fn issue<'a>(outcome: &'a Value, edit: &str) -> Option<&'a Value> {
    outcome["issue"].as_array().unwrap().iter().find(|i| {
        i["details"]["coding"][0]["code"] == edit
            && i["details"]["coding"][0]["system"] == EDIT_SYSTEM
    })
}

fn edits(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|i| {
            i["details"]["coding"][0]["code"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

both!(audit_stored_encounter, |app| {
    let pid = patient(&app);
    let id = stored_encounter(
        &app,
        &pid,
        &["G63", "S72.001", "O80", "E10.9", "E11.9"],
        &[],
    );
    let o = audit(&app, &id);
    let found = edits(&o);
    for edit in [
        "manifestation-as-principal",
        "missing-7th-character",
        "age-conflict",
        "excludes1-conflict",
    ] {
        let i = issue(&o, edit).unwrap_or_else(|| panic!("no {edit} in {o:#}"));
        assert_eq!(i["severity"], "error", "{edit}");
        assert!(!i["diagnostics"].as_str().unwrap().is_empty());
    }
    assert!(!found.contains(&"missing-principal".to_string()));
    let m = issue(&o, "manifestation-as-principal").unwrap();
    assert!(
        m["details"]["text"].as_str().unwrap().contains("G63"),
        "{m}"
    );
    assert_eq!(m["expression"][0], "Encounter.diagnosis[0]");
    let s = issue(&o, "missing-7th-character").unwrap();
    assert!(s["details"]["text"].as_str().unwrap().contains("S72.001"));
    assert_eq!(s["expression"][0], "Encounter.diagnosis[1]");
    let a = issue(&o, "age-conflict").unwrap();
    assert!(a["details"]["text"].as_str().unwrap().contains("O80"));
    let x = issue(&o, "excludes1-conflict").unwrap();
    let text = x["details"]["text"].as_str().unwrap();
    assert!(text.contains("E10.9") && text.contains("E11.9"), "{text}");
    // errors come first
    let severities: Vec<&str> = o["issue"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["severity"].as_str().unwrap())
        .collect();
    let first_non_error = severities
        .iter()
        .position(|s| *s != "error")
        .unwrap_or(severities.len());
    assert!(
        severities[first_non_error..].iter().all(|s| *s != "error"),
        "{severities:?}"
    );

    // no principal diagnosis
    let id = stored_encounter(&app, &pid, &["J18.9", "I10"], &[2, 3]);
    let o = audit(&app, &id);
    assert_eq!(issue(&o, "missing-principal").unwrap()["severity"], "error");

    // clean: one information issue and nothing else
    let id = stored_encounter(&app, &pid, &["J18.9", "I10"], &[]);
    let o = audit(&app, &id);
    assert_eq!(o["issue"].as_array().unwrap().len(), 1, "{o:#}");
    assert_eq!(o["issue"][0]["severity"], "information");
    assert!(edits(&o).is_empty());

    let (status, o) = parts(app.get("Encounter/nope/$audit-coding").send().unwrap());
    assert_eq!(status, 404, "{o}");
    assert_eq!(o["resourceType"], "OperationOutcome");
});

both!(audit_procedures_and_updates, |app| {
    let pid = patient(&app);
    let id = stored_encounter(&app, &pid, &["I10"], &[]);
    // a procedure outside the stay, then one that is not a PCS code
    let px = |code: &str, day: &str| {
        app.create(&json!({
            "resourceType": "Procedure", "status": "completed",
            "subject": {"reference": format!("Patient/{pid}")},
            "encounter": {"reference": format!("Encounter/{id}")},
            "performedDateTime": day,
            "code": {"coding": [{"system": PCS, "code": code}]}
        }))
    };
    px("0DTJ4ZZ", "2026-02-20");
    let o = audit(&app, &id);
    let i = issue(&o, "procedure-date-outside-stay").unwrap_or_else(|| panic!("{o:#}"));
    assert_eq!(i["severity"], "warning");
    assert!(i["expression"][0]
        .as_str()
        .unwrap()
        .starts_with("Procedure.where(id = "));
    px("ZZZZZZZ", "2026-01-12");
    let o = audit(&app, &id);
    assert!(issue(&o, "invalid-procedure-code").is_some(), "{o:#}");
});

both!(audit_bundle, |app| {
    let uuid = |n: u32| format!("urn:uuid:00000000-0000-4000-8000-00000000000{n}");
    let entry = |n: u32, resource: Value| json!({"fullUrl": uuid(n), "resource": resource});
    let mut encounter = encounter_json(
        &uuid(1),
        vec![diagnosis(&uuid(2), 1), diagnosis("Condition/c3", 2)],
    );
    encounter["id"] = json!("e1");
    let mut c3 = condition_json(&uuid(1), "E85.9");
    c3["id"] = json!("c3");
    let bundle = json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            entry(1, json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-03-02"})),
            entry(2, condition_json(&uuid(1), "G63")),
            json!({"fullUrl": "http://example.org/fhir/Condition/c3", "resource": c3}),
            entry(4, encounter),
            entry(5, json!({"resourceType": "Procedure", "status": "completed",
                "subject": {"reference": uuid(1)}, "encounter": {"reference": "Encounter/e1"},
                "performedDateTime": "2026-01-12",
                "code": {"coding": [{"system": PCS, "code": "ZZZZZZZ"}]}}))
        ]
    });
    let (status, o) = parts(app.post("$audit-coding", &bundle).send().unwrap());
    assert_eq!(status, 200, "{o}");
    assert!(issue(&o, "manifestation-as-principal").is_some(), "{o:#}");
    let px = issue(&o, "invalid-procedure-code").unwrap_or_else(|| panic!("{o:#}"));
    assert_eq!(px["expression"][0], "Bundle.entry[4].resource.code");
    assert!(issue(&o, "missing-principal").is_none());

    // a clean bundle: only the principal diagnosis, E85.9 with G63 secondary
    let mut clean = bundle.clone();
    clean["entry"][3]["resource"]["diagnosis"] =
        json!([diagnosis("Condition/c3", 1), diagnosis(&uuid(2), 2)]);
    clean["entry"].as_array_mut().unwrap().pop();
    let (_, o) = parts(app.post("$audit-coding", &clean).send().unwrap());
    assert!(issue(&o, "manifestation-as-principal").is_none(), "{o:#}");

    let (status, _) = parts(
        app.post(
            "$audit-coding",
            &json!({"resourceType": "Bundle", "type": "collection"}),
        )
        .send()
        .unwrap(),
    );
    assert_eq!(status, 400);
    // no birth date: 422 naming the need
    let mut unborn = bundle.clone();
    unborn["entry"][0]["resource"] = json!({"resourceType": "Patient", "gender": "male"});
    let (status, o) = parts(app.post("$audit-coding", &unborn).send().unwrap());
    assert_eq!(status, 422, "{o}");
});

mod secured {
    use super::*;
    use chartroom::auth::{mint, Claims};

    const SECRET: &str = "coding-test-secret";

    fn token(scope: &str, patient: Option<&str>) -> String {
        let claims = Claims {
            exp: chrono::Utc::now().timestamp() + 600,
            sub: "coder".into(),
            scope: scope.into(),
            patient: patient.map(str::to_string),
            ..Claims::default()
        };
        mint(&claims, SECRET).unwrap()
    }

    fn run(backend: Backend) {
        let app = crate::helpers::spawn_with(backend, |c| {
            c.auth = "on".into();
            c.jwt_hs256_secret = Some(SECRET.into());
        });
        let admin = token("user/*.cruds", None);
        for resource in [
            json!({"resourceType": "Patient", "id": "a", "gender": "male", "birthDate": "1950-01-01"}),
            json!({"resourceType": "Patient", "id": "b", "gender": "female", "birthDate": "1960-01-01"}),
            json!({"resourceType": "Condition", "id": "ca", "subject": {"reference": "Patient/a"},
                   "code": {"coding": [{"system": CM, "code": "G63"}]}}),
            {
                let mut e = encounter_json("Patient/a", vec![diagnosis("Condition/ca", 1)]);
                e["id"] = json!("ea");
                e
            },
        ] {
            let path = format!(
                "{}/{}",
                resource["resourceType"].as_str().unwrap(),
                resource["id"].as_str().unwrap()
            );
            let (status, body) = parts(
                app.put(&path, &resource)
                    .bearer_auth(&admin)
                    .send()
                    .unwrap(),
            );
            assert_eq!(status, 201, "{path}: {body}");
        }
        let audit = |token: Option<&str>| {
            let mut request = app.get("Encounter/ea/$audit-coding");
            if let Some(t) = token {
                request = request.bearer_auth(t);
            }
            parts(request.send().unwrap())
        };
        assert_eq!(audit(None).0, 401);
        let (status, o) = audit(Some(&token("patient/*.rs", Some("a"))));
        assert_eq!(status, 200, "{o}");
        assert!(issue(&o, "manifestation-as-principal").is_some());
        // another patient's token does not learn that the encounter exists
        assert_eq!(audit(Some(&token("patient/*.rs", Some("b")))).0, 404);
        // terminology needs a token too, any read scope will do
        let lookup = format!("CodeSystem/$lookup?system={CM}&code=G63");
        assert_eq!(parts(app.get(&lookup).send().unwrap()).0, 401);
        let (status, _) = parts(
            app.get(&lookup)
                .bearer_auth(token("user/*.rs", None))
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200);
    }

    #[test]
    fn sqlite() {
        run(Backend::Sqlite);
    }

    #[test]
    fn postgres() {
        run(Backend::Postgres);
    }
}

fn claim_diagnosis(sequence: u32, code: &str, principal: bool, poa: Option<&str>) -> Value {
    let mut d = json!({"sequence": sequence,
        "diagnosisCodeableConcept": {"coding": [{"system": CM, "code": code}]}});
    if principal {
        d["type"] = json!([{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosistype", "code": "principal"}]}]);
    }
    if let Some(poa) = poa {
        d["onAdmission"] = json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", "code": poa}]});
    }
    d
}

fn claim_json(patient_ref: &str, diagnoses: Vec<Value>) -> Value {
    json!({
        "resourceType": "Claim", "status": "draft", "use": "claim",
        "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/claim-type", "code": "institutional"}]},
        "patient": {"reference": patient_ref},
        "created": "2026-01-20", "priority": {"coding": [{"code": "normal"}]},
        "provider": {"display": "General Hospital"},
        "insurance": [{"sequence": 1, "focal": true, "coverage": {"display": "Medicare"}}],
        "billablePeriod": {"start": "2026-01-10", "end": "2026-01-14"},
        "diagnosis": diagnoses,
        "procedure": [{"sequence": 1, "date": "2026-02-01",
            "procedureCodeableConcept": {"coding": [{"system": PCS, "code": "0DTJ4ZZ"}]}}]
    })
}

both!(audit_claims, |app| {
    // a bare Claim with a contained patient: G63 typed principal though sequenced second
    let mut claim = claim_json(
        "#pat",
        vec![
            claim_diagnosis(1, "E11.9", false, Some("y")),
            claim_diagnosis(2, "G63", true, Some("y")),
        ],
    );
    claim["contained"] = json!([{"resourceType": "Patient", "id": "pat", "gender": "male", "birthDate": "1950-03-02"}]);
    let (status, o) = parts(app.post("$audit-coding", &claim).send().unwrap());
    assert_eq!(status, 200, "{o}");
    let m = issue(&o, "manifestation-as-principal").unwrap_or_else(|| panic!("{o:#}"));
    assert_eq!(m["expression"][0], "Claim.diagnosis[1]");
    let px = issue(&o, "procedure-date-outside-stay").unwrap_or_else(|| panic!("{o:#}"));
    assert_eq!(px["expression"][0], "Claim.procedure[0]");

    // the same Claim resequenced is clean of the principal edit
    let mut fixed = claim.clone();
    fixed["diagnosis"] = json!([
        claim_diagnosis(1, "E11.9", true, Some("y")),
        claim_diagnosis(2, "G63", false, Some("y"))
    ]);
    fixed["procedure"][0]["date"] = json!("2026-01-11");
    let (_, o) = parts(app.post("$audit-coding", &fixed).send().unwrap());
    assert!(issue(&o, "manifestation-as-principal").is_none(), "{o:#}");
    assert!(issue(&o, "procedure-date-outside-stay").is_none(), "{o:#}");

    // a Claim referencing a stored patient: an obstetric code on a 76-year-old man
    let pid = patient(&app);
    let stored = claim_json(
        &format!("Patient/{pid}"),
        vec![claim_diagnosis(1, "O80", true, Some("y"))],
    );
    let (_, o) = parts(app.post("$audit-coding", &stored).send().unwrap());
    assert!(issue(&o, "age-conflict").is_some(), "{o:#}");

    // inside a Bundle, with a stored inpatient Encounter through item.encounter: POA edits apply
    let enc = app.create(&json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": format!("Patient/{pid}")},
        "period": {"start": "2026-01-10", "end": "2026-01-14"}}));
    let mut in_bundle = claim_json(
        "urn:uuid:00000000-0000-0000-0000-000000000001",
        vec![claim_diagnosis(1, "I10", true, None)],
    );
    in_bundle["item"] = json!([{"sequence": 1, "productOrService": {"text": "room"},
        "encounter": [{"reference": format!("Encounter/{}", enc["id"].as_str().unwrap())}]}]);
    let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000001",
         "resource": {"resourceType": "Patient", "gender": "female", "birthDate": "1980-05-05"}},
        {"fullUrl": "urn:uuid:00000000-0000-0000-0000-000000000002", "resource": in_bundle}]});
    let (status, o) = parts(app.post("$audit-coding", &bundle).send().unwrap());
    assert_eq!(status, 200, "{o}");
    let poa = issue(&o, "poa-missing").unwrap_or_else(|| panic!("{o:#}"));
    assert_eq!(
        poa["expression"][0],
        "Bundle.entry[1].resource.diagnosis[0]"
    );

    // a Claim whose patient cannot be found: 422, the age edits need a birth date
    let orphan = claim_json(
        "Patient/nobody",
        vec![claim_diagnosis(1, "I10", true, None)],
    );
    let (status, o) = parts(app.post("$audit-coding", &orphan).send().unwrap());
    assert_eq!(status, 422, "{o}");
    // anything else: 400
    let (status, _) = parts(
        app.post("$audit-coding", &json!({"resourceType": "Patient"}))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
});
