//! Determinism, reference integrity and clinical plausibility of the generated records.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::super::geo::STATES;
use super::super::providers::npi;
use super::super::{patients, provider_bundle, SynthConfig};
use super::{population, resources, years_between};

#[test]
fn same_seed_same_bytes_different_seed_different_bytes() {
    let cfg = SynthConfig::new(40, 7);
    let a: Vec<String> = patients(&cfg).map(|p| p.bundle.to_string()).collect();
    let b: Vec<String> = patients(&cfg).map(|p| p.bundle.to_string()).collect();
    assert_eq!(a, b);
    assert_eq!(
        provider_bundle(&cfg).to_string(),
        provider_bundle(&cfg).to_string()
    );
    let other: Vec<String> = patients(&SynthConfig::new(40, 8))
        .map(|p| p.bundle.to_string())
        .collect();
    assert_ne!(a, other);
    // A record does not depend on how many records are generated.
    let longer: Vec<String> = patients(&SynthConfig::new(60, 7))
        .map(|p| p.bundle.to_string())
        .take(40)
        .collect();
    assert_eq!(a, longer);
}

fn collect_references<'a>(v: &'a Value, out: &mut Vec<&'a str>) {
    match v {
        Value::Object(map) => {
            for (k, child) in map {
                match (k.as_str(), child.as_str()) {
                    ("reference", Some(r)) => out.push(r),
                    _ => collect_references(child, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|i| collect_references(i, out)),
        _ => {}
    }
}

#[test]
fn every_reference_resolves_in_bundle_or_provider_bundle() {
    let providers = provider_bundle(&SynthConfig::new(1, 20_260_401));
    let mut conditional: HashSet<&str> = HashSet::new();
    let mut npis = HashSet::new();
    for e in providers["entry"].as_array().into_iter().flatten() {
        assert_eq!(e["request"]["method"], "PUT");
        conditional.insert(e["request"]["url"].as_str().unwrap_or_default());
        assert!(
            npis.insert(
                e["resource"]["identifier"][0]["value"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string()
            ),
            "NPIs unique"
        );
    }
    let mut checked = 0;
    for pb in population() {
        assert_eq!(pb.bundle["type"], "transaction");
        let urls: HashSet<&str> = resources(&pb.bundle).map(|(u, _)| u).collect();
        for e in pb.bundle["entry"].as_array().into_iter().flatten() {
            assert_eq!(e["request"]["method"], "POST");
            assert_eq!(e["request"]["url"], e["resource"]["resourceType"]);
            assert!(e["fullUrl"]
                .as_str()
                .unwrap_or_default()
                .starts_with("urn:uuid:"));
        }
        let mut refs = Vec::new();
        collect_references(&pb.bundle, &mut refs);
        for r in refs {
            assert!(
                urls.contains(r) || conditional.contains(r),
                "{} has unresolved reference {r}",
                pb.patient_key
            );
            checked += 1;
        }
    }
    assert!(checked > 10_000);
}

/// (gender, birthDate) of the Patient and the resources of each bundle.
fn patient_of(bundle: &Value) -> (String, String) {
    let p = &bundle["entry"][0]["resource"];
    (
        p["gender"].as_str().unwrap_or_default().to_string(),
        p["birthDate"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn pregnancy_only_in_women_15_to_45_and_prostate_only_in_men() {
    let mut deliveries = 0;
    let mut prostate = 0;
    for pb in population() {
        let (gender, birth) = patient_of(&pb.bundle);
        let seeded: HashSet<String> = pb
            .annotations
            .seeded_errors
            .iter()
            .filter_map(|i| i.condition.clone())
            .collect();
        for (url, r) in resources(&pb.bundle) {
            let code = r["code"]["coding"][0]["code"].as_str().unwrap_or_default();
            let at = r["onsetDateTime"]
                .as_str()
                .or(r["performedDateTime"].as_str())
                .or(r["recordedDate"].as_str())
                .unwrap_or_default();
            let obstetric = code.starts_with('O')
                || code.starts_with("Z37")
                || code.starts_with("Z3A")
                || code == "10E0XZZ"
                || code == "10D00Z1";
            if obstetric && !seeded.contains(url) {
                let age = years_between(&birth, at);
                assert!(
                    gender == "female" && (15..=45).contains(&age),
                    "{code} for {gender} aged {age}"
                );
                deliveries += usize::from(code == "O80" || code == "O82");
            }
            if code == "C61" || code == "0VT04ZZ" {
                assert_eq!(gender, "male");
                prostate += 1;
            }
            if code.starts_with("C50.91") {
                assert_eq!(gender, "female");
            }
        }
    }
    assert!(
        deliveries > 5 && prostate > 5,
        "deliveries {deliveries}, prostate {prostate}"
    );
}

#[test]
fn inpatient_stays_have_diagnoses_procedures_inside_the_stay_and_summaries_unless_seeded() {
    let mut stays = 0;
    for pb in population() {
        let gaps: HashSet<&str> = pb
            .annotations
            .documentation_gaps
            .iter()
            .filter(|g| g.edit_id == "missing-discharge-summary")
            .map(|g| g.encounter.as_str())
            .collect();
        let summaries: HashSet<&str> = resources(&pb.bundle)
            .filter(|(_, r)| r["resourceType"] == "DocumentReference")
            .map(|(_, r)| {
                r["context"]["encounter"][0]["reference"]
                    .as_str()
                    .unwrap_or_default()
            })
            .collect();
        let periods: HashMap<&str, (&str, &str)> = resources(&pb.bundle)
            .filter(|(_, r)| r["resourceType"] == "Encounter")
            .map(|(u, r)| {
                (
                    u,
                    (
                        r["period"]["start"].as_str().unwrap_or_default(),
                        r["period"]["end"].as_str().unwrap_or_default(),
                    ),
                )
            })
            .collect();
        for (url, r) in resources(&pb.bundle) {
            if r["resourceType"] == "Encounter" && r["class"]["code"] == "IMP" {
                stays += 1;
                assert_eq!(summaries.contains(url), !gaps.contains(url), "{url}");
                assert!(r["hospitalization"].is_object());
            }
            if r["resourceType"] == "Procedure" {
                let (start, end) =
                    periods[r["encounter"]["reference"].as_str().unwrap_or_default()];
                let at = r["performedDateTime"].as_str().unwrap_or_default();
                assert!(
                    start <= at && at <= end,
                    "procedure at {at} outside {start}..{end}"
                );
                assert!(r["performer"][0]["actor"]["reference"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with("Practitioner?identifier="));
            }
        }
    }
    assert!(stays > 50, "{stays} stays");
}

#[test]
fn seeded_issue_kinds_all_occur_and_none_at_zero_rate() {
    let mut cfg = SynthConfig::new(400, 99);
    cfg.error_rate = 0.6;
    let mut kinds = HashSet::new();
    for pb in patients(&cfg) {
        for i in pb
            .annotations
            .seeded_errors
            .iter()
            .chain(&pb.annotations.documentation_gaps)
        {
            kinds.insert(i.edit_id.clone());
            assert!(i.encounter_identifier.starts_with(&pb.patient_key));
        }
    }
    for kind in [
        "header-code",
        "missing-7th-character",
        "manifestation-as-principal",
        "age-conflict",
        "missing-principal",
        "missing-discharge-summary",
        "condition-missing-onset",
    ] {
        assert!(kinds.contains(kind), "{kind} never seeded");
    }
    cfg.error_rate = 0.0;
    cfg.patients = 150;
    for pb in patients(&cfg) {
        assert!(
            pb.annotations.seeded_errors.is_empty() && pb.annotations.documentation_gaps.is_empty()
        );
    }
}

#[test]
fn duplicates_share_birth_date_and_sex_and_sensitive_share_is_small() {
    let by_key: HashMap<&str, &Value> = population()
        .iter()
        .map(|p| (p.patient_key.as_str(), &p.bundle))
        .collect();
    let pairs: Vec<_> = population()
        .iter()
        .filter_map(|p| p.annotations.duplicate_of.as_ref())
        .collect();
    assert!(
        (3..=30).contains(&pairs.len()),
        "{} duplicate pairs in 1,000",
        pairs.len()
    );
    for pair in pairs {
        assert!(pair.original_key < pair.duplicate_key && !pair.variations.is_empty());
        assert_eq!(
            patient_of(by_key[pair.original_key.as_str()]),
            patient_of(by_key[pair.duplicate_key.as_str()])
        );
    }
    let sensitive: HashSet<&str> = population()
        .iter()
        .flat_map(|p| &p.annotations.sensitive_records)
        .map(|s| s.patient_key.as_str())
        .collect();
    assert!(
        (5..=50).contains(&sensitive.len()),
        "{} sensitive patients in 1,000",
        sensitive.len()
    );
    for pb in population() {
        let labelled = resources(&pb.bundle)
            .filter(|(_, r)| r["meta"]["security"].is_array())
            .count();
        assert_eq!(labelled, pb.annotations.sensitive_records.len());
    }
}

#[test]
fn metformin_lowers_hba1c() {
    let (mut before, mut after) = (Vec::new(), Vec::new());
    for pb in population() {
        let start = resources(&pb.bundle)
            .find(|(_, r)| r["medicationCodeableConcept"]["coding"][0]["code"] == "860975")
            .and_then(|(_, r)| r["authoredOn"].as_str());
        let Some(start) = start else { continue };
        for (_, r) in
            resources(&pb.bundle).filter(|(_, r)| r["code"]["coding"][0]["code"] == "4548-4")
        {
            let at = r["effectiveDateTime"].as_str().unwrap_or_default();
            let value = r["valueQuantity"]["value"].as_f64().unwrap_or_default();
            if at <= start {
                before.push(value);
            } else if years_between(start, at) >= 1 {
                after.push(value);
            }
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len().max(1) as f64;
    assert!(before.len() > 10 && after.len() > 10);
    assert!(
        mean(&after) < mean(&before) - 0.4,
        "before {} after {}",
        mean(&before),
        mean(&after)
    );
}

#[test]
fn geography_and_identifiers_are_consistent() {
    for st in STATES {
        for (city, zip3) in st.cities {
            let prefix: u16 = zip3.parse().unwrap_or(0);
            assert!(
                st.zip_ranges
                    .iter()
                    .any(|(lo, hi)| (*lo..=*hi).contains(&prefix)),
                "{city}, {} zip {zip3}",
                st.code
            );
        }
    }
    assert_eq!(npi(0).len(), 10);
    let mut old = 0;
    for pb in population() {
        let p = &pb.bundle["entry"][0]["resource"];
        let state = p["address"][0]["state"].as_str().unwrap_or_default();
        let zip = p["address"][0]["postalCode"].as_str().unwrap_or_default();
        let st = STATES
            .iter()
            .find(|s| s.code == state)
            .expect("known state");
        assert!(st.cities.iter().any(|(_, z)| zip.starts_with(z)) && zip.len() == 5);
        let systems: Vec<&str> = p["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| i["system"].as_str())
            .collect();
        assert!(systems.contains(&"urn:oid:2.16.840.1.113883.19.5"));
        if years_between(p["birthDate"].as_str().unwrap_or_default(), "2026-06-30") >= 65 {
            old += 1;
        }
    }
    assert!((100..=260).contains(&old), "{old} of 1,000 aged 65+");
}
