//! Rebuilding the search index: `$reindex` over HTTP and `chartroom reindex` on the CLI.

use crate::both_without_rules;
use crate::helpers::parts;
use serde_json::json;

// incomplete Patients would open deficiency Tasks, which the reindex would count
both_without_rules!(reindex_repairs_a_damaged_index, |app| {
    for i in 0..30 {
        app.create(&json!({"resourceType": "Patient", "name": [{"family": format!("Reindex{i:02}")}], "gender": "other"}));
    }
    let total = |app: &crate::helpers::TestApp| {
        parts(
            app.get("Patient?name=reindex&_summary=count")
                .send()
                .unwrap(),
        )
        .1["total"]
            .clone()
    };
    assert_eq!(total(&app), 30);
    app.execute_sql("DELETE FROM idx_string; DELETE FROM patient;");
    assert_eq!(total(&app), 0, "the damage is visible");
    let (status, result) = parts(app.client.post(app.url("$reindex")).send().unwrap());
    assert_eq!(status, 200, "{result}");
    assert_eq!(result["parameter"][0]["valueInteger"], 30);
    assert_eq!(total(&app), 30, "the index is whole again");

    app.execute_sql("DELETE FROM idx_token;");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args([
            "reindex",
            "--restart",
            "--batch",
            "7",
            "--database-url",
            &app.database_url,
        ])
        .env("CHARTROOM_LOG", "warn")
        .output()
        .expect("run chartroom reindex");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stdout).contains("reindexed 30 resource(s)"));
    assert_eq!(
        parts(
            app.get("Patient?gender=other&_summary=count")
                .send()
                .unwrap()
        )
        .1["total"],
        30
    );
});
