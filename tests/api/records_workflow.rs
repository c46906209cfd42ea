//! The records room's coding workflow end to end: an EHR's admission Bundle, the coder's
//! status changes, the audit blocking `final`, the fix, billing pulling codes and a Claim,
//! the DNFB worklist and polling search; refusals leave nothing changed. Also the sweep.

use crate::coding_ops::{CM, PCS};
use crate::helpers::{parts, spawn, spawn_with, Backend, TestApp};
use chartroom::auth::{mint, Claims};
use serde_json::{json, Value};

const SECRET: &str = "records-workflow-test-secret";
const POA: &str = "http://chartroom.dev/fhir/StructureDefinition/present-on-admission";
const STATUS_EXT: &str = "http://chartroom.dev/fhir/StructureDefinition/coding-status";
const TASK: &str = "http://chartroom.dev/fhir/CodeSystem/records-task";

fn secured(backend: Backend) -> TestApp {
    spawn_with(backend, |c| {
        c.auth = "on".into();
        c.jwt_hs256_secret = Some(SECRET.into());
        c.jwt_audience = Some("chartroom".into());
    })
}

fn token(sub: &str, roles: &[&str], scope: &str, fhir_user: Option<&str>) -> String {
    let claims = Claims {
        aud: Some("chartroom".into()),
        exp: chrono::Utc::now().timestamp() + 600,
        sub: sub.into(),
        scope: scope.into(),
        fhir_user: fhir_user.map(str::to_string),
        chartroom_roles: roles.iter().map(|r| r.to_string()).collect(),
        chartroom_clearances: vec!["*".into()],
        ..Claims::default()
    };
    mint(&claims, SECRET).unwrap()
}

fn uuid(n: u32) -> String {
    format!("urn:uuid:5e1f0000-0000-4000-8000-00000000000{n}")
}

fn diagnosis(reference: &str, rank: u32, poa: &str) -> Value {
    json!({
        "condition": {"reference": reference},
        "rank": rank,
        "use": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/diagnosis-role", "code": "billing"}]},
        "extension": [{"url": POA, "valueCodeableConcept": {"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission", "code": poa}]}}]
    })
}

/// The EHR's admission: Patient, attending Practitioner, a discharged Encounter whose
/// principal diagnosis is a manifestation code (G63, with E85.9 secondary), the two
/// Conditions and a procedure with date and performer.
fn admission_bundle() -> Value {
    let post = |n: u32, resource: Value| {
        let t = resource["resourceType"].as_str().unwrap().to_string();
        json!({"fullUrl": uuid(n), "resource": resource, "request": {"method": "POST", "url": t}})
    };
    json!({
        "resourceType": "Bundle", "type": "transaction",
        "entry": [
            post(1, json!({"resourceType": "Patient", "gender": "female", "birthDate": "1948-05-20",
                "name": [{"family": "Billings", "given": ["Ada"]}],
                "identifier": [{"system": "urn:mrn", "value": "MRN-881"}]})),
            post(2, json!({"resourceType": "Practitioner", "name": [{"family": "Attend", "given": ["Ann"]}]})),
            post(3, json!({"resourceType": "Encounter", "status": "finished",
                "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
                "subject": {"reference": uuid(1)},
                "participant": [{"type": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "code": "ATND"}]}],
                    "individual": {"reference": uuid(2)}}],
                "period": {"start": "2026-01-10T08:00:00Z", "end": "2026-01-15T12:00:00Z"},
                "diagnosis": [diagnosis(&uuid(4), 1, "Y"), diagnosis(&uuid(5), 2, "N")]})),
            post(4, json!({"resourceType": "Condition", "subject": {"reference": uuid(1)},
                "encounter": {"reference": uuid(3)},
                "code": {"coding": [{"system": CM, "code": "G63"}]}})),
            post(5, json!({"resourceType": "Condition", "subject": {"reference": uuid(1)},
                "encounter": {"reference": uuid(3)},
                "code": {"coding": [{"system": CM, "code": "E85.9"}]}})),
            post(6, json!({"resourceType": "Procedure", "status": "completed",
                "subject": {"reference": uuid(1)}, "encounter": {"reference": uuid(3)},
                "performedDateTime": "2026-01-12",
                "performer": [{"actor": {"reference": uuid(2)}}],
                "code": {"coding": [{"system": PCS, "code": "0DTJ4ZZ"}]}})),
        ]
    })
}

/// The ids the transaction assigned, by entry.
fn locations(response: &Value) -> Vec<String> {
    response["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let location = e["response"]["location"].as_str().unwrap();
            location.split('/').nth(1).unwrap().to_string()
        })
        .collect()
}

/// A client of the app, with a token when the server checks them.
struct Caller<'a> {
    app: &'a TestApp,
    token: Option<String>,
}

impl Caller<'_> {
    fn send(&self, request: reqwest::blocking::RequestBuilder) -> reqwest::blocking::Response {
        match &self.token {
            Some(t) => request.bearer_auth(t),
            None => request,
        }
        .send()
        .unwrap()
    }
    fn get(&self, path: &str) -> (u16, Value) {
        parts(self.send(self.app.get(path)))
    }
    fn post(&self, path: &str, body: &Value) -> (u16, Value) {
        parts(self.send(self.app.post(path, body)))
    }
    fn put(&self, path: &str, body: &Value) -> (u16, Value) {
        parts(self.send(self.app.put(path, body)))
    }
    fn set_status(&self, enc: &str, status: &str, note: Option<&str>) -> (u16, Value) {
        let mut parameter = vec![json!({"name": "status", "valueCode": status})];
        if let Some(note) = note {
            parameter.push(json!({"name": "note", "valueString": note}));
        }
        self.post(
            &format!("Encounter/{enc}/$set-coding-status"),
            &json!({"resourceType": "Parameters", "parameter": parameter}),
        )
    }
    /// Ids a search finds.
    fn ids(&self, query: &str) -> Vec<String> {
        let (status, bundle) = self.get(query);
        assert_eq!(status, 200, "{query}: {bundle}");
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect()
    }
}

fn edits(outcome: &Value) -> Vec<String> {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|i| {
            i["details"]["coding"][0]["code"]
                .as_str()
                .map(str::to_string)
        })
        .collect()
}

fn param<'a>(parameters: &'a Value, name: &str) -> Vec<&'a Value> {
    parameters["parameter"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["name"] == name)
        .collect()
}

fn part<'a>(p: &'a Value, name: &str) -> &'a Value {
    p["part"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == name)
        .unwrap_or(&Value::Null)
}

/// The DNFB rows' encounter references.
fn dnfb_encounters(list: &Value) -> Vec<String> {
    param(list, "encounter")
        .iter()
        .map(|p| {
            part(p, "encounter")["valueReference"]["reference"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// The whole workflow as the records room lives it. The EHR's transaction Bundle needs an
/// unrestricted caller (the server refuses Bundles from tokens for now), so this runs with
/// authentication off; `roles_decide` checks the tokens.
fn coding_workflow_scenario(backend: Backend) {
    let app = spawn(backend);
    let ehr = Caller {
        app: &app,
        token: None,
    };
    let (status, response) = ehr.post("", &admission_bundle());
    assert_eq!(status, 200, "{response}");
    let ids = locations(&response);
    let (patient, attending, enc, principal_c, secondary_c) =
        (&ids[0], &ids[1], &ids[2], &ids[3], &ids[4]);
    let (status, _) = ehr.post(
        "Coverage",
        &json!({"resourceType": "Coverage", "status": "active",
        "beneficiary": {"reference": format!("Patient/{patient}")},
        "payor": [{"display": "Acme Health Plan"}]}),
    );
    assert_eq!(status, 201);
    let coverage = ehr.ids(&format!("Coverage?beneficiary=Patient/{patient}"));
    assert_eq!(coverage.len(), 1);
    let coder = Caller {
        app: &app,
        token: None,
    };
    let billing = Caller {
        app: &app,
        token: None,
    };
    // the search parameter is declared
    let (_, statement) = coder.get("metadata");
    let encounter = statement["rest"][0]["resource"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["type"] == "Encounter")
        .unwrap();
    assert!(encounter["searchParam"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "coding-status"
            && p["definition"]
                == "http://chartroom.dev/fhir/SearchParameter/Encounter-coding-status"));

    // a discharged encounter nobody has coded is uncoded, on the worklist and the DNFB
    assert_eq!(
        coder.ids("Encounter?coding-status=uncoded"),
        vec![enc.to_string()]
    );
    assert!(coder.ids("Encounter?coding-status=final").is_empty());
    let (status, dnfb) = coder.get("$dnfb");
    assert_eq!(status, 200, "{dnfb}");
    assert_eq!(dnfb_encounters(&dnfb), [format!("Encounter/{enc}")]);
    assert_eq!(param(&dnfb, "total")[0]["valueInteger"], 1);
    let row = param(&dnfb, "encounter")[0];
    assert_eq!(part(row, "codingStatus")["valueCode"], "uncoded");
    assert_eq!(part(row, "discharged")["valueDate"], "2026-01-15");
    let outstanding = (chrono::Utc::now().date_naive()
        - chrono::NaiveDate::from_ymd_opt(2026, 1, 15).unwrap())
    .num_days();
    assert_eq!(part(row, "daysOutstanding")["valueInteger"], outstanding);
    let uncoded = param(&dnfb, "count")
        .into_iter()
        .find(|c| part(c, "codingStatus")["valueCode"] == "uncoded")
        .unwrap();
    assert_eq!(part(uncoded, "encounters")["valueInteger"], 1);
    let (_, later) = coder.get(&format!("$dnfb?days={}", outstanding + 1));
    assert!(dnfb_encounters(&later).is_empty(), "{later}");
    let csv = coder.send(app.get("$dnfb?_format=csv"));
    assert!(csv.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = csv.text().unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "encounter,patient,discharged,days_outstanding,coding_status,attending"
    );
    assert_eq!(
        lines[1],
        format!("{enc},{patient},2026-01-15,{outstanding},uncoded,{attending}")
    );
    assert_eq!(coder.get("$dnfb?days=-1").0, 400);

    // billing gets nothing before final
    let (status, o) = billing.get(&format!("Encounter/{enc}/$billing-codes"));
    assert_eq!(
        (status, o["resourceType"].as_str()),
        (409, Some("OperationOutcome")),
        "{o}"
    );
    assert_eq!(
        billing
            .post(&format!("Encounter/{enc}/$claim"), &json!({}))
            .0,
        409
    );

    // bad input
    assert_eq!(coder.set_status("no-such-encounter", "coded", None).0, 404);
    let (status, o) = coder.set_status(enc, "billed", None);
    assert_eq!(status, 400, "{o}");
    let (status, o) = coder.set_status(enc, "final", None);
    assert_eq!(status, 422, "{o}");
    assert!(
        o["issue"][0]["diagnostics"]
            .as_str()
            .unwrap()
            .contains("uncoded"),
        "{o}"
    );
    let (status, _) = coder.post(
        &format!("Encounter/{enc}/$set-coding-status"),
        &json!({"resourceType": "Patient"}),
    );
    assert_eq!(status, 400);
    assert!(coder
        .ids("Task?code=http://chartroom.dev/fhir/CodeSystem/records-task|coding")
        .is_empty());

    // coded, then audited: the audit's findings become the review Task
    let (status, p) = coder.set_status(enc, "coded", Some("principal and secondaries assigned"));
    assert_eq!(status, 200, "{p}");
    assert_eq!(param(&p, "previous")[0]["valueCode"], "uncoded");
    let worklist = format!("Task?code={TASK}|coding&status=in-progress");
    assert_eq!(coder.ids(&worklist), [format!("coding-{enc}")]);
    assert_eq!(
        coder.ids("Encounter?coding-status=coded"),
        vec![enc.to_string()]
    );
    let (status, p) = coder.set_status(enc, "audited", None);
    assert_eq!(status, 200, "{p}");
    let audit = &param(&p, "audit")[0]["resource"];
    assert!(
        edits(audit).contains(&"manifestation-as-principal".to_string()),
        "{audit}"
    );
    let review = format!("Task?code={TASK}|coding-review&encounter=Encounter/{enc}");
    let (_, found) = coder.get(&format!("{review}&status=requested"));
    let task = &found["entry"][0]["resource"];
    assert_eq!(
        task["for"]["reference"],
        format!("Patient/{patient}"),
        "{found}"
    );
    assert!(
        task["input"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["type"]["text"] == "manifestation-as-principal"
                && i["valueString"].as_str().unwrap().contains("G63")),
        "{task}"
    );

    // final is refused while the error is open, and nothing changes
    let (_, before_enc) = coder.get(&format!("Encounter/{enc}"));
    let (_, before_task) = coder.get(&format!("Task/coding-{enc}"));
    let (status, o) = coder.set_status(enc, "final", None);
    assert_eq!(status, 422, "{o}");
    assert!(
        edits(&o).contains(&"manifestation-as-principal".to_string()),
        "{o}"
    );
    assert!(
        o["issue"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["severity"] == "error"),
        "{o}"
    );
    let (_, after_enc) = coder.get(&format!("Encounter/{enc}"));
    let (_, after_task) = coder.get(&format!("Task/coding-{enc}"));
    assert_eq!(
        before_enc["meta"]["versionId"],
        after_enc["meta"]["versionId"]
    );
    assert_eq!(
        before_task["meta"]["versionId"],
        after_task["meta"]["versionId"]
    );
    assert_eq!(
        coder.ids("Encounter?coding-status=audited"),
        vec![enc.to_string()]
    );

    // the coder fixes the sequence with an ordinary PUT that knows nothing of the
    // extension (and one that tries to set it): the server keeps its own status
    let mut fixed = after_enc.clone();
    fixed.as_object_mut().unwrap().remove("extension");
    fixed["diagnosis"] = json!([
        diagnosis(&format!("Condition/{secondary_c}"), 1, "Y"),
        diagnosis(&format!("Condition/{principal_c}"), 2, "N"),
    ]);
    let (status, stored) = coder.put(&format!("Encounter/{enc}"), &fixed);
    assert_eq!(status, 200, "{stored}");
    let status_ext = |e: &Value| {
        e["extension"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|x| x["url"] == STATUS_EXT)
            .map(|x| x["valueCode"].clone())
    };
    assert_eq!(status_ext(&stored), Some(json!("audited")), "{stored}");
    fixed["extension"] = json!([{"url": STATUS_EXT, "valueCode": "final"}]);
    let (_, stored) = coder.put(&format!("Encounter/{enc}"), &fixed);
    assert_eq!(status_ext(&stored), Some(json!("audited")));
    assert!(coder.ids("Encounter?coding-status=final").is_empty());

    let polled_from = chrono::Utc::now() - chrono::Duration::seconds(1);
    let (status, p) = coder.set_status(enc, "final", Some("sequence fixed"));
    assert_eq!(status, 200, "{p}");
    let audit = &param(&p, "audit")[0]["resource"];
    assert!(
        !edits(audit).contains(&"manifestation-as-principal".to_string()),
        "{audit}"
    );
    let (_, found) = coder.get(&format!("{review}&status=completed"));
    assert_eq!(found["total"], 1, "{found}");
    // who and when of every step: the coding Task's history
    let (_, history) = coder.get(&format!("Task/coding-{enc}/_history"));
    let steps: Vec<&str> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["resource"]["businessStatus"]["coding"][0]["code"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(steps, ["final", "audited", "coded"]);
    let last = &history["entry"][0]["resource"];
    assert_eq!(last["status"], "completed");
    assert_eq!(last["owner"]["display"], "anonymous (auth off)");
    assert_eq!(last["note"].as_array().unwrap().len(), 3);
    assert!(last["note"][2]["text"]
        .as_str()
        .unwrap()
        .contains("sequence fixed"));

    // billing polls for new final encounters and pulls the codes and a Claim
    let since = polled_from.format("%Y-%m-%dT%H:%M:%SZ").to_string();
    assert_eq!(
        billing.ids(&format!(
            "Encounter?coding-status=final&_lastUpdated=gt{since}"
        )),
        vec![enc.to_string()]
    );
    let (status, codes) = billing.get(&format!("Encounter/{enc}/$billing-codes"));
    assert_eq!(status, 200, "{codes}");
    let dx = param(&codes, "diagnosis");
    assert_eq!(dx.len(), 2);
    assert_eq!(part(dx[0], "type")["valueCode"], "principal");
    assert_eq!(part(dx[0], "code")["valueCoding"]["code"], "E85.9");
    assert_eq!(part(dx[0], "poa")["valueCode"], "Y");
    assert_eq!(part(dx[1], "sequence")["valueInteger"], 2);
    assert_eq!(part(dx[1], "code")["valueCoding"]["code"], "G63");
    let px = param(&codes, "procedure");
    assert_eq!(part(px[0], "code")["valueCoding"]["code"], "0DTJ4ZZ");
    assert_eq!(part(px[0], "date")["valueDateTime"], "2026-01-12");
    assert_eq!(
        part(px[0], "performer")["valueReference"]["reference"],
        format!("Practitioner/{attending}")
    );

    let (status, claim) = billing.post(&format!("Encounter/{enc}/$claim"), &json!({}));
    assert_eq!(status, 201, "{claim}");
    assert_eq!(claim["status"], "draft");
    assert_eq!(claim["type"]["coding"][0]["code"], "institutional");
    assert_eq!(claim["priority"]["coding"][0]["code"], "normal");
    assert_eq!(claim["patient"]["reference"], format!("Patient/{patient}"));
    assert_eq!(
        claim["provider"]["reference"],
        format!("Practitioner/{attending}")
    );
    assert_eq!(claim["diagnosis"][0]["sequence"], 1);
    assert_eq!(
        claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0]["code"],
        "E85.9"
    );
    assert_eq!(
        claim["diagnosis"][0]["onAdmission"]["coding"][0]["code"],
        "y"
    );
    assert_eq!(
        claim["diagnosis"][1]["onAdmission"]["coding"][0]["code"],
        "n"
    );
    assert_eq!(claim["procedure"][0]["date"], "2026-01-12");
    assert_eq!(
        claim["insurance"][0]["coverage"]["reference"],
        format!("Coverage/{}", coverage[0])
    );
    let (status, again) = billing.post(&format!("Encounter/{enc}/$claim"), &json!({}));
    assert_eq!((status, again["id"].clone()), (200, claim["id"].clone()));
    assert_eq!(
        billing
            .ids(&format!("Claim?encounter=Encounter/{enc}"))
            .len(),
        1
    );

    // the diagnoses billing was given do not change behind its back
    let (_, final_enc) = coder.get(&format!("Encounter/{enc}"));
    let mut changed = final_enc.clone();
    changed["diagnosis"][1]["rank"] = json!(3);
    let (status, o) = coder.put(&format!("Encounter/{enc}"), &changed);
    assert_eq!(status, 422, "{o}");
    assert_eq!(o["issue"][0]["expression"][0], "Encounter.diagnosis");
    let mut other = final_enc.clone();
    other["serviceType"] = json!({"text": "General medicine"});
    assert_eq!(
        coder.put(&format!("Encounter/{enc}"), &other).0,
        200,
        "other elements may change"
    );

    // off the DNFB once final; a correction brings it back
    let (_, dnfb) = coder.get("$dnfb");
    assert!(dnfb_encounters(&dnfb).is_empty(), "{dnfb}");
    assert_eq!(
        coder.set_status(enc, "coded", Some("query to physician")).0,
        200
    );
    let (_, dnfb) = coder.get("$dnfb");
    assert_eq!(dnfb_encounters(&dnfb), [format!("Encounter/{enc}")]);
    assert_eq!(
        billing.get(&format!("Encounter/{enc}/$billing-codes")).0,
        409
    );
    assert_eq!(
        coder.put(&format!("Encounter/{enc}"), &changed).0,
        200,
        "coded again: editable"
    );
}
crate::on_both_backends!(coding_workflow_scenario);

/// Roles decide: the coder (fhirUser = a Practitioner) owns the coding Task and finds it on
/// the owner worklist; billing may not code but pulls codes and Claims; a clinician token
/// without Claim scopes gets 403 for both billing calls.
fn roles_decide(backend: Backend) {
    let app = secured(backend);
    let ehr = Caller {
        app: &app,
        token: Some(token("ehr", &["integration"], "", None)),
    };
    let create = |resource: Value| {
        let (status, body) = ehr.post(resource["resourceType"].as_str().unwrap(), &resource);
        assert_eq!(status, 201, "{body}");
        body["id"].as_str().unwrap().to_string()
    };
    let patient =
        create(json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-03-02"}));
    let coder_id = create(json!({"resourceType": "Practitioner", "name": [{"family": "Coder"}]}));
    let subject = json!({"reference": format!("Patient/{patient}")});
    let e85 = create(json!({"resourceType": "Condition", "subject": subject,
        "code": {"coding": [{"system": CM, "code": "E85.9"}]}}));
    let enc = create(json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": subject, "serviceProvider": {"display": "General Hospital"},
        "period": {"start": "2026-01-10T08:00:00Z", "end": "2026-01-15T12:00:00Z"},
        "diagnosis": [diagnosis(&format!("Condition/{e85}"), 1, "Y")]}));
    let coder_user = format!("Practitioner/{coder_id}");
    let coder = Caller {
        app: &app,
        token: Some(token("coder-1", &["coder"], "", Some(&coder_user))),
    };
    let billing = Caller {
        app: &app,
        token: Some(token("biller", &["billing"], "", None)),
    };
    let clinician = Caller {
        app: &app,
        token: Some(token(
            "doc",
            &["clinician"],
            "user/Patient.rs user/Encounter.rs user/Condition.rs",
            None,
        )),
    };
    // the DNFB respects the patient compartment of a patient/ token
    let (status, dnfb) = billing.get("$dnfb");
    assert_eq!(
        (status, dnfb_encounters(&dnfb)),
        (200, vec![format!("Encounter/{enc}")])
    );
    let of_patient = |id: &str| {
        let claims = Claims {
            aud: Some("chartroom".into()),
            exp: chrono::Utc::now().timestamp() + 600,
            sub: "portal".into(),
            scope: "patient/Encounter.rs".into(),
            patient: Some(id.into()),
            ..Claims::default()
        };
        let (status, list) = parts(
            app.get("$dnfb")
                .bearer_auth(mint(&claims, SECRET).unwrap())
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{list}");
        dnfb_encounters(&list).len()
    };
    assert_eq!((of_patient(&patient), of_patient("someone-else")), (1, 0));
    assert_eq!(
        billing.set_status(&enc, "coded", None).0,
        403,
        "billing may not code"
    );
    assert_eq!(
        clinician.set_status(&enc, "coded", None).0,
        403,
        "no Encounter update scope"
    );
    assert_eq!(coder.set_status(&enc, "coded", None).0, 200);
    let worklist = format!("Task?code={TASK}|coding&status=in-progress&owner={coder_user}");
    assert_eq!(coder.ids(&worklist), [format!("coding-{enc}")]);
    assert!(coder
        .ids(&format!(
            "Task?code={TASK}|coding&owner=Practitioner/someone-else"
        ))
        .is_empty());
    assert_eq!(coder.set_status(&enc, "audited", None).0, 200);
    let (status, p) = coder.set_status(&enc, "final", None);
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        coder
            .ids(&format!(
                "Task?code={TASK}|coding&status=completed&owner={coder_user}"
            ))
            .len(),
        1
    );
    assert_eq!(
        clinician.get(&format!("Encounter/{enc}/$billing-codes")).0,
        403
    );
    assert_eq!(
        clinician
            .post(&format!("Encounter/{enc}/$claim"), &json!({}))
            .0,
        403
    );
    assert_eq!(
        billing.get(&format!("Encounter/{enc}/$billing-codes")).0,
        200
    );
    let (status, claim) = billing.post(&format!("Encounter/{enc}/$claim"), &json!({}));
    assert_eq!(status, 201, "{claim}");
    assert_eq!(claim["provider"]["display"], "General Hospital");
    assert_eq!(
        claim["insurance"][0]["coverage"]["display"],
        "no active Coverage on file (self-pay)"
    );
}
crate::on_both_backends!(roles_decide);

fn create_id(app: &TestApp, resource: Value) -> String {
    app.create(&resource)["id"].as_str().unwrap().to_string()
}

/// `chartroom audit --since` writes review Tasks and completes those of encounters that
/// are clean now.
fn sweep_writes_review_tasks(backend: Backend) {
    let app = spawn(backend);
    let pid = create_id(
        &app,
        json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-03-02"}),
    );
    let subject = json!({"reference": format!("Patient/{pid}")});
    let condition = |code: &str| {
        create_id(
            &app,
            json!({"resourceType": "Condition", "subject": subject,
            "code": {"coding": [{"system": CM, "code": code}]}}),
        )
    };
    let (g63, e85) = (condition("G63"), condition("E85.9"));
    let encounter = |principal: &str, secondary: &str| {
        json!({"resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": subject,
            "period": {"start": "2026-02-01T08:00:00Z", "end": "2026-02-03T12:00:00Z"},
            "diagnosis": [diagnosis(&format!("Condition/{principal}"), 1, "Y"),
                          diagnosis(&format!("Condition/{secondary}"), 2, "Y")]})
    };
    let bad = create_id(&app, encounter(&g63, &e85));
    let good = create_id(&app, encounter(&e85, &g63));
    let run = || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
            .args([
                "audit",
                "--since",
                "2026-01-01",
                "--database-url",
                &app.database_url,
            ])
            .env("CHARTROOM_LOG", "warn")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let table = run();
    assert!(table.contains("manifestation-as-principal"), "{table}");
    let opened = table.lines().find(|l| l.starts_with("opened")).unwrap();
    assert_eq!(opened.split_whitespace().last(), Some("1"), "{table}");
    let review = |enc: &str| {
        let (_, b) = parts(
            app.get(&format!(
                "Task?code={TASK}|coding-review&focus=Encounter/{enc}"
            ))
            .send()
            .unwrap(),
        );
        b["entry"].as_array().cloned().unwrap_or_default()
    };
    let tasks = review(&bad);
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0]["resource"]["status"], "requested");
    assert!(
        review(&good).is_empty(),
        "a clean encounter gets no review Task"
    );
    // a second run changes nothing
    let table = run();
    let count = |table: &str, what: &str| -> String {
        let line = table.lines().find(|l| l.starts_with(what)).unwrap();
        line.split_whitespace().last().unwrap().to_string()
    };
    assert_eq!(
        (count(&table, "unchanged"), count(&table, "opened")),
        ("1".into(), "0".into()),
        "{table}"
    );
    let (_, history) = parts(
        app.get(&format!(
            "Task/{}/_history",
            tasks[0]["resource"]["id"].as_str().unwrap()
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(history["total"], 1, "an unchanged Task gets no new version");
    // fix the bad encounter: the next sweep completes its Task
    let mut fixed = encounter(&e85, &g63);
    fixed["id"] = json!(bad);
    assert_eq!(
        app.put(&format!("Encounter/{bad}"), &fixed)
            .send()
            .unwrap()
            .status(),
        200
    );
    let table = run();
    assert_eq!(count(&table, "completed"), "1", "{table}");
    let tasks = review(&bad);
    assert_eq!(tasks[0]["resource"]["status"], "completed", "{table}");
    assert!(tasks[0]["resource"]["input"].is_null());
}
crate::on_both_backends!(sweep_writes_review_tasks);

/// Two coders moving the same encounter at once: one wins, the other is refused because the
/// status has moved on (the status change is serialised per encounter), and the coding Task
/// has exactly one version.
fn concurrent_status_changes(backend: Backend) {
    let app = spawn(backend);
    let pid = create_id(
        &app,
        json!({"resourceType": "Patient", "gender": "male", "birthDate": "1950-03-02"}),
    );
    let enc = create_id(
        &app,
        json!({"resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
        "subject": {"reference": format!("Patient/{pid}")},
        "period": {"start": "2026-01-10T08:00:00Z", "end": "2026-01-15T12:00:00Z"}}),
    );
    let coder = Caller {
        app: &app,
        token: None,
    };
    for _ in 0..3 {
        let statuses: Vec<u16> = std::thread::scope(|s| {
            let runs: Vec<_> = (0..2)
                .map(|_| s.spawn(|| coder.set_status(&enc, "coded", None).0))
                .collect();
            runs.into_iter().map(|r| r.join().unwrap()).collect()
        });
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 422], "{statuses:?}");
        assert_eq!(coder.set_status(&enc, "uncoded", None).0, 200);
    }
    let (_, history) = coder.get(&format!("Task/coding-{enc}/_history"));
    assert_eq!(
        history["total"], 6,
        "three coded and three uncoded steps, no lost update"
    );
}
crate::on_both_backends!(concurrent_status_changes);
