//! ZIP codes under Safe Harbor: the first three digits, or `000` where the three-digit
//! area holds 20,000 people or fewer (the list HHS publishes, `data/deid/restricted-zip3.txt`).

use once_cell::sync::Lazy;

static RESTRICTED: Lazy<Vec<&'static str>> = Lazy::new(|| {
    include_str!("../../../data/deid/restricted-zip3.txt")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
});

/// The three-digit prefixes that must be written as `000`.
pub fn restricted_zip3() -> &'static [&'static str] {
    &RESTRICTED
}

/// The Safe Harbor form of a postal code: `021` for `02139-4307`, `000` for restricted
/// areas; None when the code does not start with three digits (not a US ZIP code).
pub fn zip3(postal_code: &str) -> Option<String> {
    let digits: String = postal_code.trim().chars().take(3).collect();
    if digits.len() != 3 || !digits.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    if RESTRICTED.contains(&digits.as_str()) {
        Some("000".into())
    } else {
        Some(digits)
    }
}
