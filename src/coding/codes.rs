//! Code spelling: normalising user input to the undotted key form, rendering the
//! dotted ICD-10-CM form, and the canonical system URIs. No table access here.

/// FHIR system URI of ICD-10-CM.
pub const ICD10CM_SYSTEM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
/// FHIR system URI of ICD-10-PCS.
pub const ICD10PCS_SYSTEM: &str = "http://www.cms.gov/Medicare/Coding/ICD10";

/// Normalises an ICD-10-CM or ICD-10-PCS code to its undotted, upper-case key.
///
/// Returns `None` when the input cannot be a code (empty, too long, or holding
/// characters other than ASCII letters and digits besides the one dot).
pub fn normalize(input: &str) -> Option<String> {
    let trimmed = input.trim();
    if trimmed.is_empty() || trimmed.len() > 9 {
        return None;
    }
    let mut key = String::with_capacity(7);
    let mut dots = 0;
    for ch in trimmed.chars() {
        match ch {
            '.' => dots += 1,
            c if c.is_ascii_alphanumeric() => key.push(c.to_ascii_uppercase()),
            _ => return None,
        }
    }
    if dots > 1 || key.len() < 3 || key.len() > 7 {
        return None;
    }
    Some(key)
}

/// Renders an undotted ICD-10-CM key in dotted form (`S72001A` → `S72.001A`).
pub fn cm_dotted(key: &str) -> String {
    if key.len() > 3 && key.is_ascii() {
        format!("{}.{}", &key[..3], &key[3..])
    } else {
        key.to_string()
    }
}

/// Renders any ICD-10-CM input in dotted form, or returns it trimmed when it is
/// not code-shaped (used to name codes in findings).
pub fn cm_display_form(input: &str) -> String {
    normalize(input)
        .map(|k| cm_dotted(&k))
        .unwrap_or_else(|| input.trim().to_string())
}

/// True when `key` (undotted) lies within `first..=last` compared the way ICD-10-CM
/// ranges are written: each end is compared on its own length, so `C00-C96`
/// includes `C96.Z` and `E08.3-E08.39` includes `E08.311`.
pub fn key_in_range(key: &str, first: &str, last: &str) -> bool {
    let lo = &key[..key.len().min(first.len())];
    let hi = &key[..key.len().min(last.len())];
    lo >= first && hi <= last
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_dotted_and_undotted() {
        assert_eq!(normalize(" s72.001a ").as_deref(), Some("S72001A"));
        assert_eq!(normalize("S72001A").as_deref(), Some("S72001A"));
        assert_eq!(normalize("S7"), None);
        assert_eq!(normalize("S7.2.1"), None);
        assert_eq!(normalize("E11-9"), None);
        assert_eq!(cm_dotted("S72001A"), "S72.001A");
        assert_eq!(cm_dotted("E11"), "E11");
    }

    #[test]
    fn ranges_compare_per_end_length() {
        assert!(key_in_range("C96Z", "C00", "C96"));
        assert!(key_in_range("C00", "C00", "C96"));
        assert!(!key_in_range("D00", "C00", "C96"));
        assert!(key_in_range("M1A0", "M05", "M1A"));
        assert!(key_in_range("E08311", "E083", "E0839"));
        assert!(!key_in_range("E0840", "E083", "E0839"));
    }
}
