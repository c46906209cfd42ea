//! Tests of the coding module against the shipped tables (loaded once per test binary).

mod audit_edits;
mod audit_procedures;
mod bench;
mod fixtures;
mod lookups;

use once_cell::sync::Lazy;

use super::Terminology;

pub(super) static TERMS: Lazy<Terminology> =
    Lazy::new(|| Terminology::embedded().unwrap_or_else(|e| panic!("embedded tables: {e}")));

pub(super) fn date(y: i32, m: u32, d: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap_or_else(|| panic!("bad date"))
}
