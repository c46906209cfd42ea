//! `number` and `quantity` values: decimals with their implicit precision
//! range, Quantity/Age/Duration/Count/Distance, Money (code = currency) and
//! Range (low..high).

use serde_json::Value;

use super::IndexValue;
use crate::fhir::fhirpath::Item;

const CURRENCY_SYSTEM: &str = "urn:iso:std:iso:4217";

/// Implicit precision range of a decimal as written: `1.5` -> `[1.45, 1.55]`,
/// `100` -> `[99.5, 100.5]`, `1.0e2` -> `[95, 105]`.
pub fn precision_range(text: &str) -> Option<(f64, f64, f64)> {
    let value: f64 = text.trim().parse().ok()?;
    if !value.is_finite() {
        return None;
    }
    let (mantissa, exponent) = match text.trim().split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (text.trim(), 0),
    };
    let decimals = mantissa.split_once('.').map_or(0, |(_, f)| f.len() as i32);
    let half = 0.5 * 10f64.powi(exponent.saturating_sub(decimals));
    Some((value, value - half, value + half))
}

fn number_text(value: &Value) -> Option<String> {
    match value {
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// `number` parameter values.
pub fn extract_number(item: &Item, out: &mut Vec<IndexValue>) {
    let range = match item {
        Item::Integer(i) => precision_range(&i.to_string()),
        Item::Decimal(d) => Some((*d, *d, *d)),
        Item::Node(node) => match node.value {
            Some(Value::Object(map)) if map.contains_key("low") || map.contains_key("high") => {
                range_bounds(map)
                    .map(|(low, high)| (if low > f64::MIN { low } else { high }, low, high))
            }
            Some(Value::Object(map)) => map
                .get("value")
                .and_then(number_text)
                .and_then(|t| precision_range(&t)),
            Some(value) => number_text(value).and_then(|t| precision_range(&t)),
            None => None,
        },
        _ => None,
    };
    if let Some((value, low, high)) = range {
        out.push(IndexValue::Number { value, low, high });
    }
}

/// Bounds of a Range: missing ends are unbounded (`f64::MIN`/`f64::MAX`).
fn range_bounds(map: &serde_json::Map<String, Value>) -> Option<(f64, f64)> {
    let bound = |key: &str| {
        map.get(key)
            .and_then(|q| q.get("value"))
            .and_then(number_text)
            .and_then(|t| precision_range(&t))
    };
    let (low, high) = (bound("low"), bound("high"));
    if low.is_none() && high.is_none() {
        return None;
    }
    Some((
        low.map_or(f64::MIN, |l| l.1),
        high.map_or(f64::MAX, |h| h.2),
    ))
}

fn text(map: &serde_json::Map<String, Value>, key: &str) -> Option<String> {
    map.get(key).and_then(Value::as_str).map(str::to_string)
}

/// `quantity` parameter values.
pub fn extract_quantity(item: &Item, out: &mut Vec<IndexValue>) {
    match item {
        Item::Quantity(v, unit) => out.push(IndexValue::Quantity {
            value: *v,
            low: *v,
            high: *v,
            system: Some("http://unitsofmeasure.org".into()),
            code: Some(unit.clone()),
            unit: Some(unit.clone()),
        }),
        Item::Node(node) => {
            let Some(Value::Object(map)) = node.value else {
                return;
            };
            if map.contains_key("low") || map.contains_key("high") {
                range_quantity(map, out);
            } else if let Some((value, low, high)) = map
                .get("value")
                .and_then(number_text)
                .and_then(|t| precision_range(&t))
            {
                let currency = text(map, "currency");
                out.push(IndexValue::Quantity {
                    value,
                    low,
                    high,
                    system: text(map, "system")
                        .or_else(|| currency.as_ref().map(|_| CURRENCY_SYSTEM.into())),
                    code: text(map, "code").or(currency),
                    unit: text(map, "unit"),
                });
            }
        }
        _ => {}
    }
}

/// A Range as one quantity spanning low..high (units from whichever end exists).
fn range_quantity(map: &serde_json::Map<String, Value>, out: &mut Vec<IndexValue>) {
    let Some((low, high)) = range_bounds(map) else {
        return;
    };
    let end = map
        .get("low")
        .or(map.get("high"))
        .and_then(Value::as_object);
    let field = |key: &str| end.and_then(|q| text(q, key));
    let value = if low > f64::MIN { low } else { high };
    out.push(IndexValue::Quantity {
        value,
        low,
        high,
        system: field("system"),
        code: field("code"),
        unit: field("unit"),
    });
}
