//! `token` parameter values: Coding, CodeableConcept (each coding plus its
//! text as a display-only token), Identifier (with its type for `:of-type`),
//! ContactPoint (system = the ContactPoint system, as HAPI does), and
//! code/boolean/string/uri/id primitives. A `code` with a required binding
//! gets the code system that defines it (`gender` -> administrative-gender),
//! so both `gender=male` and `gender=http://hl7.org/fhir/administrative-gender|male` match.

use serde_json::{Map, Value};

use super::{normalize_string, IndexValue};
use crate::fhir::fhirpath::Item;

fn text(map: &Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

fn code_token(code: String) -> IndexValue {
    IndexValue::Token {
        system: None,
        code: Some(code),
        display: None,
        type_system: None,
        type_code: None,
    }
}

fn coding_token(coding: &Map<String, Value>) -> Option<IndexValue> {
    let (system, code) = (text(coding, "system"), text(coding, "code"));
    let display = text(coding, "display").map(|d| normalize_string(&d));
    if system.is_none() && code.is_none() && display.is_none() {
        return None;
    }
    Some(IndexValue::Token {
        system,
        code,
        display,
        type_system: None,
        type_code: None,
    })
}

/// The codings' tokens, and the concept's text as a display-only token unless a coding's
/// display already says the same (`:text` matches the display of any of the tokens, so the
/// extra row would only cost an insert; Synthea-style data repeats the display as text).
fn codeable_concept(map: &Map<String, Value>, out: &mut Vec<IndexValue>) {
    let codings = map
        .get("coding")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    let start = out.len();
    out.extend(
        codings
            .filter_map(Value::as_object)
            .filter_map(coding_token),
    );
    let Some(text) = text(map, "text").map(|t| normalize_string(&t)) else {
        return;
    };
    let said = out[start..]
        .iter()
        .any(|t| matches!(t, IndexValue::Token { display: Some(d), .. } if *d == text));
    if !said {
        out.push(IndexValue::Token {
            system: None,
            code: None,
            display: Some(text),
            type_system: None,
            type_code: None,
        });
    }
}

fn identifier(map: &Map<String, Value>, out: &mut Vec<IndexValue>) {
    let type_coding = map
        .get("type")
        .and_then(|t| t.get("coding"))
        .and_then(Value::as_array)
        .and_then(|c| c.iter().find(|c| c.get("code").is_some()))
        .and_then(Value::as_object);
    let display = map
        .get("type")
        .and_then(|t| t.get("text"))
        .and_then(Value::as_str)
        .map(normalize_string);
    let (system, code) = (text(map, "system"), text(map, "value"));
    if system.is_none() && code.is_none() {
        return;
    }
    out.push(IndexValue::Token {
        system,
        code,
        display,
        type_system: type_coding.and_then(|c| text(c, "system")),
        type_code: type_coding.and_then(|c| text(c, "code")),
    });
}

/// Token values of one item.
pub fn extract(item: &Item, out: &mut Vec<IndexValue>) {
    match item {
        Item::Boolean(b) => out.push(code_token(b.to_string())),
        Item::String(s) => out.push(code_token(s.clone())),
        Item::Integer(i) => out.push(code_token(i.to_string())),
        Item::Node(node) => match node.value {
            Some(Value::String(s)) => out.push(IndexValue::Token {
                system: node.code_system(s).map(str::to_string),
                code: Some(s.clone()),
                display: None,
                type_system: None,
                type_code: None,
            }),
            Some(Value::Bool(b)) => out.push(code_token(b.to_string())),
            Some(Value::Number(n)) => out.push(code_token(n.to_string())),
            Some(Value::Object(map)) => match node.effective_type() {
                Some("CodeableConcept") => codeable_concept(map, out),
                Some("Identifier") => identifier(map, out),
                Some("ContactPoint") => {
                    if let Some(value) = text(map, "value") {
                        out.push(IndexValue::Token {
                            system: text(map, "system"),
                            code: Some(value),
                            display: None,
                            type_system: None,
                            type_code: None,
                        });
                    }
                }
                // Untyped: a bare `{value}` is an Identifier, otherwise read it as a Coding.
                _ if map.contains_key("value") && !map.contains_key("code") => identifier(map, out),
                _ => out.extend(coding_token(map)),
            },
            _ => {}
        },
        _ => {}
    }
}
