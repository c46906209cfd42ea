//! Load time and throughput, printed (run with `--release -- --ignored --nocapture`).

use std::time::Instant;

use super::{date, TERMS};
use crate::coding::{audit, AuditDx, AuditInput, AuditPx, Sex, Terminology};

#[test]
#[ignore = "benchmark: run in release with --ignored --nocapture"]
fn bench_load_lookup_audit() {
    let start = Instant::now();
    let terms = Terminology::embedded().unwrap_or_else(|e| panic!("{e}"));
    println!("load embedded tables: {:?}", start.elapsed());
    drop(terms);

    let codes: Vec<&str> = TERMS.cm.nodes.iter().map(|n| &*n.code).step_by(7).collect();
    let start = Instant::now();
    let mut found = 0usize;
    for code in &codes {
        found += usize::from(TERMS.cm_lookup(code).is_some());
    }
    let secs = start.elapsed().as_secs_f64();
    println!("cm_lookup: {:.0}/s ({found} codes)", found as f64 / secs);
    let day = date(2026, 1, 15);
    let start = Instant::now();
    for code in &codes {
        let _ = TERMS.check_cm(code, day, None);
    }
    println!(
        "check_cm: {:.0}/s",
        codes.len() as f64 / start.elapsed().as_secs_f64()
    );

    let dx = [
        "I50.9", "E11.9", "I10", "N18.30", "E78.5", "J44.1", "Z79.4", "E66.9", "G63", "E10.9",
        "S72.001A", "W01.0XXA", "F32.A", "K21.9", "Z87.891",
    ];
    let px = [
        "0016070", "02703ZZ", "0DTJ4ZZ", "0SR9019", "5A1955Z", "BW28ZZZ",
    ];
    let input = AuditInput {
        admit_date: day,
        discharge_date: day,
        age_years_at_admission: 70,
        age_days_at_admission: None,
        sex: Sex::Female,
        diagnoses: dx
            .iter()
            .enumerate()
            .map(|(i, c)| AuditDx {
                code: c.to_string(),
                rank: Some(i as u32 + 1),
                poa: None,
                expression: String::new(),
            })
            .collect(),
        procedures: px
            .iter()
            .map(|c| AuditPx {
                code: c.to_string(),
                date: Some(day),
                expression: String::new(),
            })
            .collect(),
        encounter_class: Some("IMP".into()),
    };
    for f in audit(&input, &TERMS) {
        println!("  {:?} {} {:?}: {}", f.severity, f.edit, f.codes, f.text);
    }
    let rounds = 2_000;
    let start = Instant::now();
    let mut findings = 0;
    for _ in 0..rounds {
        findings += audit(&input, &TERMS).len();
    }
    let secs = start.elapsed().as_secs_f64();
    println!(
        "audit 15 dx + 6 px: {:.0}/s ({} findings each)",
        rounds as f64 / secs,
        findings / rounds
    );
    let start = Instant::now();
    let page = TERMS.cm_search("fracture femur", true, 20, 0);
    println!(
        "cm_search 'fracture femur': {} hits in {:?}",
        page.total,
        start.elapsed()
    );
    let start = Instant::now();
    let page = TERMS.pcs_search("bypass open", 20, 0);
    println!(
        "pcs_search 'bypass open': {} hits in {:?}",
        page.total,
        start.elapsed()
    );
    let start = Instant::now();
    let n = TERMS
        .cm_billable_in("C00-D49")
        .map(|v| v.len())
        .unwrap_or(0);
    println!(
        "expand C00-D49: {n} billable codes in {:?}",
        start.elapsed()
    );
}
