//! CSV text for the records-room reports (RFC 4180: comma-separated, CRLF line ends,
//! fields quoted when they hold a comma, quote or line break).

/// One field, quoted when needed.
fn field(value: &str) -> String {
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value.to_string()
    }
}

/// A header line and the rows, each ending in CRLF.
pub fn render(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut out = header.join(",");
    out.push_str("\r\n");
    for row in rows {
        let line: Vec<String> = row.iter().map(|v| field(v)).collect();
        out.push_str(&line.join(","));
        out.push_str("\r\n");
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn quotes_only_what_needs_it() {
        let text = super::render(&["a", "b"], vec![vec!["x".into(), "Doe, \"J\"".into()]]);
        assert_eq!(text, "a,b\r\nx,\"Doe, \"\"J\"\"\"\r\n");
    }
}
