//! Date/dateTime arithmetic with calendar durations (`@2020-01-31 + 1 month`,
//! `today() - 18 years`). The result keeps the precision of the input.

use chrono::{Duration, Months, NaiveDate, NaiveDateTime};

use super::item::Item;

/// Calendar unit of a quantity: (months, milliseconds) per unit.
fn unit_size(unit: &str) -> Option<(u32, i64)> {
    Some(match unit {
        "year" | "years" | "a" => (12, 0),
        "month" | "months" | "mo" => (1, 0),
        "week" | "weeks" | "wk" => (0, 7 * 86_400_000),
        "day" | "days" | "d" => (0, 86_400_000),
        "hour" | "hours" | "h" => (0, 3_600_000),
        "minute" | "minutes" | "min" => (0, 60_000),
        "second" | "seconds" | "s" => (0, 1000),
        "millisecond" | "milliseconds" | "ms" => (0, 1),
        _ => return None,
    })
}

/// `text` (a FHIR date or dateTime) shifted by `amount` `unit`s; `sign` is +1 or -1.
pub fn shift<'a>(text: &str, amount: f64, unit: &str, sign: i64) -> Option<Item<'a>> {
    let (months_per, ms_per) = unit_size(unit)?;
    let whole = amount.trunc() as i64 * sign;
    let months = whole.checked_mul(i64::from(months_per))?;
    let millis = whole.checked_mul(ms_per)?;
    let add_months = |d: NaiveDate| -> Option<NaiveDate> {
        let m = Months::new(u32::try_from(months.unsigned_abs()).ok()?);
        if months >= 0 {
            d.checked_add_months(m)
        } else {
            d.checked_sub_months(m)
        }
    };
    match text.split_once('T') {
        None => {
            let parts: Vec<&str> = text.split('-').collect();
            let padded = match parts.len() {
                1 => format!("{text}-01-01"),
                2 => format!("{text}-01"),
                _ => text.to_string(),
            };
            let date = NaiveDate::parse_from_str(&padded, "%Y-%m-%d").ok()?;
            let shifted = add_months(date)?.checked_add_signed(Duration::milliseconds(millis))?;
            let format = match parts.len() {
                1 => "%Y",
                2 => "%Y-%m",
                _ => "%Y-%m-%d",
            };
            Some(Item::Date(shifted.format(format).to_string()))
        }
        Some((_, time)) => {
            let zone_at = time
                .rfind(['Z', '+', '-'])
                .map(|i| text.len() - time.len() + i);
            let (local, zone) = text.split_at(zone_at.unwrap_or(text.len()));
            let with_seconds = if local.matches(':').count() == 1 {
                format!("{local}:00")
            } else {
                local.to_string()
            };
            let parsed =
                NaiveDateTime::parse_from_str(&with_seconds, "%Y-%m-%dT%H:%M:%S%.f").ok()?;
            let date = add_months(parsed.date())?;
            let shifted = date
                .and_time(parsed.time())
                .checked_add_signed(Duration::milliseconds(millis))?;
            let format = if local.contains('.') {
                "%Y-%m-%dT%H:%M:%S%.3f"
            } else {
                "%Y-%m-%dT%H:%M:%S"
            };
            Some(Item::DateTime(format!("{}{zone}", shifted.format(format))))
        }
    }
}
