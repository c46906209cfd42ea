//! History at instance, type and system level with paging, `_since` and `_at`.

use crate::helpers::parts;
use crate::{both, both_without_rules};
use serde_json::{json, Value};

fn next_link(bundle: &Value) -> Option<String> {
    bundle["link"]
        .as_array()?
        .iter()
        .find(|l| l["relation"] == "next")
        .map(|l| l["url"].as_str().unwrap().to_string())
}

// the Patient below would open deficiency Tasks, which system history would count
both_without_rules!(history_pages_with_next_links, |app| {
    for i in 0..7 {
        app.create(&json!({"resourceType": "Observation", "status": "final", "code": {"text": format!("o{i}")}}));
    }
    app.create(&json!({"resourceType": "Patient", "active": true}));
    let (status, page) = parts(app.get("Observation/_history?_count=3").send().unwrap());
    assert_eq!(status, 200);
    assert_eq!(page["type"], "history");
    assert_eq!(page["total"], 7);
    let mut seen: Vec<String> = Vec::new();
    let mut page = page;
    loop {
        for entry in page["entry"].as_array().unwrap() {
            seen.push(
                entry["resource"]["code"]["text"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
            assert_eq!(entry["request"]["method"], "POST");
        }
        // a write while paging must not shift the pages
        app.create(
            &json!({"resourceType": "Observation", "status": "final", "code": {"text": "late"}}),
        );
        match next_link(&page) {
            Some(url) => page = parts(app.client.get(url).send().unwrap()).1,
            None => break,
        }
    }
    let expected: Vec<String> = (0..7).rev().map(|i| format!("o{i}")).collect();
    assert_eq!(seen, expected, "newest first, each version once");
    let (_, system) = parts(app.get("_history?_count=100").send().unwrap());
    assert_eq!(system["total"], 11);
});

both!(instance_history_since_and_at, |app| {
    let mut body = json!({"resourceType": "Patient", "id": "h1", "active": true});
    app.put("Patient/h1", &body).send().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let (_, v1) = parts(app.get("Patient/h1").send().unwrap());
    let between = v1["meta"]["lastUpdated"].as_str().unwrap().to_string();
    std::thread::sleep(std::time::Duration::from_millis(20));
    body["active"] = json!(false);
    app.put("Patient/h1", &body).send().unwrap();
    app.delete("Patient/h1").send().unwrap();
    let (_, all) = parts(app.get("Patient/h1/_history").send().unwrap());
    assert_eq!(all["total"], 3);
    let methods: Vec<&str> = all["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["request"]["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["DELETE", "PUT", "PUT"]);
    assert!(
        all["entry"][0].get("resource").is_none(),
        "a deletion carries no resource"
    );
    let (_, since) = parts(
        app.get(&format!(
            "Patient/h1/_history?_since={}",
            between.replace('+', "%2B")
        ))
        .send()
        .unwrap(),
    );
    assert_eq!(
        since["total"], 3,
        "_since includes the version written at that instant"
    );
    let after =
        chartroom::fhir::json::instant(chartroom::fhir::json::epoch_ms(&between).unwrap() + 1);
    let (_, since) = parts(
        app.get(&format!("Patient/h1/_history?_since={after}"))
            .send()
            .unwrap(),
    );
    assert_eq!(since["total"], 2);
    let (_, at) = parts(
        app.get(&format!("Patient/h1/_history?_at={after}"))
            .send()
            .unwrap(),
    );
    assert_eq!(at["total"], 1);
    assert_eq!(at["entry"][0]["resource"]["meta"]["versionId"], "1");
    let (status, _) = parts(app.get("Patient/none/_history").send().unwrap());
    assert_eq!(status, 404);
    let (status, _) = parts(
        app.get("Patient/h1/_history?_since=yesterday")
            .send()
            .unwrap(),
    );
    assert_eq!(status, 400);
});
