//! Procedure, stay and POA audit edits, and robustness over many code shapes.

use super::fixtures::{day, encounter, has, run, the};
use crate::coding::{Severity, Sex};

use super::{date, TERMS};

#[test]
fn procedure_edits() {
    let f = run(&encounter(
        day(),
        60,
        Sex::Male,
        &["J18.9"],
        &[("00F3XZZ", None)],
    ));
    assert_eq!(the(&f, "noncovered-procedure").severity, Severity::Warning);
    assert!(!has(
        &run(&encounter(
            day(),
            60,
            Sex::Male,
            &["J18.9"],
            &[("0016070", None)]
        )),
        "noncovered-procedure"
    ));
    let f = run(&encounter(
        date(2024, 5, 1),
        60,
        Sex::Female,
        &["J18.9"],
        &[("0V1N07J", None)],
    ));
    assert_eq!(
        the(&f, "procedure-sex-conflict").severity,
        Severity::Warning
    );
    assert!(!has(
        &run(&encounter(
            date(2024, 5, 1),
            60,
            Sex::Male,
            &["J18.9"],
            &[("0V1N07J", None)]
        )),
        "procedure-sex-conflict"
    ));
    let late = day() + chrono::Days::new(2);
    let f = run(&encounter(
        day(),
        60,
        Sex::Male,
        &["J18.9"],
        &[("0016070", Some(late))],
    ));
    assert!(the(&f, "procedure-date-outside-stay")
        .text
        .contains("0016070"));
    assert!(!has(
        &run(&encounter(
            day(),
            60,
            Sex::Male,
            &["J18.9"],
            &[("0016070", Some(day()))]
        )),
        "procedure-date-outside-stay"
    ));
}

#[test]
fn poa_missing_inpatient_only() {
    let mut input = encounter(day(), 60, Sex::Male, &["J18.9", "Z79.4"], &[]);
    input.diagnoses[0].poa = None;
    input.diagnoses[1].poa = None;
    let f = run(&input);
    assert_eq!(
        f.iter().filter(|f| f.edit == "poa-missing").count(),
        1,
        "Z codes are exempt"
    );
    assert_eq!(the(&f, "poa-missing").codes, vec!["J18.9"]);
    input.encounter_class = Some("AMB".into());
    assert!(!has(&run(&input), "poa-missing"));
    input.encounter_class = Some("IMP".into());
    input.diagnoses[0].poa = Some("X".into());
    assert!(has(&run(&input), "poa-missing"));
    input.diagnoses[0].poa = Some("n".into());
    assert!(!has(&run(&input), "poa-missing"));
}

#[test]
fn every_code_shape_audits_without_panic() {
    let codes: Vec<String> = TERMS
        .cm
        .nodes
        .iter()
        .step_by(41)
        .map(|n| n.code.to_string())
        .collect();
    let mut findings = 0;
    for code in &codes {
        let input = encounter(
            day(),
            40,
            Sex::Female,
            &[code, "J18.9", code, "", "..", "E11.9.9"],
            &[("", None), ("0", None)],
        );
        findings += run(&input).len();
    }
    assert!(findings > codes.len());
}
