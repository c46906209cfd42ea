//! Comparison prefixes of number, date and quantity values (`ge2020`, `lt5.4`).

/// `eq ne gt lt ge le sa eb ap`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
    Sa,
    Eb,
    Ap,
}

/// Splits a leading prefix off a value (default `eq`).
pub fn split(value: &str) -> (Prefix, &str) {
    let table = [
        ("eq", Prefix::Eq),
        ("ne", Prefix::Ne),
        ("gt", Prefix::Gt),
        ("lt", Prefix::Lt),
        ("ge", Prefix::Ge),
        ("le", Prefix::Le),
        ("sa", Prefix::Sa),
        ("eb", Prefix::Eb),
        ("ap", Prefix::Ap),
    ];
    for (text, prefix) in table {
        if let Some(rest) = value.strip_prefix(text) {
            if rest.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '.') {
                return (prefix, rest);
            }
        }
    }
    (Prefix::Eq, value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(split("ge2020-01"), (Prefix::Ge, "2020-01"));
        assert_eq!(split("2020"), (Prefix::Eq, "2020"));
        assert_eq!(split("lt-5"), (Prefix::Lt, "-5"));
        assert_eq!(split("apple"), (Prefix::Eq, "apple"));
    }
}
