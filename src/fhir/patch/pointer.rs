//! JSON Pointer (RFC 6901) locations and the edits both patch formats share.

use super::unprocessable;
use crate::error::{AppError, AppResult};
use serde_json::Value;

/// Parses `/a/b~1c/0` into unescaped tokens; "" is the whole document.
pub fn parse(text: &str) -> AppResult<Vec<String>> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let Some(rest) = text.strip_prefix('/') else {
        return Err(AppError::invalid(format!(
            "JSON Pointer '{text}' must start with '/'"
        )));
    };
    rest.split('/')
        .map(|t| {
            if t.contains('~') && !valid_escapes(t) {
                return Err(AppError::invalid(format!(
                    "JSON Pointer '{text}' has an invalid '~' escape"
                )));
            }
            Ok(t.replace("~1", "/").replace("~0", "~"))
        })
        .collect()
}

fn valid_escapes(token: &str) -> bool {
    let bytes = token.as_bytes();
    bytes
        .iter()
        .enumerate()
        .all(|(i, b)| *b != b'~' || matches!(bytes.get(i + 1), Some(b'0' | b'1')))
}

/// An array index token: digits without a leading zero.
fn index(token: &str) -> Option<usize> {
    if token.is_empty() || (token.len() > 1 && token.starts_with('0')) {
        return None;
    }
    if !token.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    token.parse().ok()
}

pub fn render(tokens: &[String]) -> String {
    tokens
        .iter()
        .map(|t| format!("/{}", t.replace('~', "~0").replace('/', "~1")))
        .collect()
}

/// The value at `tokens`.
pub fn get<'a>(doc: &'a Value, tokens: &[String]) -> Option<&'a Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Object(map) => map.get(t),
        Value::Array(items) => items.get(index(t)?),
        _ => None,
    })
}

fn get_mut<'a>(doc: &'a mut Value, tokens: &[String]) -> Option<&'a mut Value> {
    tokens.iter().try_fold(doc, |v, t| match v {
        Value::Object(map) => map.get_mut(t),
        Value::Array(items) => items.get_mut(index(t)?),
        _ => None,
    })
}

fn missing(tokens: &[String]) -> AppError {
    unprocessable(format!("path '{}' does not exist", render(tokens)))
}

/// RFC 6902 `add`: sets a member, or inserts into an array (`-` appends).
pub fn add(doc: &mut Value, tokens: &[String], value: Value) -> AppResult<()> {
    let Some((last, parent)) = tokens.split_last() else {
        *doc = value;
        return Ok(());
    };
    match get_mut(doc, parent) {
        Some(Value::Object(map)) => {
            map.insert(last.clone(), value);
            Ok(())
        }
        Some(Value::Array(items)) => {
            let at = if last == "-" {
                items.len()
            } else {
                index(last)
                    .filter(|i| *i <= items.len())
                    .ok_or_else(|| missing(tokens))?
            };
            items.insert(at, value);
            Ok(())
        }
        _ => Err(missing(tokens)),
    }
}

/// RFC 6902 `remove`; returns the removed value.
pub fn remove(doc: &mut Value, tokens: &[String]) -> AppResult<Value> {
    let Some((last, parent)) = tokens.split_last() else {
        return Err(unprocessable("the whole resource cannot be removed"));
    };
    let removed = match get_mut(doc, parent) {
        Some(Value::Object(map)) => map.shift_remove(last),
        Some(Value::Array(items)) => index(last)
            .filter(|i| *i < items.len())
            .map(|i| items.remove(i)),
        _ => None,
    };
    removed.ok_or_else(|| missing(tokens))
}

/// RFC 6902 `replace`: the target must exist.
pub fn replace(doc: &mut Value, tokens: &[String], value: Value) -> AppResult<()> {
    let target = get_mut(doc, tokens).ok_or_else(|| missing(tokens))?;
    *target = value;
    Ok(())
}
