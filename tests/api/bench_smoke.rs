//! The benchmark harness builds and completes a tiny run on both stores (figures are not
//! checked: benchmarks measure, tests assert behaviour), and `chartroom synth` writes a
//! population with its ground truth.

use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

fn scratch(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{name}-{}", uuid::Uuid::new_v4().simple()))
}

#[test]
fn bench_smoke_run_writes_results_for_both_stores() {
    let out = scratch("bench-smoke");
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom-bench"))
        .args(["--patients", "100", "--seconds", "1", "--connections", "4"])
        .args(["--date", "2000-01-01", "--sqlite-synchronous", "NORMAL"])
        .arg("--pg-url")
        .arg(crate::helpers::pg_admin_url())
        .arg("--out")
        .arg(&out)
        .output()
        .expect("run chartroom-bench");
    assert!(
        output.status.success(),
        "chartroom-bench failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    for store in ["sqlite", "postgres"] {
        let json = std::fs::read_to_string(out.join(format!("2000-01-01-{store}.json")))
            .expect("json results");
        let result: Value = serde_json::from_str(&json).expect("results parse");
        assert_eq!(result["store"], store);
        assert_eq!(result["patients"], 100);
        assert_eq!(
            result["ingest"]["errors"], 0,
            "{store}: {}",
            result["ingest"]["first_error"]
        );
        let loaded = result["ingest"]["resources"].as_u64().unwrap_or(0);
        let by_type: u64 = result["resources_by_type"]
            .as_object()
            .expect("resources_by_type")
            .values()
            .filter_map(Value::as_u64)
            .sum();
        assert!(
            loaded > 100 && loaded == by_type,
            "{store}: {loaded} loaded"
        );
        assert_eq!(result["read"].as_array().map(Vec::len), Some(3));
        let searches = result["searches"].as_array().expect("searches");
        assert_eq!(searches.len(), 8);
        for search in searches {
            assert_eq!(search["stats"]["errors"], 0, "{store}: {search}");
            assert!(search["stats"]["requests"].as_u64().unwrap_or(0) > 0);
        }
        let explained = searches
            .iter()
            .filter(|s| {
                s["plan"]["statement"] != "none"
                    && s["plan"]["lines"].as_array().is_some_and(|l| !l.is_empty())
            })
            .count();
        assert_eq!(
            explained, 7,
            "{store}: every search but $everything has a plan"
        );
        for (name, stats) in [
            ("crud mix", &result["crud_mix"]),
            ("fixed-rate search", &result["fixed_rate_search"]["stats"]),
            (
                "create, validation off",
                &result["coding"]["create_validation_off"],
            ),
            (
                "create, validation on",
                &result["coding"]["create_validation_on"],
            ),
            ("$lookup", &result["coding"]["lookup"]),
            ("$audit-coding", &result["coding"]["audit_encounter"]),
        ] {
            assert_eq!(stats["errors"], 0, "{store} {name}: {stats}");
            assert!(
                stats["requests"].as_u64().unwrap_or(0) > 0,
                "{store} {name}"
            );
        }
        for tx in result["small_transactions"]
            .as_array()
            .expect("transactions")
        {
            assert_eq!(tx[1]["errors"], 0, "{store} transactions: {tx}");
        }
        assert!(result["coding"]["sweep_encounters"].as_u64().unwrap_or(0) > 100);
        let md = std::fs::read_to_string(out.join(format!("2000-01-01-{store}.md")))
            .expect("markdown results");
        assert!(md.contains("## Targets of issue 11"));
    }
    let search = std::fs::read_to_string(out.join("search.md")).expect("search.md");
    assert!(search.contains("## sqlite") && search.contains("## postgres"));
    let coding = std::fs::read_to_string(out.join("coding.md")).expect("coding.md");
    assert!(coding.contains("validate-on-write overhead"));
    let _ = std::fs::remove_dir_all(&out);
}

#[test]
fn synth_subcommand_writes_population_and_ground_truth() {
    let out = scratch("synth");
    let output = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["synth", "--patients", "5", "--seed", "3", "--out"])
        .arg(&out)
        .output()
        .expect("run chartroom synth");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("ground-truth.json") && stdout.contains("patients 5"),
        "{stdout}"
    );
    let truth: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("ground-truth.json")).expect("ground truth"),
    )
    .expect("ground truth parses");
    assert_eq!(truth["patients"], 5);
    let patients = std::fs::read_to_string(out.join("ndjson/Patient.ndjson")).expect("ndjson");
    assert_eq!(patients.lines().count(), 5);
    let bad = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["synth", "--error-rate", "2", "--out"])
        .arg(&out)
        .output()
        .expect("run chartroom synth");
    assert!(!bad.status.success());
    let _ = std::fs::remove_dir_all(&out);
}
