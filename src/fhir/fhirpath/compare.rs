//! Equality, equivalence, ordering and arithmetic over single items.

use std::cmp::Ordering;

use serde_json::Value;

use super::item::Item;
use super::FhirPathError;
use crate::fhir::index::date_range;

/// A single item reduced to a comparable system value.
#[derive(Debug, Clone, PartialEq)]
pub enum Prim<'a> {
    Boolean(bool),
    Integer(i64),
    Decimal(f64),
    String(&'a str),
    /// Date, dateTime or time text.
    Temporal(&'a str),
    Quantity(f64, &'a str),
    /// Complex JSON element (compared structurally).
    Json(&'a Value),
}

/// Reduce an item to a primitive; `None` for an element with no value.
pub fn prim<'a, 'b>(item: &'b Item<'a>) -> Option<Prim<'b>> {
    Some(match item {
        Item::Boolean(b) => Prim::Boolean(*b),
        Item::Integer(i) => Prim::Integer(*i),
        Item::Decimal(d) => Prim::Decimal(*d),
        Item::String(s) => Prim::String(s),
        Item::Date(s) | Item::DateTime(s) | Item::Time(s) => Prim::Temporal(s),
        Item::Quantity(v, unit) => Prim::Quantity(*v, unit),
        Item::Resolved { reference, .. } => Prim::Json(reference),
        Item::Node(node) => match node.value? {
            Value::Bool(b) => Prim::Boolean(*b),
            Value::Number(n) => match n.as_i64() {
                Some(i) => Prim::Integer(i),
                None => Prim::Decimal(n.as_f64()?),
            },
            Value::String(s) => match node.type_name {
                Some("date" | "dateTime" | "instant" | "time") => Prim::Temporal(s),
                _ => Prim::String(s),
            },
            other => Prim::Json(other),
        },
    })
}

fn as_f64(p: &Prim) -> Option<f64> {
    match p {
        Prim::Integer(i) => Some(*i as f64),
        Prim::Decimal(d) => Some(*d),
        _ => None,
    }
}

/// FHIRPath `=` on two single items; `None` when the result is empty.
pub fn equal(a: &Item, b: &Item) -> Option<bool> {
    let (a, b) = (prim(a)?, prim(b)?);
    Some(match (&a, &b) {
        (Prim::String(x) | Prim::Temporal(x), Prim::String(y) | Prim::Temporal(y)) => x == y,
        (Prim::Boolean(x), Prim::Boolean(y)) => x == y,
        (Prim::Quantity(x, u), Prim::Quantity(y, v)) => x == y && u == v,
        (Prim::Json(x), Prim::Json(y)) => x == y,
        _ => match (as_f64(&a), as_f64(&b)) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    })
}

/// FHIRPath `~` on two single items (case- and whitespace-insensitive strings).
pub fn equivalent(a: &Item, b: &Item) -> bool {
    match (prim(a), prim(b)) {
        (None, None) => true,
        (Some(Prim::String(x)), Some(Prim::String(y))) => {
            let norm = |s: &str| {
                s.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_lowercase()
            };
            norm(x) == norm(y)
        }
        (Some(x), Some(y)) => match (as_f64(&x), as_f64(&y)) {
            (Some(p), Some(q)) => (p - q).abs() < 1e-8,
            _ => equal(a, b).unwrap_or(false),
        },
        _ => false,
    }
}

/// Ordering of two single items; `None` when incomparable or ambiguous (dates of
/// different precision that overlap).
pub fn compare(a: &Item, b: &Item) -> Result<Option<Ordering>, FhirPathError> {
    let (Some(a), Some(b)) = (prim(a), prim(b)) else {
        return Ok(None);
    };
    Ok(match (&a, &b) {
        (Prim::Temporal(x), Prim::Temporal(y) | Prim::String(y))
        | (Prim::String(x), Prim::Temporal(y)) => compare_dates(x, y),
        (Prim::String(x), Prim::String(y)) => Some(x.cmp(y)),
        (Prim::Quantity(x, u), Prim::Quantity(y, v)) if u == v => x.partial_cmp(y),
        _ => match (as_f64(&a), as_f64(&b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y),
            _ => {
                return Err(FhirPathError::Type(format!(
                    "cannot compare {a:?} with {b:?}"
                )))
            }
        },
    })
}

fn compare_dates(x: &str, y: &str) -> Option<Ordering> {
    match (date_range(x), date_range(y)) {
        (Some((xl, xh)), Some((yl, yh))) => {
            if (xl, xh) == (yl, yh) {
                Some(Ordering::Equal)
            } else if xh < yl {
                Some(Ordering::Less)
            } else if xl > yh {
                Some(Ordering::Greater)
            } else {
                None
            }
        }
        _ => Some(x.cmp(y)),
    }
}

/// Arithmetic on two single items.
pub fn arithmetic<'a>(op: char, a: &Item, b: &Item) -> Result<Option<Item<'a>>, FhirPathError> {
    let (Some(pa), Some(pb)) = (prim(a), prim(b)) else {
        return Ok(None);
    };
    if let (Prim::Temporal(date) | Prim::String(date), Prim::Quantity(amount, unit)) = (&pa, &pb) {
        let sign = match op {
            '+' => 1,
            '-' => -1,
            _ => return Ok(None),
        };
        return Ok(super::temporal::shift(date, *amount, unit, sign));
    }
    if let (Prim::String(x), Prim::String(y), '+') = (&pa, &pb, op) {
        return Ok(Some(Item::String(format!("{x}{y}"))));
    }
    if let (Prim::Integer(x), Prim::Integer(y)) = (&pa, &pb) {
        let result = match op {
            '+' => x.checked_add(*y),
            '-' => x.checked_sub(*y),
            '*' => x.checked_mul(*y),
            'd' => x.checked_div(*y),
            'm' => x.checked_rem(*y),
            _ => None,
        };
        if op != '/' {
            return Ok(result.map(Item::Integer));
        }
    }
    if let (Prim::Quantity(x, u), Prim::Quantity(y, v)) = (&pa, &pb) {
        return Ok(match op {
            '+' if u == v => Some(Item::Quantity(x + y, u.to_string())),
            '-' if u == v => Some(Item::Quantity(x - y, u.to_string())),
            _ => None,
        });
    }
    let (Some(x), Some(y)) = (as_f64(&pa), as_f64(&pb)) else {
        return Err(FhirPathError::Type(format!(
            "arithmetic '{op}' not supported on {pa:?} and {pb:?}"
        )));
    };
    Ok(match op {
        '+' => Some(Item::Decimal(x + y)),
        '-' => Some(Item::Decimal(x - y)),
        '*' => Some(Item::Decimal(x * y)),
        '/' if y != 0.0 => Some(Item::Decimal(x / y)),
        'd' if y != 0.0 => Some(Item::Integer((x / y).trunc() as i64)),
        'm' if y != 0.0 => Some(Item::Decimal(x % y)),
        _ => None,
    })
}

/// String form of a single item (for `toString()`, `&`, string functions).
pub fn item_string(item: &Item) -> Option<String> {
    Some(match prim(item)? {
        Prim::Boolean(b) => b.to_string(),
        Prim::Integer(i) => i.to_string(),
        Prim::Decimal(d) => match item.json() {
            Some(Value::Number(n)) => n.to_string(),
            _ => d.to_string(),
        },
        Prim::String(s) | Prim::Temporal(s) => s.to_string(),
        Prim::Quantity(v, u) => format!("{v} '{u}'"),
        Prim::Json(_) => return None,
    })
}
