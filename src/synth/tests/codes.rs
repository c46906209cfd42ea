//! Every emitted code is valid in the shipped FY2026 tables (and has been since the start
//! of the activity window); non-billable codes appear only where an error was seeded.

use std::collections::{HashMap, HashSet};
use std::io::Read;

use flate2::read::GzDecoder;

use super::super::catalog::CHRONIC;
use super::super::events::{
    cancer_surgery, ABUSE, ACUTE, ASSAULT, HOSPITAL_UTI, MANIFESTATIONS, OBSTETRIC_CONFLICT, STAYS,
    TRANSFUSION, VENTILATION,
};
use super::super::fhir::{ICD10CM, ICD10PCS, LOINC};
use super::{population, resources};

const CM_CODES: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/coding/icd10cm-codes-2026-04-01.txt.gz"
));
const MCE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/coding/mce-v43.1-edits.tsv.gz"
));

fn gunzip(bytes: &[u8]) -> String {
    let mut out = String::new();
    GzDecoder::new(bytes)
        .read_to_string(&mut out)
        .expect("shipped table is gzip text");
    out
}

/// MCE rows: (table, code) -> [(start, end, flags)].
type MceRows = HashMap<(String, String), Vec<(String, String, String)>>;

struct Tables {
    /// Every code and header of the tabular list, without dots.
    all_cm: HashSet<String>,
    /// Codes with no children.
    billable_cm: HashSet<String>,
    /// MCE rows: (table, code) -> [(start, end, flags)].
    mce: MceRows,
}

fn tables() -> &'static Tables {
    static TABLES: std::sync::OnceLock<Tables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let mut codes: Vec<String> = gunzip(CM_CODES)
            .lines()
            .filter(|l| !l.contains('-') && !l.is_empty())
            .map(|l| l.replace('.', ""))
            .collect();
        codes.sort();
        let billable = codes
            .iter()
            .enumerate()
            .filter(|(i, c)| {
                codes
                    .get(i + 1)
                    .is_none_or(|next| !next.starts_with(c.as_str()))
            })
            .map(|(_, c)| c.clone())
            .collect();
        let mut mce: MceRows = HashMap::new();
        for line in gunzip(MCE).lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            if cols.len() >= 4 {
                let flags = cols.get(4).copied().unwrap_or_default().to_string();
                mce.entry((cols[0].to_string(), cols[1].to_string()))
                    .or_default()
                    .push((cols[2].to_string(), cols[3].to_string(), flags));
            }
        }
        Tables {
            all_cm: codes.into_iter().collect(),
            billable_cm: billable,
            mce,
        }
    })
}

/// Valid in the MCE on every given day (YYYYMMDD).
fn mce_valid(table: &str, code: &str, days: &[&str]) -> bool {
    let rows = tables()
        .mce
        .get(&(table.to_string(), code.replace('.', "")));
    days.iter().all(|day| {
        rows.into_iter().flatten().any(|(start, end, _)| {
            start.as_str() <= *day && (end.is_empty() || end.as_str() >= *day)
        })
    })
}

fn mce_flags(table: &str, code: &str, day: &str) -> String {
    let rows = tables()
        .mce
        .get(&(table.to_string(), code.replace('.', "")));
    rows.into_iter()
        .flatten()
        .find(|(s, e, _)| s.as_str() <= day && (e.is_empty() || e.as_str() >= day))
        .map(|r| r.2.clone())
        .unwrap_or_default()
}

const WINDOW_DAYS: &[&str] = &["20190101", "20251001", "20260401"];

fn assert_cm(code: &str) {
    let compact = code.replace('.', "");
    assert!(
        tables().billable_cm.contains(&compact),
        "{code} is not a billable FY2026 ICD-10-CM code"
    );
    assert!(
        mce_valid("dx", code, WINDOW_DAYS),
        "{code} is not valid across the activity window"
    );
}

#[test]
fn every_catalog_code_is_billable_and_valid_since_2019() {
    for chronic in CHRONIC {
        for v in chronic.variants {
            assert_cm(v.dx.code);
            v.companions.iter().for_each(|c| assert_cm(c.code));
        }
    }
    assert_cm(super::super::catalog::MALE_BREAST.code);
    for stay in STAYS {
        stay.principal
            .iter()
            .chain(stay.secondaries)
            .chain(stay.external_causes)
            .for_each(|d| assert_cm(d.code));
        for p in stay.procedures {
            assert!(
                mce_valid("sg", p.code, WINDOW_DAYS),
                "{} not a valid PCS code",
                p.code
            );
        }
    }
    for a in ACUTE {
        assert_cm(a.dx.code);
        a.external_cause.iter().for_each(|c| assert_cm(c.code));
    }
    for d in [ABUSE, ASSAULT, HOSPITAL_UTI, OBSTETRIC_CONFLICT]
        .iter()
        .chain(MANIFESTATIONS)
    {
        assert_cm(d.code);
    }
    for p in [VENTILATION, TRANSFUSION] {
        assert!(mce_valid("sg", p.code, WINDOW_DAYS));
    }
    for code in ["C50.911", "C50.912", "C61", "C34.11", "C18.7"] {
        let p = cancer_surgery(code).expect("surgery defined");
        assert!(
            mce_valid("sg", p.code, WINDOW_DAYS),
            "{} not a valid PCS code",
            p.code
        );
    }
}

#[test]
fn seeded_substitutes_carry_the_expected_table_properties() {
    for m in MANIFESTATIONS {
        assert!(
            mce_flags("dx", m.code, "20260401").contains("manifestation"),
            "{} lacks the manifestation flag",
            m.code
        );
    }
    assert!(mce_flags("dx", OBSTETRIC_CONFLICT.code, "20260401").contains("maternity"));
    for chronic in CHRONIC {
        for v in chronic.variants {
            if let Some(header) = super::super::seeding::header_of(v.dx.code) {
                assert!(
                    tables().all_cm.contains(header) && !tables().billable_cm.contains(header),
                    "{header} should be a header"
                );
            }
        }
    }
    let stripped = super::super::seeding::without_seventh("S72.001A").expect("injury code");
    assert_eq!(stripped, "S72.001");
    assert!(!tables().billable_cm.contains("S72001"));
}

#[test]
fn emitted_codes_are_valid_and_invalid_ones_only_where_seeded() {
    let mut seeded: HashSet<String> = HashSet::new();
    let mut kinds: HashSet<String> = HashSet::new();
    for pb in population() {
        for issue in &pb.annotations.seeded_errors {
            kinds.insert(issue.edit_id.clone());
            if matches!(
                issue.edit_id.as_str(),
                "header-code" | "missing-7th-character"
            ) {
                seeded.insert(issue.condition.clone().unwrap_or_default());
            }
        }
    }
    let mut found_invalid = 0;
    for pb in population() {
        for (url, r) in resources(&pb.bundle) {
            match r["resourceType"].as_str() {
                Some("Condition") => {
                    let coding = &r["code"]["coding"][0];
                    assert_eq!(coding["system"], ICD10CM);
                    let code = coding["code"].as_str().unwrap_or_default();
                    if seeded.contains(url) {
                        found_invalid += 1;
                        assert!(
                            tables().all_cm.contains(&code.replace('.', ""))
                                && !tables().billable_cm.contains(&code.replace('.', "")),
                            "{code}"
                        );
                    } else {
                        assert_cm(code);
                    }
                }
                Some("Procedure") => {
                    let coding = &r["code"]["coding"][0];
                    assert_eq!(coding["system"], ICD10PCS);
                    assert!(mce_valid(
                        "sg",
                        coding["code"].as_str().unwrap_or_default(),
                        WINDOW_DAYS
                    ));
                }
                Some("Observation") => {
                    let mut codes = vec![r["code"]["coding"][0].clone()];
                    codes.extend(
                        r["component"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .map(|c| c["code"]["coding"][0].clone()),
                    );
                    for c in codes {
                        assert_eq!(c["system"], LOINC);
                        assert!(
                            loinc_check_digit_ok(c["code"].as_str().unwrap_or_default()),
                            "{c}"
                        );
                    }
                }
                _ => {}
            }
        }
    }
    assert_eq!(found_invalid, seeded.len());
    assert!(
        found_invalid > 0,
        "1,000 patients at 5% should seed some header/7th-character errors"
    );
}

fn loinc_check_digit_ok(code: &str) -> bool {
    let Some((base, check)) = code.split_once('-') else {
        return false;
    };
    let mut sum = 0;
    for (i, ch) in base.chars().rev().enumerate() {
        let Some(mut d) = ch.to_digit(10) else {
            return false;
        };
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    check == ((10 - sum % 10) % 10).to_string()
}

#[test]
fn loinc_check_digit_reference_values() {
    assert!(
        loinc_check_digit_ok("8480-6")
            && loinc_check_digit_ok("4548-4")
            && !loinc_check_digit_ok("8480-5")
    );
}
