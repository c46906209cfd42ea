//! ICD-10-PCS look-up and checks, and MCE flag look-ups for either table.

use chrono::NaiveDate;

use super::codes::normalize;
use super::mce::{MceFlags, MceSpan, MceTable};
use super::pcs::PcsConcept;
use super::Terminology;

/// Outcome of [`Terminology::check_pcs`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PcsCheck {
    /// A valid code on the date.
    Valid,
    /// Not a valid ICD-10-PCS code in any release the tables know.
    NotFound,
    /// Fewer than 7 characters, but the start of valid codes.
    Incomplete {
        /// Up to five valid codes starting with it.
        sample: Vec<String>,
    },
    /// Valid in another fiscal year only; `valid` lists its (start, end) spans.
    NotValidOnDate {
        /// Date spans in which the code is valid.
        valid: Vec<(NaiveDate, Option<NaiveDate>)>,
    },
}

impl Terminology {
    /// Looks up an ICD-10-PCS code (7 characters, any case) in the FY2026 tables.
    pub fn pcs_lookup(&self, code: &str) -> Option<PcsConcept> {
        let key = normalize(code)?;
        self.pcs.lookup(&key)
    }

    /// Checks an ICD-10-PCS code for use on `on_date` (validity by the MCE dates).
    pub fn check_pcs(&self, code: &str, on_date: NaiveDate) -> PcsCheck {
        let Some(key) = normalize(code) else {
            return PcsCheck::NotFound;
        };
        if self.mce.span_on(MceTable::Sg, &key, on_date).is_some() {
            return PcsCheck::Valid;
        }
        let spans = self.mce.spans(MceTable::Sg, &key);
        if !spans.is_empty() {
            return PcsCheck::NotValidOnDate {
                valid: spans.iter().map(|s| (s.start, s.end)).collect(),
            };
        }
        if key.len() < 7 && self.pcs.has_prefix(&key) {
            let sample = self
                .pcs
                .with_prefix(&key, 5)
                .into_iter()
                .map(|(code, _)| code)
                .collect();
            return PcsCheck::Incomplete { sample };
        }
        PcsCheck::NotFound
    }

    /// MCE flags of a code (dotted or not) in force on `date`; `None` when the code is
    /// not valid on that date.
    pub fn mce_flags(&self, table: MceTable, code: &str, date: NaiveDate) -> Option<MceFlags> {
        let key = normalize(code)?;
        self.mce.span_on(table, &key, date).map(|s| s.flags)
    }

    /// Every MCE span of a code, oldest first (empty when the MCE never had it).
    pub fn mce_spans(&self, table: MceTable, code: &str) -> &[MceSpan] {
        match normalize(code) {
            Some(key) => self.mce.spans(table, &key),
            None => &[],
        }
    }
}
