//! The ground truth equals an independent recount over the files written to disk, and
//! the files themselves are deterministic.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::super::{age_band, write_population, SynthConfig, PROVIDER_FILE};
use super::years_between;

type Stratum = (String, String, String);
/// (category, stratum) -> (patients, encounters, conditions).
type Cells = BTreeMap<(String, Stratum), (BTreeSet<String>, usize, usize)>;

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("chartroom-synth-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    dir
}

fn ndjson(dir: &Path, kind: &str) -> Vec<Value> {
    fs::read_to_string(dir.join("ndjson").join(format!("{kind}.ndjson")))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("ndjson line is JSON"))
        .collect()
}

#[test]
fn ground_truth_matches_a_recount_of_the_written_files() {
    let dir = scratch("recount");
    let mut cfg = SynthConfig::new(300, 4242);
    cfg.error_rate = 0.1;
    let truth = write_population(&cfg, &dir).expect("written");
    let on_disk: Value = serde_json::from_str(
        &fs::read_to_string(dir.join("ground-truth.json")).expect("truth file"),
    )
    .expect("json");
    assert_eq!(on_disk, serde_json::to_value(&truth).expect("serializable"));

    let mut names: Vec<String> = fs::read_dir(dir.join("bundles"))
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names.len(), 301);
    assert_eq!(names[0], PROVIDER_FILE);

    // Resource counts.
    for (kind, count) in &truth.resources {
        assert_eq!(ndjson(&dir, kind).len(), *count, "{kind}");
    }
    // Patients by stratum.
    let mut stratum: HashMap<String, (String, String, String)> = HashMap::new();
    let mut population: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for p in ndjson(&dir, "Patient") {
        let age = years_between(p["birthDate"].as_str().unwrap_or_default(), &truth.as_of);
        let key = (
            p["gender"].as_str().unwrap_or_default().to_string(),
            age_band(u32::try_from(age).unwrap_or(0)).to_string(),
            p["address"][0]["state"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        *population.entry(key.clone()).or_default() += 1;
        stratum.insert(
            format!("Patient/{}", p["id"].as_str().unwrap_or_default()),
            key,
        );
    }
    let recount: BTreeMap<_, _> = truth
        .population
        .iter()
        .map(|c| {
            (
                (c.sex.clone(), c.age_band.clone(), c.state.clone()),
                c.patients,
            )
        })
        .collect();
    assert_eq!(population, recount);

    // Conditions and encounters by category and stratum.
    let mut condition_category: HashMap<String, String> = HashMap::new();
    let mut cells: Cells = BTreeMap::new();
    for c in ndjson(&dir, "Condition") {
        let category: String = c["code"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
            .chars()
            .take(3)
            .collect();
        let patient = c["subject"]["reference"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        condition_category.insert(
            format!("Condition/{}", c["id"].as_str().unwrap_or_default()),
            category.clone(),
        );
        let cell = cells
            .entry((category, stratum[&patient].clone()))
            .or_default();
        cell.0.insert(patient);
        cell.2 += 1;
    }
    let mut principal: BTreeMap<String, usize> = BTreeMap::new();
    for e in ndjson(&dir, "Encounter") {
        let patient = e["subject"]["reference"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let mut listed = BTreeSet::new();
        for d in e["diagnosis"].as_array().into_iter().flatten() {
            let category = condition_category
                [d["condition"]["reference"].as_str().unwrap_or_default()]
            .clone();
            if d["rank"] == 1 {
                *principal.entry(category.clone()).or_default() += 1;
            }
            listed.insert(category);
        }
        for category in listed {
            cells
                .entry((category, stratum[&patient].clone()))
                .or_default()
                .1 += 1;
        }
    }
    let expected: BTreeMap<_, _> = truth
        .category_cells
        .iter()
        .map(|c| {
            (
                (
                    c.category.clone(),
                    (c.sex.clone(), c.age_band.clone(), c.state.clone()),
                ),
                (c.patients, c.encounters, c.conditions),
            )
        })
        .collect();
    let recounted: BTreeMap<_, _> = cells
        .into_iter()
        .map(|(k, (patients, encounters, conditions))| {
            (k, (patients.len(), encounters, conditions))
        })
        .collect();
    assert_eq!(recounted, expected);
    for (category, totals) in &truth.categories {
        assert_eq!(
            principal.get(category).copied().unwrap_or(0),
            totals.principal_encounters,
            "{category}"
        );
        assert_eq!(truth.prevalence[category].numerator, totals.patients);
        assert_eq!(truth.prevalence[category].denominator, 300);
    }
    assert!(truth.categories["I10"].patients > 20);
    // Planted items point at resources that exist.
    let encounters: BTreeSet<String> = ndjson(&dir, "Encounter")
        .iter()
        .filter_map(|e| e["identifier"][0]["value"].as_str().map(str::to_string))
        .collect();
    for issue in truth.seeded_errors.iter().chain(&truth.documentation_gaps) {
        assert!(encounters.contains(&issue.encounter_identifier));
    }
    assert!(!truth.seeded_errors.is_empty() && !truth.documentation_gaps.is_empty());
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn written_files_are_byte_identical_across_runs() {
    let (a, b) = (scratch("det-a"), scratch("det-b"));
    let cfg = SynthConfig::new(25, 11);
    write_population(&cfg, &a).expect("written");
    write_population(&cfg, &b).expect("written");
    for sub in ["bundles", "ndjson"] {
        for entry in fs::read_dir(a.join(sub)).expect("dir") {
            let name = entry.expect("entry").file_name();
            assert_eq!(
                fs::read(a.join(sub).join(&name)).ok(),
                fs::read(b.join(sub).join(&name)).ok(),
                "{name:?}"
            );
        }
    }
    assert_eq!(
        fs::read(a.join("ground-truth.json")).ok(),
        fs::read(b.join("ground-truth.json")).ok()
    );
    let _ = fs::remove_dir_all(&a);
    let _ = fs::remove_dir_all(&b);
}
