//! Reading the code references out of instructional-note text: the parenthesised
//! codes and ranges in notes such as "type 1 diabetes mellitus (E10.-)" or
//! "influenza ... (J00-J22)". A group that holds anything but codes and ranges
//! ("T36-T50 with fifth or sixth character 5") makes the note unclean.

use once_cell::sync::Lazy;
use regex::Regex;

use super::cm_hierarchy::{CodeSpec, SpecItem};
use super::codes::normalize;

const CODE: &str = r"[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{0,4})?";

static ITEM: Lazy<Regex> = Lazy::new(|| {
    let pattern = format!(r"^(?:i\.e\.|e\.g\.)?\s*({CODE})\.?-?(?:\s*-\s*({CODE})\.?-?)?$");
    Regex::new(&pattern).unwrap_or_else(|_| unreachable!("constant pattern"))
});

static CODE_LIKE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"\b[A-Z][0-9][0-9A-Z]\b").unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// The code references of one note.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteRefs {
    /// The referenced codes and ranges; `None` when the note names none cleanly.
    pub codes: Option<CodeSpec>,
    /// False when some parenthesised group looked like codes but did not parse.
    pub clean: bool,
    /// True for notes that apply only conditionally ("if applicable", "if known", "any ...").
    pub conditional: bool,
    /// True for a lead-in line without codes ending in ':' ("the underlying condition, such as:").
    pub lead_in: bool,
}

/// Parses one item (`E10.-`, `E11.9`, `P35-P39`, `I70.2--I70.7-`).
pub(crate) fn parse_item(item: &str) -> Option<SpecItem> {
    let caps = ITEM.captures(item.trim())?;
    let first = normalize(caps.get(1)?.as_str())?;
    match caps.get(2) {
        Some(last) => Some(SpecItem::Range(first, normalize(last.as_str())?)),
        None => Some(SpecItem::Below(first)),
    }
}

/// Parses the code references of a note.
pub fn parse_note_refs(text: &str) -> NoteRefs {
    let lower = text.to_lowercase();
    let conditional = [
        "if applicable",
        "if known",
        "if present",
        "if any",
        "any associated",
    ]
    .iter()
    .any(|p| lower.contains(p))
        || lower.trim_start().starts_with("any ");
    let mut items = Vec::new();
    let mut clean = true;
    for group in parenthesised(text) {
        if !CODE_LIKE.is_match(group) {
            continue;
        }
        let parsed: Option<Vec<SpecItem>> = group
            .split([',', ';'])
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(parse_item)
            .collect();
        match parsed {
            Some(list) if !list.is_empty() => items.extend(list),
            _ => clean = false,
        }
    }
    let lead_in = items.is_empty() && text.trim_end().ends_with(':');
    NoteRefs {
        codes: (!items.is_empty()).then(|| CodeSpec::from_items(items)),
        clean,
        conditional,
        lead_in,
    }
}

/// The contents of top-level parenthesised groups.
fn parenthesised(text: &str) -> Vec<&str> {
    let mut groups = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, ch) in text.char_indices() {
        match ch {
            '(' => {
                if depth == 0 {
                    start = i + 1;
                }
                depth += 1;
            }
            ')' if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    groups.push(&text[start..i]);
                }
            }
            _ => {}
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(text: &str) -> CodeSpec {
        parse_note_refs(text)
            .codes
            .unwrap_or_else(|| panic!("no refs in {text}"))
    }

    #[test]
    fn reads_codes_dashes_and_ranges() {
        let s = spec("type 1 diabetes mellitus (E10.-)");
        assert!(s.contains("E10.9") && !s.contains("E11.9"));
        let s = spec("infectious diseases specific to the perinatal period (P35-P39)");
        assert!(s.contains("P39.1") && s.contains("P35") && !s.contains("P40"));
        let s = spec("something (C51-C52, C60.-, C63.-)");
        assert!(s.contains("C52") && s.contains("C60.1") && !s.contains("C61"));
        let s = spec("atherosclerosis (I70.2--I70.7-)");
        assert!(s.contains("I70.792") && !s.contains("I70.8"));
        assert!(spec("x (F10.- -F19.-)").contains("F19.20"));
        assert!(spec("x (S12.0--S12.6.-)").contains("S12.600A"));
        assert!(spec("x (J00-J06; J20-J22)").contains("J21.9"));
        assert!(spec("x (i.e. E05.8, E07.0, E16-E31, E34.-)").contains("E20.0"));
    }

    #[test]
    fn flags_unclean_conditional_and_lead_in() {
        let r = parse_note_refs("poisoning (T36-T50 with fifth or sixth character 1-4 or 6)");
        assert!(!r.clean && r.codes.is_none());
        let r = parse_note_refs("acute (recurrent) bronchitis (J20.-)");
        assert!(r.clean && r.codes.is_some());
        assert!(parse_note_refs("code, if applicable, for any (Z16.-)").conditional);
        assert!(parse_note_refs("the underlying condition, such as:").lead_in);
        assert!(parse_note_refs("any follow-up examination after treatment (Z09)").conditional);
        let r = parse_note_refs("certain localized infections - see body system-related chapters");
        assert!(r.clean && r.codes.is_none() && !r.lead_in);
    }
}
