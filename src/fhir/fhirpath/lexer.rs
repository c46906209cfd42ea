//! Tokenizer for FHIRPath source text. Owns only the character-level grammar
//! (literals, identifiers, operators); it knows nothing about precedence.

use super::FhirPathError;

/// One lexical token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// Plain or backtick-delimited identifier.
    Ident(String),
    /// `'...'` string literal, escapes resolved.
    Str(String),
    /// Integer literal (kept as text to allow decimals and quantities).
    Number(String),
    /// `@2020-01-01`, `@2020-01-01T10:00:00Z`, `@T10:00`.
    DateTime(String),
    /// `%name` or `%'name'` environment variable.
    Env(String),
    /// `$this`, `$index`, `$total`.
    Special(String),
    /// Operator or punctuation.
    Op(&'static str),
}

const OPERATORS: [&str; 21] = [
    "<=", ">=", "!=", "!~", "=", "~", "<", ">", "|", "&", "+", "-", "*", "/", ".", ",", "(", ")",
    "[", "]", "{",
];

/// Split `src` into tokens.
pub fn tokenize(src: &str) -> Result<Vec<Token>, FhirPathError> {
    let chars: Vec<char> = src.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && chars.get(i + 1) == Some(&'/') {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && chars.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < chars.len() && !(chars[i] == '*' && chars[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '\'' {
            let (s, next) = quoted(&chars, i, '\'')?;
            tokens.push(Token::Str(s));
            i = next;
        } else if c == '`' {
            let (s, next) = quoted(&chars, i, '`')?;
            tokens.push(Token::Ident(s));
            i = next;
        } else if c == '@' {
            let start = i + 1;
            i = start;
            while i < chars.len() && is_datetime_char(chars[i]) {
                i += 1;
            }
            if i == start {
                return Err(FhirPathError::Syntax("empty date/time literal".into()));
            }
            tokens.push(Token::DateTime(chars[start..i].iter().collect()));
        } else if c == '%' {
            if chars.get(i + 1) == Some(&'\'') || chars.get(i + 1) == Some(&'`') {
                let (s, next) = quoted(&chars, i + 1, chars[i + 1])?;
                tokens.push(Token::Env(s));
                i = next;
            } else {
                let (s, next) = word(&chars, i + 1);
                if s.is_empty() {
                    return Err(FhirPathError::Syntax(
                        "empty environment variable name".into(),
                    ));
                }
                tokens.push(Token::Env(s));
                i = next;
            }
        } else if c == '$' {
            let (s, next) = word(&chars, i + 1);
            tokens.push(Token::Special(s));
            i = next;
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            if chars.get(i) == Some(&'.') && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()) {
                i += 1;
                while i < chars.len() && chars[i].is_ascii_digit() {
                    i += 1;
                }
            }
            tokens.push(Token::Number(chars[start..i].iter().collect()));
        } else if c.is_alphabetic() || c == '_' {
            let (s, next) = word(&chars, i);
            tokens.push(Token::Ident(s));
            i = next;
        } else if c == '}' {
            tokens.push(Token::Op("}"));
            i += 1;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let op = OPERATORS
                .iter()
                .find(|op| rest.starts_with(**op))
                .ok_or_else(|| FhirPathError::Syntax(format!("unexpected character '{c}'")))?;
            tokens.push(Token::Op(op));
            i += op.len();
        }
    }
    Ok(tokens)
}

fn is_datetime_char(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '-' | ':' | 'T' | 'Z' | '+' | '.')
}

fn word(chars: &[char], start: usize) -> (String, usize) {
    let mut i = start;
    while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
        i += 1;
    }
    (chars[start..i].iter().collect(), i)
}

/// Read a delimited literal starting at `start` (the opening delimiter).
fn quoted(chars: &[char], start: usize, delim: char) -> Result<(String, usize), FhirPathError> {
    let mut out = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        let c = chars[i];
        if c == delim {
            return Ok((out, i + 1));
        }
        if c == '\\' {
            i += 1;
            let esc = *chars
                .get(i)
                .ok_or_else(|| FhirPathError::Syntax("unterminated escape".into()))?;
            match esc {
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'f' => out.push('\u{c}'),
                'u' => {
                    let hex: String = chars.get(i + 1..i + 5).unwrap_or_default().iter().collect();
                    let code = u32::from_str_radix(&hex, 16)
                        .ok()
                        .and_then(char::from_u32)
                        .ok_or_else(|| FhirPathError::Syntax("bad \\u escape".into()))?;
                    out.push(code);
                    i += 4;
                }
                other => out.push(other),
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    Err(FhirPathError::Syntax("unterminated literal".into()))
}
