//! String manipulation and conversion functions (`startsWith`, `matches`,
//! `toInteger`, ...).

use regex::Regex;

use super::compare::item_string;
use super::eval::{single, Collection};
use super::item::Item;
use super::FhirPathError;

const FUNCTIONS: [&str; 25] = [
    "toString",
    "startsWith",
    "endsWith",
    "contains",
    "indexOf",
    "substring",
    "lower",
    "upper",
    "trim",
    "length",
    "toChars",
    "replace",
    "matches",
    "replaceMatches",
    "split",
    "toInteger",
    "toDecimal",
    "toBoolean",
    "convertsToInteger",
    "convertsToDecimal",
    "convertsToString",
    "toDate",
    "toDateTime",
    "convertsToBoolean",
    "join",
];

type ArgFn<'f, 'a> = dyn Fn(usize) -> Result<Collection<'a>, FhirPathError> + 'f;

/// Dispatch a string/conversion function; unknown names are `Unsupported`.
pub fn call<'a>(
    name: &str,
    input: &[Item<'a>],
    arg_count: usize,
    arg: &ArgFn<'_, 'a>,
) -> Result<Collection<'a>, FhirPathError> {
    let text_arg = |i: usize| -> Result<Option<String>, FhirPathError> {
        Ok(single(&arg(i)?)?.and_then(item_string))
    };
    let int_arg = |i: usize| -> Result<Option<i64>, FhirPathError> {
        Ok(match single(&arg(i)?)? {
            Some(Item::Integer(n)) => Some(*n),
            Some(item) => item.json().and_then(serde_json::Value::as_i64),
            None => None,
        })
    };
    if !FUNCTIONS.contains(&name) {
        return Err(FhirPathError::Unsupported(format!("function {name}()")));
    }
    if name == "join" {
        let separator = text_arg(0)?.unwrap_or_default();
        let parts: Vec<String> = input.iter().filter_map(item_string).collect();
        return Ok(vec![Item::String(parts.join(&separator))]);
    }
    if name == "toString" {
        return Ok(single(input)?
            .and_then(item_string)
            .map(Item::String)
            .into_iter()
            .collect());
    }
    let Some(item) = single(input)? else {
        return Ok(Vec::new());
    };
    let Some(text) = item_string(item) else {
        return Ok(Vec::new());
    };
    let boolean = |b: bool| Ok(vec![Item::Boolean(b)]);
    let string = |s: String| Ok(vec![Item::String(s)]);
    match name {
        "startsWith" => opt(text_arg(0)?, |p| boolean(text.starts_with(&p))),
        "endsWith" => opt(text_arg(0)?, |p| boolean(text.ends_with(&p))),
        "contains" => opt(text_arg(0)?, |p| boolean(text.contains(&p))),
        "indexOf" => opt(text_arg(0)?, |p| {
            let index = text
                .find(&p)
                .map(|b| text[..b].chars().count() as i64)
                .unwrap_or(-1);
            Ok(vec![Item::Integer(index)])
        }),
        "substring" => {
            let chars: Vec<char> = text.chars().collect();
            let Some(start) = int_arg(0)? else {
                return Ok(Vec::new());
            };
            if start < 0 || start as usize >= chars.len() {
                return Ok(Vec::new());
            }
            let start = start as usize;
            let length = if arg_count > 1 { int_arg(1)? } else { None };
            let end = length
                .map(|n| start.saturating_add(n.max(0) as usize))
                .unwrap_or(chars.len())
                .min(chars.len());
            string(chars[start..end].iter().collect())
        }
        "lower" => string(text.to_lowercase()),
        "upper" => string(text.to_uppercase()),
        "trim" => string(text.trim().to_string()),
        "length" => Ok(vec![Item::Integer(text.chars().count() as i64)]),
        "toChars" => Ok(text.chars().map(|c| Item::String(c.to_string())).collect()),
        "replace" => match (text_arg(0)?, text_arg(1)?) {
            (Some(from), Some(to)) => string(text.replace(&from, &to)),
            _ => Ok(Vec::new()),
        },
        "matches" => opt(text_arg(0)?, |p| boolean(regex(&p)?.is_match(&text))),
        "replaceMatches" => match (text_arg(0)?, text_arg(1)?) {
            (Some(p), Some(to)) => string(regex(&p)?.replace_all(&text, to.as_str()).into_owned()),
            _ => Ok(Vec::new()),
        },
        "split" => opt(text_arg(0)?, |sep| {
            Ok(text
                .split(sep.as_str())
                .map(|s| Item::String(s.to_string()))
                .collect())
        }),
        "toInteger" => Ok(text
            .parse::<i64>()
            .ok()
            .map(Item::Integer)
            .into_iter()
            .collect()),
        "toDecimal" => Ok(text
            .parse::<f64>()
            .ok()
            .map(Item::Decimal)
            .into_iter()
            .collect()),
        "toBoolean" => Ok(match text.as_str() {
            "true" | "t" | "yes" | "y" | "1" | "1.0" => vec![Item::Boolean(true)],
            "false" | "f" | "no" | "n" | "0" | "0.0" => vec![Item::Boolean(false)],
            _ => Vec::new(),
        }),
        "convertsToInteger" => boolean(text.parse::<i64>().is_ok()),
        "convertsToDecimal" => boolean(text.parse::<f64>().is_ok()),
        "convertsToString" => boolean(true),
        "convertsToBoolean" => boolean(matches!(
            text.as_str(),
            "true" | "t" | "yes" | "y" | "1" | "1.0" | "false" | "f" | "no" | "n" | "0" | "0.0"
        )),
        "toDate" => string_typed(&text, Item::Date),
        "toDateTime" => string_typed(&text, Item::DateTime),
        _ => Err(FhirPathError::Unsupported(format!("function {name}()"))),
    }
}

fn opt<'a>(
    value: Option<String>,
    f: impl FnOnce(String) -> Result<Collection<'a>, FhirPathError>,
) -> Result<Collection<'a>, FhirPathError> {
    value.map_or(Ok(Vec::new()), f)
}

fn string_typed<'a>(
    text: &str,
    wrap: fn(String) -> Item<'a>,
) -> Result<Collection<'a>, FhirPathError> {
    Ok(crate::fhir::index::date_range(text)
        .map(|_| wrap(text.to_string()))
        .into_iter()
        .collect())
}

fn regex(pattern: &str) -> Result<Regex, FhirPathError> {
    Regex::new(pattern).map_err(|e| FhirPathError::Type(format!("bad regex: {e}")))
}
