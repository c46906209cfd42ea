//! Last line of defence: string values shaped like an e-mail address, phone number, SSN,
//! IP address or URL are removed wherever they survive the element rules.

use once_cell::sync::Lazy;
use regex::Regex;

static IDENTIFYING: Lazy<Regex> = Lazy::new(|| {
    Regex::new(concat!(
        r"(?i)",
        r"[^\s@]+@[^\s@]+\.[a-z]{2,}",              // e-mail
        r"|\b\d{3}-\d{2}-\d{4}\b",                  // SSN
        r"|\(?\b\d{3}\)?[-. ]?\d{3}[-. ]\d{4}\b",   // NANP phone / fax
        r"|\b\d{1,3}(\.\d{1,3}){3}\b",              // IPv4
        r"|\b[0-9a-f]{1,4}(:[0-9a-f]{0,4}){4,7}\b", // IPv6
        r"|\b(https?|ftp)://|\bwww\.",              // URL
    ))
    .expect("valid identifier pattern")
});

/// True when the text looks like it carries a direct identifier.
pub fn looks_identifying(text: &str) -> bool {
    IDENTIFYING.is_match(text)
}

static DATE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^(\d{4})(-\d{2}(-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:\d{2})?)?)?)?$")
        .expect("valid date pattern")
});

/// The year of a FHIR date, dateTime or instant string.
pub fn date_year(text: &str) -> Option<&str> {
    DATE.captures(text)
        .and_then(|c| c.get(1))
        .map(|m| m.as_str())
}
