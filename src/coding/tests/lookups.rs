//! Table counts, look-ups, checks and hierarchy helpers.

use super::{date, TERMS};
use crate::coding::{CmCheck, CodeSpec, MceFlag, MceTable, PcsCheck, Subsumption};

#[test]
fn table_counts_match_provenance() {
    let stats = TERMS.stats();
    assert_eq!(stats.cm_diags, 46_881);
    assert_eq!(stats.cm_billable, 74_719);
    assert_eq!(stats.pcs_codes, 79_115);
    assert_eq!(stats.mce_rows, 171_741);
    assert_eq!(stats.cm_chapters, 22);
    assert_eq!(
        TERMS.mce_valid_count(MceTable::Dx, date(2026, 4, 1)),
        74_719
    );
    assert_eq!(
        TERMS.mce_valid_count(MceTable::Sg, date(2025, 10, 1)),
        79_115
    );
}

#[test]
fn billable_tabular_codes_equal_mce_codes_in_force() {
    let day = date(2026, 4, 1);
    for node in TERMS.cm.nodes.iter().filter(|n| n.billable) {
        assert!(
            TERMS.mce_flags(MceTable::Dx, &node.key, day).is_some(),
            "{} not in MCE",
            node.code
        );
    }
}

#[test]
fn cm_lookup_dotted_and_undotted() {
    let c = TERMS
        .cm_lookup("s72001a")
        .unwrap_or_else(|| panic!("S72.001A"));
    assert_eq!(c.code, "S72.001A");
    assert!(c.billable);
    assert_eq!(c.display, "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture");
    assert_eq!(c.parent.as_deref(), Some("S72.001"));
    assert_eq!(c.chapter.number, "19");
    assert_eq!(c.block.id, "S70-S79");
    let leaf = TERMS
        .cm_lookup("S72.001")
        .unwrap_or_else(|| panic!("S72.001"));
    assert!(!leaf.billable && leaf.children.contains(&"S72.001A".to_string()));
    assert!(leaf
        .seven_char
        .is_some_and(|d| d.chars.iter().any(|(c, _)| *c == 'S')));
    let e11 = TERMS.cm_lookup("E11").unwrap_or_else(|| panic!("E11"));
    assert!(e11.notes.excludes1.iter().any(|n| n.contains("(E10.-)")));
    let placeholder = TERMS
        .cm_lookup("T78.01XA")
        .unwrap_or_else(|| panic!("T78.01XA"));
    assert!(placeholder.billable);
    assert!(TERMS.cm_lookup("E11.99").is_none());
}

#[test]
fn notes_are_collected_up_the_hierarchy() {
    let levels = TERMS.cm_notes_up("E11.9");
    assert!(levels
        .iter()
        .any(|l| l.level == "E11" && !l.notes.excludes1.is_empty()));
    let s72 = TERMS.cm_notes_up("S72.001A");
    assert!(s72
        .iter()
        .any(|l| l.level == "S72" && !l.notes.excludes1.is_empty()));
}

#[test]
fn check_cm_outcomes() {
    let day = date(2026, 1, 15);
    assert_eq!(TERMS.check_cm("E11.9", day, None), CmCheck::Valid);
    assert_eq!(
        TERMS.check_cm(
            "E119",
            day,
            Some("type 2 diabetes mellitus without complications")
        ),
        CmCheck::Valid
    );
    assert!(matches!(
        TERMS.check_cm("E11.9", day, Some("Diabetes")),
        CmCheck::WrongDisplay { .. }
    ));
    assert_eq!(TERMS.check_cm("E11.99", day, None), CmCheck::NotFound);
    assert!(
        matches!(TERMS.check_cm("E11", day, None), CmCheck::Header { billable_children_sample } if billable_children_sample.len() == 5)
    );
    match TERMS.check_cm("S72.001", day, None) {
        CmCheck::Missing7th {
            required_chars,
            placeholder_needed,
        } => {
            assert!(!placeholder_needed && required_chars.iter().any(|(c, _)| *c == 'A'));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        TERMS.check_cm("T78.01", day, None),
        CmCheck::Missing7th {
            placeholder_needed: true,
            ..
        }
    ));
    // B88.0 was deleted at the end of FY2025.
    assert_eq!(
        TERMS.check_cm("S30.1XXA", date(2025, 3, 1), None),
        CmCheck::Valid
    );
    assert!(matches!(
        TERMS.check_cm("S30.1XXA", date(2025, 11, 1), None),
        CmCheck::NotValidOnDate { .. }
    ));
    // G35 became a header in FY2026.
    assert_eq!(
        TERMS.check_cm("G35", date(2025, 3, 1), None),
        CmCheck::Valid
    );
    assert!(matches!(
        TERMS.check_cm("G35", day, None),
        CmCheck::Header { .. }
    ));
}

#[test]
fn pcs_lookup_and_check() {
    let c = TERMS
        .pcs_lookup("0016070")
        .unwrap_or_else(|| panic!("0016070"));
    assert_eq!(c.axes.len(), 7);
    assert_eq!(c.axes[2].label, "Bypass");
    assert_eq!(c.axes[3].label, "Cerebral Ventricle");
    assert!(c.operation_definition.is_some());
    assert!(c.display.contains("Bypass") && c.display.contains("Nasopharynx"));
    assert_eq!(
        TERMS.check_pcs("0016070", date(2026, 1, 1)),
        PcsCheck::Valid
    );
    assert!(matches!(
        TERMS.check_pcs("00160", date(2026, 1, 1)),
        PcsCheck::Incomplete { .. }
    ));
    assert_eq!(
        TERMS.check_pcs("ZZZZZZZ", date(2026, 1, 1)),
        PcsCheck::NotFound
    );
    assert!(matches!(
        TERMS.check_pcs("XW03306", date(2026, 1, 1)),
        PcsCheck::NotValidOnDate { .. }
    ));
    assert!(TERMS.pcs_search("bypass cerebral ventricle", 10, 0).total > 0);
}

#[test]
fn mce_flags_by_date() {
    let o80_old = TERMS
        .mce_flags(MceTable::Dx, "O80", date(2024, 1, 1))
        .unwrap_or_default();
    assert!(o80_old.contains(MceFlag::Maternity) && o80_old.contains(MceFlag::Female));
    let o80_new = TERMS
        .mce_flags(MceTable::Dx, "O80", date(2025, 1, 1))
        .unwrap_or_default();
    assert!(o80_new.contains(MceFlag::Maternity) && !o80_new.contains(MceFlag::Female));
    assert!(TERMS
        .mce_flags(MceTable::Dx, "G63", date(2026, 1, 1))
        .is_some_and(|f| f.contains(MceFlag::Manifestation)));
    assert!(TERMS
        .mce_flags(MceTable::Dx, "S30.1XXA", date(2026, 1, 1))
        .is_none());
}

#[test]
fn hierarchy_and_ranges() {
    assert_eq!(
        TERMS.cm_subsumes("E11", "E11.9"),
        Some(Subsumption::Subsumes)
    );
    assert_eq!(
        TERMS.cm_subsumes("E11.9", "E11"),
        Some(Subsumption::SubsumedBy)
    );
    assert_eq!(
        TERMS.cm_subsumes("E119", "E11.9"),
        Some(Subsumption::Equivalent)
    );
    assert_eq!(
        TERMS.cm_subsumes("E10", "E11.9"),
        Some(Subsumption::NotSubsumed)
    );
    assert_eq!(TERMS.cm_subsumes("E10", "E99.99"), None);
    assert!(TERMS.cm_descendants("E11").contains(&"E11.9"));
    assert!(TERMS.cm_descendants("S72.001").contains(&"S72.001A"));
    assert!(TERMS.cm_in_range("C96.Z", "C00", "C96"));
    assert!(!TERMS.cm_in_range("D00.0", "C00", "C96"));
    let e11 = TERMS.cm_billable_in("E11").unwrap_or_default();
    assert!(e11.contains(&"E11.9") && !e11.contains(&"E11"));
    let both = TERMS.cm_billable_in("E10,E11").unwrap_or_default();
    assert!(both.contains(&"E10.9") && both.len() > e11.len());
    let cancer = TERMS.cm_billable_in("C00-C96").unwrap_or_default();
    assert!(cancer.contains(&"C96.Z") && !cancer.iter().any(|c| c.starts_with('D')));
    assert!(CodeSpec::parse("E11, not a code").is_none());
    let page = TERMS.cm_search("type 2 diabetes ketoacidosis", true, 3, 0);
    assert!(page.total >= 2 && page.hits.len() <= 3);
    assert!(TERMS
        .cm_search("e11.9", false, 10, 0)
        .hits
        .iter()
        .any(|h| h.code == "E11.9"));
}

#[test]
fn load_dir_reads_the_same_files_and_is_shareable() {
    fn shareable<T: Send + Sync>() {}
    shareable::<crate::coding::Terminology>();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("data/coding");
    let loaded = crate::coding::Terminology::load_dir(&dir).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(loaded.stats(), TERMS.stats());
    assert!(crate::coding::Terminology::load_dir(&dir.join("missing")).is_err());
}
