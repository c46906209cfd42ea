//! Checking one ICD-10-CM code for use on a date: in force per the MCE dates, a
//! header, missing its 7th character, unknown, or carrying the wrong display.

use chrono::NaiveDate;

use super::cm_table::CmNode;
use super::codes::normalize;
use super::mce::MceTable;
use super::Terminology;

/// Outcome of [`Terminology::check_cm`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmCheck {
    /// A billable code in force on the date (and the display, if given, matches).
    Valid,
    /// Not an ICD-10-CM code in any release the tables know.
    NotFound,
    /// A billable code in another fiscal year only; `valid` lists its (start, end) spans.
    NotValidOnDate {
        /// Date spans in which the code is valid (end `None` = still valid).
        valid: Vec<(NaiveDate, Option<NaiveDate>)>,
    },
    /// A category or subcategory that has more specific codes.
    Header {
        /// Up to five billable codes under it (dotted).
        billable_children_sample: Vec<String>,
    },
    /// A code that needs a 7th character.
    Missing7th {
        /// The allowed 7th characters and their meaning.
        required_chars: Vec<(char, String)>,
        /// True when placeholder `X`s must fill the code to six characters first.
        placeholder_needed: bool,
    },
    /// The code is valid but the display given is not its description.
    WrongDisplay {
        /// The official description.
        expected: String,
    },
}

impl Terminology {
    /// Checks an ICD-10-CM code (dotted or not) for use on `on_date`, and the display if given.
    /// The code set in force is taken from the MCE start and end dates (FY starts 1 October).
    pub fn check_cm(&self, code: &str, on_date: NaiveDate, display: Option<&str>) -> CmCheck {
        let Some(key) = normalize(code) else {
            return CmCheck::NotFound;
        };
        let node = self.cm.node(&key).map(|(_, n)| n);
        if self.mce.span_on(MceTable::Dx, &key, on_date).is_some() {
            return match (display, node) {
                (Some(given), Some(node)) if node.billable && !same_text(given, &node.display) => {
                    CmCheck::WrongDisplay {
                        expected: node.display.to_string(),
                    }
                }
                _ => CmCheck::Valid,
            };
        }
        if let Some(node) = node.filter(|n| !n.billable) {
            return self.not_billable(node);
        }
        let spans = self.mce.spans(MceTable::Dx, &key);
        if spans.is_empty() && node.is_none() {
            return CmCheck::NotFound;
        }
        CmCheck::NotValidOnDate {
            valid: merge_spans(spans.iter().map(|s| (s.start, s.end))),
        }
    }

    fn not_billable(&self, node: &CmNode) -> CmCheck {
        let needs_seventh = node.children.iter().all(|c| self.cm.at(*c).expanded);
        match node.seven.and_then(|s| self.cm.seven_defs.get(s as usize)) {
            Some(def) if needs_seventh => CmCheck::Missing7th {
                required_chars: def.chars.clone(),
                placeholder_needed: node.key.len() < 6,
            },
            _ => CmCheck::Header {
                billable_children_sample: self.billable_sample(node, 5),
            },
        }
    }

    fn billable_sample(&self, node: &CmNode, limit: usize) -> Vec<String> {
        let Some((first, _)) = self.cm.node(&node.key) else {
            return Vec::new();
        };
        (first..node.subtree_end)
            .map(|i| self.cm.at(i))
            .filter(|n| n.billable)
            .take(limit)
            .map(|n| n.code.to_string())
            .collect()
    }
}

/// Joins adjacent spans (a flag change splits one validity period into several rows).
fn merge_spans(
    spans: impl Iterator<Item = (NaiveDate, Option<NaiveDate>)>,
) -> Vec<(NaiveDate, Option<NaiveDate>)> {
    let mut merged: Vec<(NaiveDate, Option<NaiveDate>)> = Vec::new();
    for (start, end) in spans {
        if let Some(last) = merged.last_mut() {
            if last.1.and_then(|e| e.succ_opt()) == Some(start) {
                last.1 = end;
                continue;
            }
        }
        merged.push((start, end));
    }
    merged
}

pub(crate) fn same_text(a: &str, b: &str) -> bool {
    let fold = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    fold(a) == fold(b)
}
