//! ICD-10-CM hierarchy and value-set helpers for `$expand`, `$subsumes`, `:below` and
//! reporting: descendants, subsumption, code specs such as `E11`, `C00-C96` or
//! `E10,E11`, and text search. ICD-10-CM is prefix-hierarchical, so "below" is "starts with".

use super::codes::{key_in_range, normalize};
use super::note_refs::parse_item;
use super::Terminology;

/// Result of [`Terminology::cm_subsumes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subsumption {
    /// Same code.
    Equivalent,
    /// The first code is an ancestor of the second.
    Subsumes,
    /// The first code is a descendant of the second.
    SubsumedBy,
    /// Neither.
    NotSubsumed,
}

/// One item of a [`CodeSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpecItem {
    /// A code and everything below it (undotted key).
    Below(String),
    /// Categories from `first` to `last` inclusive, each end compared on its own length.
    Range(String, String),
}

/// A set of ICD-10-CM codes written the way notes and reports write them:
/// comma-separated codes (`E11`, `E11.9`, `E10.-`) and ranges (`C00-C96`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeSpec {
    items: Vec<SpecItem>,
}

impl CodeSpec {
    /// Parses a spec; `None` when any item is not a code or range.
    pub fn parse(spec: &str) -> Option<CodeSpec> {
        let items = spec
            .split(',')
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(parse_item)
            .collect::<Option<Vec<_>>>()?;
        (!items.is_empty()).then_some(CodeSpec { items })
    }

    pub(crate) fn from_items(items: Vec<SpecItem>) -> CodeSpec {
        CodeSpec { items }
    }

    /// True when the code (any spelling) lies in the set.
    pub fn contains(&self, code: &str) -> bool {
        normalize(code).is_some_and(|key| self.contains_key(&key))
    }

    /// The spec as inclusive ranges of undotted keys, each end compared on its own length
    /// (a code `E11` is the range `E11`–`E11`: everything that starts with it). Lets SQL
    /// test membership with two prefix comparisons per item.
    pub fn key_ranges(&self) -> Vec<(&str, &str)> {
        self.items
            .iter()
            .map(|item| match item {
                SpecItem::Below(prefix) => (prefix.as_str(), prefix.as_str()),
                SpecItem::Range(first, last) => (first.as_str(), last.as_str()),
            })
            .collect()
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.items.iter().any(|item| match item {
            SpecItem::Below(prefix) => key.starts_with(prefix.as_str()),
            SpecItem::Range(first, last) => key_in_range(key, first, last),
        })
    }
}

/// One search hit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchHit {
    /// Dotted code (ICD-10-CM) or 7-character code (ICD-10-PCS).
    pub code: String,
    /// Its description.
    pub display: String,
    /// Billable (always true for ICD-10-PCS).
    pub billable: bool,
}

/// A page of search results.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SearchPage {
    /// Number of matches in all.
    pub total: usize,
    /// The requested page.
    pub hits: Vec<SearchHit>,
}

impl Terminology {
    /// Dotted codes strictly below `code` in pre-order (children before grandchildren of
    /// the next child); empty for unknown or billable leaf codes.
    pub fn cm_descendants(&self, code: &str) -> Vec<&str> {
        let Some(key) = normalize(code) else {
            return Vec::new();
        };
        let Some((id, node)) = self.cm.node(&key) else {
            return Vec::new();
        };
        (id + 1..node.subtree_end)
            .map(|i| &*self.cm.at(i).code)
            .collect()
    }

    /// Subsumption between two ICD-10-CM codes; `None` when either is unknown.
    pub fn cm_subsumes(&self, a: &str, b: &str) -> Option<Subsumption> {
        let a = self.cm.node(&normalize(a)?)?.1.key.clone();
        let b = self.cm.node(&normalize(b)?)?.1.key.clone();
        Some(if a == b {
            Subsumption::Equivalent
        } else if b.starts_with(&*a) {
            Subsumption::Subsumes
        } else if a.starts_with(&*b) {
            Subsumption::SubsumedBy
        } else {
            Subsumption::NotSubsumed
        })
    }

    /// True when `code` lies in the range of categories `first..=last` (`C00`–`C96`
    /// includes `C96.Z`). Pure string semantics; the code need not exist.
    pub fn cm_in_range(&self, code: &str, first: &str, last: &str) -> bool {
        match (normalize(code), normalize(first), normalize(last)) {
            (Some(code), Some(first), Some(last)) => key_in_range(&code, &first, &last),
            _ => false,
        }
    }

    /// Dotted codes in a spec, in tabular order; billable ones only when asked.
    pub fn cm_codes_in<'a>(
        &'a self,
        spec: &'a CodeSpec,
        billable_only: bool,
    ) -> impl Iterator<Item = &'a str> + 'a {
        self.cm
            .nodes
            .iter()
            .filter(move |n| (!billable_only || n.billable) && spec.contains_key(&n.key))
            .map(|n| &*n.code)
    }

    /// Billable dotted codes of a textual spec (`"E11"`, `"C00-C96"`, `"E10,E11"`);
    /// `None` when the spec does not parse.
    pub fn cm_billable_in(&self, spec: &str) -> Option<Vec<&str>> {
        let spec = CodeSpec::parse(spec)?;
        Some(
            self.cm
                .nodes
                .iter()
                .filter(|n| n.billable && spec.contains_key(&n.key))
                .map(|n| &*n.code)
                .collect(),
        )
    }

    /// Text search over ICD-10-CM: every whitespace-separated term must occur
    /// (case-insensitive) in the description or in the code (dotted or not).
    pub fn cm_search(
        &self,
        text: &str,
        billable_only: bool,
        limit: usize,
        offset: usize,
    ) -> SearchPage {
        let terms: Vec<String> = text
            .split_whitespace()
            .map(|t| {
                normalize(t)
                    .filter(|_| t.contains('.'))
                    .map(|k| k.to_lowercase())
                    .unwrap_or_else(|| t.to_lowercase())
            })
            .collect();
        let mut page = SearchPage::default();
        for node in self
            .cm
            .nodes
            .iter()
            .filter(|n| !billable_only || n.billable)
        {
            if terms.iter().all(|t| node.search_text.contains(t.as_str())) {
                if page.total >= offset && page.hits.len() < limit {
                    page.hits.push(SearchHit {
                        code: node.code.to_string(),
                        display: node.display.to_string(),
                        billable: node.billable,
                    });
                }
                page.total += 1;
            }
        }
        page
    }

    /// Text search over ICD-10-PCS codes (terms match axis labels or prefix the code).
    pub fn pcs_search(&self, text: &str, limit: usize, offset: usize) -> SearchPage {
        let (total, concepts) = self.pcs.search(text, limit, offset);
        let hits = concepts
            .into_iter()
            .map(|c| SearchHit {
                code: c.code,
                display: c.display,
                billable: true,
            })
            .collect();
        SearchPage { total, hits }
    }
}
