//! String normalisation shared by indexing and the query side: lowercase,
//! diacritics removed, whitespace collapsed.

use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// Normalise text for `string` search: NFKD, drop combining marks, lowercase,
/// collapse runs of whitespace to one space and trim.
pub fn normalize_string(s: &str) -> String {
    if s.is_ascii() {
        // Fast path: nothing to decompose.
        return collapse(s.chars());
    }
    collapse(s.nfkd().filter(|c| !is_combining_mark(*c)))
}

fn collapse(chars: impl Iterator<Item = char>) -> String {
    let mut out = String::new();
    let mut pending_space = false;
    for c in chars {
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        out.extend(c.to_lowercase());
    }
    out
}
