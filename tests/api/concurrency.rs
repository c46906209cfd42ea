//! Concurrent writers: one If-Match winner, versions that never repeat or skip.

use crate::both;
use crate::helpers::{parts, TestApp};
use serde_json::json;
use std::sync::Arc;

both!(same_if_match_has_one_winner, |app| {
    let app = Arc::new(app);
    let body = json!({"resourceType": "Patient", "id": "race", "active": true});
    app.put("Patient/race", &body).send().unwrap();
    for round in 1..=5 {
        let barrier = Arc::new(std::sync::Barrier::new(2));
        let handles: Vec<_> = (0..2)
            .map(|_| {
                let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
                let mut body = body.clone();
                body["active"] = json!(round % 2 == 0);
                std::thread::spawn(move || {
                    barrier.wait();
                    app.put("Patient/race", &body)
                        .header("If-Match", format!("W/\"{round}\""))
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        let mut statuses: Vec<u16> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 412], "round {round}");
    }
    let (_, current) = parts(app.get("Patient/race").send().unwrap());
    assert_eq!(current["meta"]["versionId"], "6");
});

fn versions_of(app: &TestApp, path: &str) -> Vec<i64> {
    let (_, history) = parts(
        app.get(&format!("{path}/_history?_count=1000"))
            .send()
            .unwrap(),
    );
    let mut versions: Vec<i64> = history["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            e["response"]["etag"]
                .as_str()
                .unwrap()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse()
                .unwrap()
        })
        .collect();
    versions.sort();
    versions
}

both!(concurrent_updates_never_repeat_or_skip_versions, |app| {
    let app = Arc::new(app);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let app = Arc::clone(&app);
            std::thread::spawn(move || {
                for i in 0..5 {
                    let body = json!({"resourceType": "Patient", "id": "busy", "name": [{"text": format!("{t}-{i}")}]});
                    let status = app.put("Patient/busy", &body).send().unwrap().status().as_u16();
                    assert!(status == 200 || status == 201, "status {status}");
                }
            })
        })
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    assert_eq!(
        versions_of(&app, "Patient/busy"),
        (1..=40).collect::<Vec<i64>>()
    );
});

both!(concurrent_transactions_fail_alone, |app| {
    // SQLite commits concurrent writers together: a Bundle that fails inside the database
    // transaction must take nothing of the others with it, and leave nothing behind itself
    let app = Arc::new(app);
    let barrier = Arc::new(std::sync::Barrier::new(12));
    let handles: Vec<_> = (0..12)
        .map(|i| {
            let (app, barrier) = (Arc::clone(&app), Arc::clone(&barrier));
            std::thread::spawn(move || {
                let mut entries: Vec<_> = (0..20)
                    .map(|n| json!({"resource": {"resourceType": "Patient",
                        "identifier": [{"system": "urn:batch", "value": format!("{i}")}],
                        "name": [{"family": format!("B{i}-{n}")}]},
                        "request": {"method": "POST", "url": "Patient"}}))
                    .collect();
                if i % 3 == 0 {
                    entries.push(json!({"resource": {"resourceType": "Patient", "id": format!("gone{i}")},
                        "request": {"method": "PUT", "url": format!("Patient/gone{i}"), "ifMatch": "W/\"2\""}}));
                }
                let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
                barrier.wait();
                (i, app.post("", &bundle).send().unwrap().status().as_u16())
            })
        })
        .collect();
    for handle in handles {
        let (i, status) = handle.join().unwrap();
        let expected = if i % 3 == 0 { 412 } else { 200 };
        assert_eq!(status, expected, "bundle {i}");
        let (_, found) = parts(
            app.get(&format!("Patient?identifier=urn:batch|{i}&_summary=count"))
                .send()
                .unwrap(),
        );
        let kept = if i % 3 == 0 { 0 } else { 20 };
        assert_eq!(found["total"], kept, "bundle {i}: {found}");
    }
    let (_, all) = parts(app.get("Patient/_history").send().unwrap());
    assert_eq!(all["total"], 160, "{all}");
});
