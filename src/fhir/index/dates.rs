//! FHIR date/dateTime/instant text to inclusive epoch-millisecond ranges.
//! A partial date covers its whole period (`2020` is the whole year); a
//! dateTime without a zone is read as UTC.

use chrono::NaiveDate;

/// Parse a FHIR date, dateTime or instant of any precision into the inclusive
/// `[low, high]` range in epoch milliseconds (UTC). `None` if not a valid date.
pub fn date_range(s: &str) -> Option<(i64, i64)> {
    let s = s.trim();
    let (date_part, time_part) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut fields = date_part.split('-');
    let year: i32 = digits(fields.next()?, 4)?;
    let month = optional_field(fields.next())?;
    let day = optional_field(fields.next())?;
    if fields.next().is_some() {
        return None;
    }
    let start = NaiveDate::from_ymd_opt(year, month.unwrap_or(1), day.unwrap_or(1))?;
    let Some(time) = time_part else {
        let end = match (month, day) {
            (_, Some(_)) => start.succ_opt()?,
            (Some(12), None) => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
            (Some(m), None) => NaiveDate::from_ymd_opt(year, m + 1, 1)?,
            (None, _) => NaiveDate::from_ymd_opt(year + 1, 1, 1)?,
        };
        let low = start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
        let high = end.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis() - 1;
        return Some((low, high));
    };
    // A time needs a full date.
    day?;
    let (clock, offset_ms) = split_zone(time)?;
    let (low_ms, span_ms) = clock_millis(clock)?;
    let base = start.and_hms_opt(0, 0, 0)?.and_utc().timestamp_millis();
    let low = base + low_ms - offset_ms;
    Some((low, low + span_ms - 1))
}

/// `None` when present but malformed; `Some(None)` when absent.
fn optional_field(text: Option<&str>) -> Option<Option<u32>> {
    match text {
        None => Some(None),
        Some(t) => digits(t, 2).map(|v| Some(v as u32)),
    }
}

fn digits(text: &str, len: usize) -> Option<i32> {
    (text.len() == len && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

/// Split `10:00:00+02:00` into clock text and zone offset in ms (`Z`/none = 0).
fn split_zone(time: &str) -> Option<(&str, i64)> {
    if let Some(clock) = time.strip_suffix('Z') {
        return Some((clock, 0));
    }
    let Some(pos) = time.rfind(['+', '-']) else {
        return Some((time, 0));
    };
    let (clock, zone) = time.split_at(pos);
    let sign = if zone.starts_with('-') { -1 } else { 1 };
    let (hours, minutes) = zone[1..].split_once(':')?;
    let offset = i64::from(digits(hours, 2)?) * 60 + i64::from(digits(minutes, 2)?);
    Some((clock, sign * offset * 60_000))
}

/// Milliseconds since midnight and the span covered by the given precision.
fn clock_millis(clock: &str) -> Option<(i64, i64)> {
    let mut parts = clock.split(':');
    let hours = i64::from(digits(parts.next()?, 2)?);
    let minutes = i64::from(digits(parts.next()?, 2)?);
    let seconds_text = parts.next();
    if parts.next().is_some() || hours > 24 || minutes > 59 {
        return None;
    }
    let base = (hours * 60 + minutes) * 60_000;
    let Some(seconds_text) = seconds_text else {
        return Some((base, 60_000));
    };
    let (whole, fraction) = match seconds_text.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (seconds_text, None),
    };
    let seconds = i64::from(digits(whole, 2)?);
    if seconds > 60 {
        return None;
    }
    let base = base + seconds * 1000;
    let Some(fraction) = fraction else {
        return Some((base, 1000));
    };
    if fraction.is_empty() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let kept = &fraction[..fraction.len().min(3)];
    let scale = 10_i64.pow(3 - kept.len() as u32);
    let millis: i64 = kept.parse().ok()?;
    Some((base + millis * scale, scale))
}

/// Range of a date-like item: date/dateTime/instant text, Period (open ends
/// unbounded), Timing (outer limits of events and bounds).
pub fn item_range(item: &crate::fhir::fhirpath::Item) -> Option<(i64, i64)> {
    use crate::fhir::fhirpath::Item;
    use serde_json::Value;
    match item {
        Item::Date(s) | Item::DateTime(s) | Item::String(s) => date_range(s),
        Item::Node(node) => match node.value? {
            Value::String(s) => date_range(s),
            Value::Object(map) if map.contains_key("event") || map.contains_key("repeat") => {
                timing_range(map)
            }
            period @ Value::Object(_) => period_range(period),
            _ => None,
        },
        _ => None,
    }
}

fn period_range(period: &serde_json::Value) -> Option<(i64, i64)> {
    let bound = |key: &str| {
        period
            .get(key)
            .and_then(|v| v.as_str())
            .and_then(date_range)
    };
    let (start, end) = (bound("start"), bound("end"));
    if start.is_none() && end.is_none() {
        return None;
    }
    Some((
        start.map_or(i64::MIN, |s| s.0),
        end.map_or(i64::MAX, |e| e.1),
    ))
}

fn timing_range(timing: &serde_json::Map<String, serde_json::Value>) -> Option<(i64, i64)> {
    let events = timing
        .get("event")
        .and_then(|e| e.as_array())
        .into_iter()
        .flatten()
        .filter_map(|e| e.as_str().and_then(date_range));
    let bounds = timing
        .get("repeat")
        .and_then(|r| r.get("boundsPeriod"))
        .and_then(period_range);
    events
        .chain(bounds)
        .reduce(|a, b| (a.0.min(b.0), a.1.max(b.1)))
}
