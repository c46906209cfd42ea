//! Every diagnosis audit edit, positive and negative, on real codes of the shipped tables.

use super::date;
use super::fixtures::{day, encounter, has, run, the};
use crate::coding::{Severity, Sex};

#[test]
fn clean_encounter_has_no_errors() {
    let f = run(&encounter(
        day(),
        60,
        Sex::Male,
        &["J18.9", "I10", "Z79.4"],
        &[("0016070", Some(day()))],
    ));
    assert!(f.iter().all(|f| f.severity != Severity::Error), "{f:#?}");
}

#[test]
fn invalid_code_by_discharge_date() {
    let f = run(&encounter(
        date(2025, 11, 10),
        50,
        Sex::Male,
        &["J18.9", "S30.1XXA"],
        &[],
    ));
    let finding = the(&f, "invalid-code");
    assert_eq!(finding.codes, vec!["S30.1XXA"]);
    assert!(finding.text.contains("S30.1XXA"));
    assert_eq!(finding.expression, "Encounter.diagnosis[1]");
    assert!(!has(
        &run(&encounter(
            date(2025, 3, 10),
            50,
            Sex::Male,
            &["J18.9", "S30.1XXA"],
            &[]
        )),
        "invalid-code"
    ));
    assert!(has(
        &run(&encounter(day(), 50, Sex::Male, &["J18.9", "QQQ.1"], &[])),
        "invalid-code"
    ));
}

#[test]
fn invalid_procedure_code() {
    let f = run(&encounter(
        day(),
        50,
        Sex::Male,
        &["J18.9"],
        &[("ZZZZZZZ", None)],
    ));
    assert_eq!(the(&f, "invalid-procedure-code").severity, Severity::Error);
    assert!(!has(
        &run(&encounter(
            day(),
            50,
            Sex::Male,
            &["J18.9"],
            &[("0016070", None)]
        )),
        "invalid-procedure-code"
    ));
}

#[test]
fn header_and_missing_seventh() {
    let f = run(&encounter(day(), 50, Sex::Male, &["J18.9", "E11"], &[]));
    assert!(the(&f, "header-code").text.contains("E11."));
    assert!(!has(
        &run(&encounter(day(), 50, Sex::Male, &["J18.9", "E11.9"], &[])),
        "header-code"
    ));
    let f = run(&encounter(day(), 50, Sex::Male, &["S72001"], &[]));
    assert_eq!(the(&f, "missing-7th-character").codes, vec!["S72.001"]);
    assert!(!has(
        &run(&encounter(day(), 50, Sex::Male, &["S72.001A"], &[])),
        "missing-7th-character"
    ));
}

#[test]
fn age_conflict() {
    let f = run(&encounter(day(), 70, Sex::Female, &["O80"], &[]));
    assert_eq!(the(&f, "age-conflict").codes, vec!["O80"]);
    assert!(!has(
        &run(&encounter(day(), 30, Sex::Female, &["O80"], &[])),
        "age-conflict"
    ));
    // Maternity ages were 12-55 before FY2020.
    assert!(has(
        &run(&encounter(date(2019, 5, 1), 60, Sex::Female, &["O80"], &[])),
        "age-conflict"
    ));
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Female, &["O80"], &[])),
        "age-conflict"
    ));
}

#[test]
fn sex_conflict_enforced_then_informational() {
    let f = run(&encounter(
        date(2024, 5, 1),
        70,
        Sex::Female,
        &["N40.0"],
        &[],
    ));
    assert_eq!(the(&f, "sex-conflict").severity, Severity::Error);
    let f = run(&encounter(day(), 70, Sex::Female, &["N40.0"], &[]));
    assert_eq!(the(&f, "sex-conflict").severity, Severity::Information);
    assert!(!has(
        &run(&encounter(date(2024, 5, 1), 70, Sex::Male, &["N40.0"], &[])),
        "sex-conflict"
    ));
    assert!(!has(
        &run(&encounter(
            date(2024, 5, 1),
            70,
            Sex::Unknown,
            &["N40.0"],
            &[]
        )),
        "sex-conflict"
    ));
}

#[test]
fn principal_only_edits() {
    let f = run(&encounter(day(), 60, Sex::Male, &["G63", "E85.9"], &[]));
    assert!(has(&f, "manifestation-as-principal"));
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["E85.9", "G63"], &[])),
        "manifestation-as-principal"
    ));
    assert!(has(
        &run(&encounter(day(), 60, Sex::Male, &["B95.1", "J18.9"], &[])),
        "unacceptable-principal"
    ));
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9", "B95.1"], &[])),
        "unacceptable-principal"
    ));
    assert!(has(
        &run(&encounter(
            day(),
            60,
            Sex::Male,
            &["W01.0XXA", "S72.001A"],
            &[]
        )),
        "external-cause-as-principal"
    ));
    assert!(!has(
        &run(&encounter(
            day(),
            60,
            Sex::Male,
            &["S72.001A", "W01.0XXA"],
            &[]
        )),
        "external-cause-as-principal"
    ));
    let f = run(&encounter(day(), 60, Sex::Male, &["E11.9"], &[]));
    assert_eq!(
        the(&f, "questionable-admission").severity,
        Severity::Warning
    );
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9", "E11.9"], &[])),
        "questionable-admission"
    ));
}

#[test]
fn duplicate_and_missing_principal() {
    let f = run(&encounter(
        day(),
        60,
        Sex::Male,
        &["J18.9", "I10", "J189"],
        &[],
    ));
    assert_eq!(the(&f, "duplicate-of-principal").codes, vec!["J18.9"]);
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9", "I10"], &[])),
        "duplicate-of-principal"
    ));
    let mut input = encounter(day(), 60, Sex::Male, &["J18.9", "I10"], &[]);
    input.diagnoses[0].rank = Some(2);
    assert!(has(&run(&input), "missing-principal"));
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9"], &[])),
        "missing-principal"
    ));
}

#[test]
fn excludes1_conflict() {
    let f = run(&encounter(day(), 60, Sex::Male, &["E10.9", "E11.9"], &[]));
    let finding = the(&f, "excludes1-conflict");
    assert_eq!(finding.codes.len(), 2);
    assert!(finding.text.contains("E10.9") && finding.text.contains("E11.9"));
    assert_eq!(
        f.iter().filter(|f| f.edit == "excludes1-conflict").count(),
        1
    );
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["E11.9", "I10"], &[])),
        "excludes1-conflict"
    ));
}

#[test]
fn code_first_and_use_additional() {
    let f = run(&encounter(day(), 60, Sex::Male, &["J18.9", "G63"], &[]));
    assert_eq!(the(&f, "code-first-missing").codes, vec!["G63"]);
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["E85.9", "G63"], &[])),
        "code-first-missing"
    ));
    // Plain "code first" lists only order codes that are both present.
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9", "I50.9"], &[])),
        "code-first-missing"
    ));
    let f = run(&encounter(day(), 60, Sex::Male, &["J18.9", "E11.9"], &[]));
    assert!(the(&f, "use-additional-missing").text.contains("Z79.4"));
    assert!(!has(
        &run(&encounter(
            day(),
            60,
            Sex::Male,
            &["J18.9", "E11.9", "Z79.4"],
            &[]
        )),
        "use-additional-missing"
    ));
}

#[test]
fn unspecified_code() {
    assert_eq!(
        the(
            &run(&encounter(day(), 60, Sex::Male, &["J18.9", "G81.90"], &[])),
            "unspecified-code"
        )
        .severity,
        Severity::Warning
    );
    assert!(!has(
        &run(&encounter(day(), 60, Sex::Male, &["J18.9", "G81.91"], &[])),
        "unspecified-code"
    ));
}
