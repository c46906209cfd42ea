//! Search through HTTP: every parameter type with its modifiers and prefixes, chains,
//! `_has`, includes, sorting, paging while writing, result parameters, compartments.

use crate::both;
use crate::helpers::{entry_resources, match_ids as ids, parts, put_all, TestApp};
use serde_json::{json, Value};

fn seed(app: &TestApp) {
    let resources = vec![
        json!({"resourceType": "Patient", "id": "peter", "name": [{"family": "Chalmers", "given": ["Peter", "James"]}], "gender": "male", "birthDate": "1974-12-25",
               "identifier": [{"system": "urn:mrn", "value": "M1", "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}}],
               "address": [{"city": "Boston", "state": "MA", "postalCode": "02110"}], "active": true}),
        json!({"resourceType": "Patient", "id": "anna", "name": [{"family": "Chålmérs", "given": ["Anna"]}], "gender": "female", "birthDate": "1990-01-02",
               "identifier": [{"system": "urn:mrn", "value": "M2"}], "active": false}),
        json!({"resourceType": "Patient", "id": "zoe", "name": [{"family": "Young", "given": ["Zoe"]}], "gender": "female", "birthDate": "2010-06",
               "managingOrganization": {"reference": "Organization/org1"}}),
        json!({"resourceType": "Organization", "id": "org1", "name": "General Hospital"}),
        json!({"resourceType": "Practitioner", "id": "doc1", "name": [{"family": "House"}]}),
        json!({"resourceType": "Encounter", "id": "enc1", "status": "finished", "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
               "subject": {"reference": "Patient/peter"}, "period": {"start": "2024-03-01T08:00:00Z", "end": "2024-03-05T12:00:00Z"},
               "participant": [{"individual": {"reference": "Practitioner/doc1"}}]}),
        json!({"resourceType": "Observation", "id": "bp1", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}], "text": "Systolic BP"},
               "subject": {"reference": "Patient/peter"}, "encounter": {"reference": "Encounter/enc1"}, "effectiveDateTime": "2024-03-02T10:00:00Z",
               "valueQuantity": {"value": 142, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}),
        json!({"resourceType": "Observation", "id": "bp2", "status": "final", "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
               "subject": {"reference": "Patient/anna"}, "effectiveDateTime": "2023-07-15",
               "valueQuantity": {"value": 118.5, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}}),
        json!({"resourceType": "Observation", "id": "wt1", "status": "preliminary", "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
               "subject": {"reference": "Patient/zoe"}, "effectiveDateTime": "2022-01-10",
               "valueQuantity": {"value": 40, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg"}}),
        json!({"resourceType": "Condition", "id": "dm", "subject": {"reference": "Patient/peter"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.65"}]}, "onsetDateTime": "2015"}),
        json!({"resourceType": "Condition", "id": "htn", "subject": {"reference": "Patient/anna"}, "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "I10"}]}}),
        json!({"resourceType": "RiskAssessment", "id": "risk1", "status": "final", "subject": {"reference": "Patient/peter"}, "prediction": [{"probabilityDecimal": 0.35}]}),
        json!({"resourceType": "ValueSet", "id": "vs1", "status": "active", "url": "http://example.org/fhir/ValueSet/sub/vs1"}),
    ];
    put_all(app, resources);
}

fn check(app: &TestApp, cases: &[(&str, &[&str])]) {
    for (query, expected) in cases {
        assert_eq!(ids(app, query), *expected, "{query}");
    }
}

both!(string_parameters, |app| {
    seed(&app);
    check(
        &app,
        &[
            ("Patient?name=chal", &["anna", "peter"]),
            ("Patient?name=CHALMERS", &["anna", "peter"]),
            ("Patient?family=Chalmers", &["anna", "peter"]),
            ("Patient?family:exact=Chalmers", &["peter"]),
            ("Patient?family:exact=chalmers", &[]),
            ("Patient?name:contains=lmer", &["anna", "peter"]),
            ("Patient?given=jam", &["peter"]),
            ("Patient?address-city=bos", &["peter"]),
            ("Patient?name=zoe,anna", &["anna", "zoe"]),
            ("Patient?name=chal&name=anna", &["anna"]),
            ("Patient?address-city:missing=true", &["anna", "zoe"]),
            ("Patient?address-city:missing=false", &["peter"]),
        ],
    );
});

both!(token_parameters, |app| {
    seed(&app);
    check(
        &app,
        &[
            ("Observation?code=http://loinc.org|8480-6", &["bp1", "bp2"]),
            ("Observation?code=8480-6", &["bp1", "bp2"]),
            ("Observation?code=http://other|8480-6", &[]),
            ("Observation?code=http://loinc.org|", &["bp1", "bp2", "wt1"]),
            ("Patient?identifier=|M1", &[]),
            ("Patient?identifier=urn:mrn|M1", &["peter"]),
            ("Patient?gender=female", &["anna", "zoe"]),
            ("Patient?gender:not=female", &["peter"]),
            ("Patient?active=true", &["peter"]),
            ("Observation?code:text=systolic", &["bp1"]),
            (
                "Patient?identifier:of-type=http://terminology.hl7.org/CodeSystem/v2-0203|MR|M1",
                &["peter"],
            ),
            ("Condition?code:below=E11", &["dm"]),
            (
                "Condition?code:below=http://hl7.org/fhir/sid/icd-10-cm|E",
                &["dm"],
            ),
            ("Condition?code:above=E11.65", &["dm"]),
            (
                "Observation?status=final,preliminary",
                &["bp1", "bp2", "wt1"],
            ),
            ("Observation?status:missing=true", &[]),
        ],
    );
});

both!(date_parameters_with_every_prefix, |app| {
    seed(&app);
    check(
        &app,
        &[
            ("Patient?birthdate=1974-12-25", &["peter"]),
            ("Patient?birthdate=1974", &["peter"]),
            ("Patient?birthdate=1974-12", &["peter"]),
            ("Patient?birthdate=eq2010-06", &["zoe"]),
            ("Patient?birthdate=2010-06-15", &[]),
            ("Patient?birthdate=ne1974-12-25", &["anna", "zoe"]),
            ("Patient?birthdate=gt1990-01-01", &["anna", "zoe"]),
            ("Patient?birthdate=ge1990-01-02", &["anna", "zoe"]),
            ("Patient?birthdate=lt1990-01-02", &["peter"]),
            ("Patient?birthdate=le1990-01-02", &["anna", "peter"]),
            ("Patient?birthdate=sa1990", &["zoe"]),
            ("Patient?birthdate=eb1990", &["peter"]),
            ("Patient?birthdate=ap1990-01-05", &["anna"]),
            ("Patient?birthdate=ge1980&birthdate=le2000", &["anna"]),
            ("Encounter?date=2024-03-03", &[]),
            ("Encounter?date=ge2024-03-03", &["enc1"]),
            ("Encounter?date=le2024-03-03", &["enc1"]),
            ("Encounter?date=2024-03", &["enc1"]),
            ("Observation?date=ge2023-01-01T00:00:00Z", &["bp1", "bp2"]),
            ("Condition?onset-date=2015", &["dm"]),
        ],
    );
});

both!(number_quantity_reference_uri_composite, |app| {
    seed(&app);
    check(
        &app,
        &[
            ("RiskAssessment?probability=0.35", &["risk1"]),
            ("RiskAssessment?probability=gt0.3", &["risk1"]),
            ("RiskAssessment?probability=lt0.3", &[]),
            ("RiskAssessment?probability=ap0.34", &["risk1"]),
            ("Observation?value-quantity=142", &["bp1"]),
            ("Observation?value-quantity=gt120", &["bp1"]),
            ("Observation?value-quantity=le118.5", &["bp2", "wt1"]),
            (
                "Observation?value-quantity=ge100|http://unitsofmeasure.org|mm[Hg]",
                &["bp1", "bp2"],
            ),
            ("Observation?value-quantity=gt10||kg", &["wt1"]),
            ("Observation?value-quantity=ne142", &["bp2", "wt1"]),
            ("Observation?subject=Patient/peter", &["bp1"]),
            ("Observation?subject=peter", &["bp1"]),
            ("Observation?subject:Patient=anna", &["bp2"]),
            ("Observation?patient=zoe", &["wt1"]),
            (
                "Observation?subject=http://elsewhere.example/fhir/Patient/peter",
                &["bp1"],
            ),
            ("Observation?encounter:missing=true", &["bp2", "wt1"]),
            (
                "ValueSet?url=http://example.org/fhir/ValueSet/sub/vs1",
                &["vs1"],
            ),
            (
                "ValueSet?url:below=http://example.org/fhir/ValueSet",
                &["vs1"],
            ),
            (
                "ValueSet?url:above=http://example.org/fhir/ValueSet/sub/vs1/child",
                &["vs1"],
            ),
            ("ValueSet?url=http://example.org/fhir/ValueSet", &[]),
            (
                "Observation?code-value-quantity=http://loinc.org|8480-6$gt130",
                &["bp1"],
            ),
            (
                "Observation?code-value-quantity=8480-6$lt130,29463-7$gt30",
                &["bp2", "wt1"],
            ),
            ("Observation?code-value-quantity=29463-7$gt130", &[]),
        ],
    );
});

both!(chains_and_reverse_chains, |app| {
    seed(&app);
    check(
        &app,
        &[
            ("Observation?subject:Patient.name=peter", &["bp1"]),
            ("Observation?subject.gender=female", &["bp2", "wt1"]),
            (
                "Observation?encounter.subject:Patient.birthdate=1974",
                &["bp1"],
            ),
            ("Patient?organization.name=general", &["zoe"]),
            (
                "Patient?_has:Observation:patient:code=8480-6",
                &["anna", "peter"],
            ),
            (
                "Patient?_has:Observation:patient:value-quantity=gt130",
                &["peter"],
            ),
            ("Patient?_has:Condition:subject:code:below=E11", &["peter"]),
            (
                "Practitioner?_has:Encounter:practitioner:_has:Observation:encounter:code=8480-6",
                &["doc1"],
            ),
            (
                "Encounter?_has:Observation:encounter:subject.name=chalmers",
                &["enc1"],
            ),
        ],
    );
});

fn entry_ids(bundle: &Value, mode: &str) -> Vec<String> {
    let mut ids: Vec<String> = bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == mode)
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap(),
                e["resource"]["id"].as_str().unwrap()
            )
        })
        .collect();
    ids.sort();
    ids
}

both!(includes_and_revincludes, |app| {
    seed(&app);
    let (_, bundle) = parts(
        app.get("Observation?code=8480-6&_include=Observation:subject")
            .send()
            .unwrap(),
    );
    assert_eq!(
        entry_ids(&bundle, "include"),
        ["Patient/anna", "Patient/peter"]
    );
    let (_, bundle) = parts(
        app.get("Observation?_id=bp1&_include=Observation:*")
            .send()
            .unwrap(),
    );
    assert_eq!(
        entry_ids(&bundle, "include"),
        ["Encounter/enc1", "Patient/peter"]
    );
    let (_, bundle) = parts(
        app.get("Patient?_id=peter&_revinclude=Observation:subject&_revinclude=Condition:subject")
            .send()
            .unwrap(),
    );
    assert_eq!(
        entry_ids(&bundle, "include"),
        ["Condition/dm", "Observation/bp1"]
    );
    let (_, bundle) = parts(app.get("Observation?_id=bp1&_include=Observation:encounter&_include:iterate=Encounter:participant").send().unwrap());
    assert_eq!(
        entry_ids(&bundle, "include"),
        ["Encounter/enc1", "Practitioner/doc1"]
    );
    let (_, bundle) = parts(
        app.get("Observation?_id=bp1&_include=Observation:subject:Group")
            .send()
            .unwrap(),
    );
    assert!(entry_ids(&bundle, "include").is_empty());
    assert_eq!(bundle["total"], 1, "includes do not count in total");
});

both!(sorting_and_stable_paging, |app| {
    seed(&app);
    let order = |query: &str| -> Vec<String> {
        let (_, bundle) = parts(app.get(query).send().unwrap());
        bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| e["resource"]["id"].as_str().unwrap().to_string())
            .collect()
    };
    assert_eq!(order("Patient?_sort=birthdate"), ["peter", "anna", "zoe"]);
    assert_eq!(order("Patient?_sort=-birthdate"), ["zoe", "anna", "peter"]);
    assert_eq!(
        order("Patient?_sort=family,-birthdate"),
        ["anna", "peter", "zoe"],
        "Chalmers = Chålmérs, then by birth date"
    );
    assert_eq!(order("Patient?_sort=-_id"), ["zoe", "peter", "anna"]);
    assert_eq!(order("Observation?_sort=-date"), ["bp1", "bp2", "wt1"]);
    assert_eq!(
        order("Patient?_sort=address-city,_id"),
        ["peter", "anna", "zoe"],
        "missing values sort last"
    );

    for i in 0..25 {
        app.put(&format!("Basic/b{i:02}"), &json!({"resourceType": "Basic", "id": format!("b{i:02}"), "code": {"text": format!("t{:02}", 24 - i)}})).send().unwrap();
    }
    for query in [
        "Basic?_count=4",
        "Basic?_count=4&_sort=code",
        "Basic?_count=7&_sort=-_lastUpdated",
    ] {
        let (_, first) = parts(app.get(query).send().unwrap());
        assert!(first["total"].as_i64().unwrap() >= 25);
        let mut seen: Vec<String> = Vec::new();
        let mut page = first;
        let mut writes = 0;
        loop {
            seen.extend(
                page["entry"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|e| e["resource"]["id"].as_str().unwrap().to_string()),
            );
            // resources written while paging must not shift or repeat the pages
            app.create(&json!({"resourceType": "Basic", "code": {"text": "zz-late"}}));
            writes += 1;
            let next = page["link"]
                .as_array()
                .unwrap()
                .iter()
                .find(|l| l["relation"] == "next")
                .map(|l| l["url"].as_str().unwrap().to_string());
            match next {
                Some(url) => page = parts(app.client.get(url).send().unwrap()).1,
                None => break,
            }
        }
        let is_original = |id: &str| id.len() == 3 && id.starts_with('b');
        let originals: Vec<&String> = seen.iter().filter(|id| is_original(id)).collect();
        let mut unique = originals.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            unique.len(),
            25,
            "{query}: every resource once ({writes} writes during paging)"
        );
        assert_eq!(originals.len(), 25, "{query}: no repeats");
        for created in seen.iter().filter(|id| !is_original(id)) {
            assert_eq!(
                seen.iter().filter(|s| *s == created).count(),
                1,
                "{query}: {created} repeated"
            );
        }
    }
});

both!(result_parameters, |app| {
    seed(&app);
    let (_, bundle) = parts(app.get("Patient?_summary=count").send().unwrap());
    assert_eq!(bundle["total"], 3);
    assert!(bundle.get("entry").is_none());
    let (_, bundle) = parts(app.get("Patient?_id=peter&_summary=true").send().unwrap());
    let patient = &bundle["entry"][0]["resource"];
    assert!(patient.get("name").is_some() && patient.get("text").is_none());
    assert!(patient["meta"]["tag"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["code"] == "SUBSETTED"));
    let (_, bundle) = parts(
        app.get("Patient?_id=peter&_elements=gender")
            .send()
            .unwrap(),
    );
    let patient = &bundle["entry"][0]["resource"];
    assert_eq!(patient["gender"], "male");
    assert!(patient.get("name").is_none());
    let (_, bundle) = parts(app.get("Patient?_total=none").send().unwrap());
    assert!(bundle.get("total").is_none());
    let (status, _) = parts(app.get("Patient?_count=abc").send().unwrap());
    assert_eq!(status, 400);
    let (_, bundle) = parts(app.get("Patient?nonsense=1&gender=male").send().unwrap());
    assert_eq!(entry_ids(&bundle, "match"), ["Patient/peter"]);
    assert!(bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["search"]["mode"] == "outcome"));
    let self_link = bundle["link"][0]["url"].as_str().unwrap();
    assert!(self_link.contains("gender=male") && !self_link.contains("nonsense"));
    let (status, outcome) = parts(
        app.get("Patient?nonsense=1")
            .header("Prefer", "handling=strict")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400, "{outcome}");
    let (status, _) = parts(
        app.get("Patient?birthdate=notadate")
            .header("Prefer", "handling=strict")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
    let response = app
        .client
        .post(app.url("Patient/_search"))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("gender=female&_sort=birthdate")
        .send()
        .unwrap();
    let (_, bundle) = parts(response);
    assert_eq!(entry_ids(&bundle, "match"), ["Patient/anna", "Patient/zoe"]);
    check(
        &app,
        &[
            ("Patient?_id=peter,zoe", &["peter", "zoe"]),
            (
                "Patient?_lastUpdated=gt2000-01-01",
                &["anna", "peter", "zoe"],
            ),
            ("Patient?_lastUpdated=lt2000-01-01", &[]),
        ],
    );
});

both!(system_compartment_and_everything, |app| {
    seed(&app);
    let (_, bundle) = parts(
        app.get("?_type=Patient,Observation&_id=peter,bp1")
            .send()
            .unwrap(),
    );
    assert_eq!(
        entry_ids(&bundle, "match"),
        ["Observation/bp1", "Patient/peter"]
    );
    let (_, bundle) = parts(app.get("?_id=org1").send().unwrap());
    assert_eq!(entry_ids(&bundle, "match"), ["Organization/org1"]);
    check(
        &app,
        &[
            ("Patient/peter/Observation", &["bp1"]),
            ("Patient/peter/Condition?code=E11.65", &["dm"]),
            ("Patient/anna/Condition", &["htn"]),
        ],
    );
    let (_, bundle) = parts(app.get("Patient/peter/$everything").send().unwrap());
    assert_eq!(
        entry_ids(&bundle, "match"),
        [
            "Condition/dm",
            "Encounter/enc1",
            "Observation/bp1",
            "Patient/peter",
            "RiskAssessment/risk1"
        ]
    );
    let (_, page) = parts(
        app.get("Patient/peter/$everything?_count=2")
            .send()
            .unwrap(),
    );
    let mut all = entry_ids(&page, "match");
    let mut page = page;
    while let Some(next) = page["link"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
    {
        page = parts(app.client.get(next).send().unwrap()).1;
        all.extend(entry_ids(&page, "match"));
    }
    all.sort();
    assert_eq!(
        all,
        [
            "Condition/dm",
            "Encounter/enc1",
            "Observation/bp1",
            "Patient/peter",
            "RiskAssessment/risk1"
        ]
    );
    let (status, _) = parts(app.get("Patient/nobody/$everything").send().unwrap());
    assert_eq!(status, 404);
});

both!(conditional_create_update_delete, |app| {
    seed(&app);
    let body = json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "M9"}], "active": true});
    let create = |criteria: &str| {
        parts(
            app.post("Patient", &body)
                .header("If-None-Exist", criteria)
                .send()
                .unwrap(),
        )
    };
    let (status, created) = create("identifier=urn:mrn|M9");
    assert_eq!(status, 201);
    let (status, existing) = create("identifier=urn:mrn|M9");
    assert_eq!(status, 200, "one match: nothing created");
    assert_eq!(existing["id"], created["id"]);
    let (status, _) = create("gender=female");
    assert_eq!(status, 412, "several matches");
    let (status, _) = create("bogus-param=1");
    assert_eq!(status, 400);
    // conditional update: 1 match updates, 0 creates, many 412
    let mut update = body.clone();
    update["active"] = json!(false);
    let (status, updated) = parts(
        app.put("Patient?identifier=urn:mrn|M9", &update)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 200);
    assert_eq!(updated["id"], created["id"]);
    assert_eq!(updated["meta"]["versionId"], "2");
    let mut fresh = update.clone();
    fresh["identifier"][0]["value"] = json!("NEW");
    let (status, _) = parts(
        app.put("Patient?identifier=urn:mrn|NEW", &fresh)
            .send()
            .unwrap(),
    );
    assert_eq!(status, 201);
    let (status, _) = parts(app.put("Patient?gender=female", &update).send().unwrap());
    assert_eq!(status, 412);
    // conditional delete
    let (status, _) = parts(app.delete("Patient?identifier=urn:mrn|M9").send().unwrap());
    assert_eq!(status, 204);
    let (status, _) = parts(
        app.get(&format!("Patient/{}", created["id"].as_str().unwrap()))
            .send()
            .unwrap(),
    );
    assert_eq!(status, 410);
    let (status, _) = parts(app.delete("Patient?gender=female").send().unwrap());
    assert_eq!(status, 412);
    let (status, _) = parts(
        app.delete("Patient?identifier=urn:mrn|nobody")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 204);
});

both!(deleted_and_updated_resources_leave_the_index, |app| {
    seed(&app);
    app.delete("Patient/anna").send().unwrap();
    check(
        &app,
        &[
            ("Patient?name=chal", &["peter"]),
            ("Patient?gender:not=male", &["zoe"]),
        ],
    );
    let mut peter = json!({"resourceType": "Patient", "id": "peter", "name": [{"family": "Smith"}], "gender": "male"});
    app.put("Patient/peter", &peter).send().unwrap();
    check(
        &app,
        &[
            ("Patient?name=chal", &[]),
            ("Patient?name=smith", &["peter"]),
        ],
    );
    peter["name"][0]["family"] = json!("Jones");
    app.put("Patient/peter", &peter).send().unwrap();
    check(
        &app,
        &[
            ("Patient?name=smith", &[]),
            ("Patient?name=jones", &["peter"]),
        ],
    );
});

both!(
    combo_parameters_read_the_observation_and_its_components,
    |app| {
        // bp: code 55284-4 at the root, systolic 8480-6 = 150 and diastolic 8462-4 = 95 as
        // components; hr: 8867-4 = 80 at the root
        let loinc = "http://loinc.org";
        let quantity = |v: f64| json!({"value": v, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"});
        put_all(
            &app,
            vec![
                json!({"resourceType": "Observation", "id": "bp", "status": "final",
                   "code": {"coding": [{"system": loinc, "code": "55284-4"}]},
                   "component": [
                       {"code": {"coding": [{"system": loinc, "code": "8480-6"}]}, "valueQuantity": quantity(150.0)},
                       {"code": {"coding": [{"system": loinc, "code": "8462-4"}]}, "valueQuantity": quantity(95.0)}]}),
                json!({"resourceType": "Observation", "id": "hr", "status": "final",
                   "code": {"coding": [{"system": loinc, "code": "8867-4"}]},
                   "valueQuantity": {"value": 80, "unit": "/min", "system": "http://unitsofmeasure.org", "code": "/min"}}),
            ],
        );
        check(
            &app,
            &[
                ("Observation?combo-code=55284-4", &["bp"]),
                ("Observation?combo-code=8480-6", &["bp"]),
                ("Observation?combo-code=8867-4", &["hr"]),
                ("Observation?code=8480-6", &[]),
                ("Observation?combo-code:missing=false", &["bp", "hr"]),
                ("Observation?combo-value-quantity=95", &["bp"]),
                ("Observation?combo-value-quantity=80", &["hr"]),
                ("Observation?combo-value-quantity=gt100", &["bp"]),
                // each pair comes from one place: the root, or one component
                ("Observation?combo-code-value-quantity=8480-6$150", &["bp"]),
                ("Observation?combo-code-value-quantity=8480-6$95", &[]),
                ("Observation?combo-code-value-quantity=55284-4$150", &[]),
                ("Observation?combo-code-value-quantity=8867-4$80", &["hr"]),
                ("Observation?combo-code-value-quantity=8867-4$gt70", &["hr"]),
            ],
        );
        // sorted by the lowest combo value: hr (80) before bp (95)
        let (status, page) = parts(
            app.get("Observation?_sort=combo-value-quantity&_id=bp,hr")
                .send()
                .unwrap(),
        );
        assert_eq!(status, 200, "{page}");
        let order: Vec<Value> = entry_resources(&page)
            .iter()
            .map(|r| r["id"].clone())
            .collect();
        assert_eq!(order, ["hr", "bp"]);
    }
);
