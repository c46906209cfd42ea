//! The classic registers of a records room, from the typed projections: the disease
//! index (ICD-10-CM codes, code-and-below, ranges and comma lists such as `E11`,
//! `C00-C96`, `E10,E11`), the procedure index (ICD-10-PCS codes or prefixes) and the
//! physician index (encounters attended, their diagnoses, and procedures performed, by
//! practitioner), each over a period, paged, as a searchset Bundle or CSV. Sealed
//! records, Consent-denied patients and other patients of a patient-scoped token are
//! filtered in the SQL, so totals and pages respect them.

mod query;
mod render;

pub use query::IndexRow;

use crate::auth::Access;
use crate::coding::CodeSpec;
use crate::error::{AppError, AppResult};
use crate::store::Store;
use once_cell::sync::Lazy;
use regex::Regex;

/// Which register.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexKind {
    Disease,
    Procedure,
    Physician,
}

impl IndexKind {
    /// The operation name (`disease-index` ...).
    pub fn operation(self) -> &'static str {
        match self {
            IndexKind::Disease => "$disease-index",
            IndexKind::Procedure => "$procedure-index",
            IndexKind::Physician => "$physician-index",
        }
    }
}

/// Largest CSV export without an explicit `_count`.
pub const CSV_LIMIT: usize = 1_000_000;

/// The parsed query of one index request.
#[derive(Debug, Clone)]
pub struct IndexRequest {
    pub kind: IndexKind,
    /// Inclusive ranges of undotted code keys, each end compared on its own length.
    pub code_ranges: Vec<(String, String)>,
    /// `YYYY-MM-DD` bounds (inclusive) of the row's date.
    pub period_start: Option<String>,
    pub period_end: Option<String>,
    pub practitioner: Option<String>,
    pub count: usize,
    pub offset: usize,
    /// The query as received (for paging links), without `_offset`.
    pub query: Vec<(String, String)>,
}

static DATE: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^\d{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?)?$")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

static PCS_ITEM: Lazy<Regex> = Lazy::new(|| {
    Regex::new(r"^([0-9A-HJ-NP-Z]{1,7})(?:-([0-9A-HJ-NP-Z]{1,7}))?$")
        .unwrap_or_else(|_| unreachable!("constant pattern"))
});

/// Pads a partial date to the first (`low`) or last possible day; string comparison
/// then does the rest (`2024-02-31` sorts after every real February day).
fn date_bound(name: &str, value: &str, low: bool) -> AppResult<String> {
    if !DATE.is_match(value) {
        return Err(AppError::invalid(format!(
            "{name}={value} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
        )));
    }
    let pad = if low { "-01-01" } else { "-12-31" };
    Ok(format!("{value}{}", &pad[value.len() - 4..]))
}

fn cm_ranges(code: &str) -> AppResult<Vec<(String, String)>> {
    let spec = CodeSpec::parse(&code.to_ascii_uppercase()).ok_or_else(|| {
        AppError::invalid(format!(
            "code={code} is not an ICD-10-CM code, range or list (e.g. E11, C00-C96, E10,E11.9)"
        ))
    })?;
    Ok(spec
        .key_ranges()
        .into_iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect())
}

fn pcs_ranges(code: &str) -> AppResult<Vec<(String, String)>> {
    code.split(',')
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .map(|item| {
            let upper = item.to_ascii_uppercase();
            let caps = PCS_ITEM.captures(&upper).ok_or_else(|| {
                AppError::invalid(format!(
                    "code item '{item}' is not an ICD-10-PCS code, prefix or range (e.g. 0DT, 0DTJ4ZZ, 0D-0F)"
                ))
            })?;
            let first = caps[1].to_string();
            let last = caps.get(2).map_or(first.clone(), |m| m.as_str().to_string());
            Ok((first, last))
        })
        .collect()
}

impl IndexRequest {
    /// Reads the query parameters (`code`, `period-start`, `period-end`, `practitioner`,
    /// `_count`, `_offset`; others are ignored). `csv` lifts the default page size.
    pub fn from_pairs(
        kind: IndexKind,
        pairs: &[(String, String)],
        default_count: usize,
        max_count: usize,
        csv: bool,
    ) -> AppResult<IndexRequest> {
        let mut request = IndexRequest {
            kind,
            code_ranges: Vec::new(),
            period_start: None,
            period_end: None,
            practitioner: None,
            count: if csv { CSV_LIMIT } else { default_count },
            offset: 0,
            query: Vec::new(),
        };
        let number = |name: &str, value: &str| {
            value
                .parse::<usize>()
                .map_err(|_| AppError::invalid(format!("{name}={value} is not a whole number")))
        };
        for (name, value) in pairs {
            match name.as_str() {
                "code" if kind != IndexKind::Physician => {
                    request.code_ranges.extend(match kind {
                        IndexKind::Procedure => pcs_ranges(value)?,
                        _ => cm_ranges(value)?,
                    });
                }
                "period-start" => request.period_start = Some(date_bound(name, value, true)?),
                "period-end" => request.period_end = Some(date_bound(name, value, false)?),
                "practitioner" => {
                    let id = value.rsplit('/').next().unwrap_or(value).trim();
                    if id.is_empty() {
                        return Err(AppError::invalid("practitioner needs a Practitioner id"));
                    }
                    request.practitioner = Some(id.to_string());
                }
                "_count" => request.count = number(name, value)?.min(max_count),
                "_offset" => {
                    request.offset = number(name, value)?;
                    continue;
                }
                _ => {}
            }
            request.query.push((name.clone(), value.clone()));
        }
        if let (Some(a), Some(b)) = (&request.period_start, &request.period_end) {
            if a > b {
                return Err(AppError::invalid("period-start is after period-end"));
            }
        }
        Ok(request)
    }
}

/// One page of an index.
pub struct IndexPage {
    pub request: IndexRequest,
    pub total: i64,
    pub rows: Vec<IndexRow>,
}

/// Runs an index query for a caller.
pub fn run(store: &Store, access: &Access, request: IndexRequest) -> AppResult<IndexPage> {
    let denied =
        store.denied_patients(access, &["Encounter", "Condition", "Procedure", "Patient"])?;
    let mut conn = store.db.read()?;
    let (total, rows) = query::page(&mut conn, &request, access, &denied)?;
    Ok(IndexPage {
        request,
        total,
        rows,
    })
}

impl IndexPage {
    /// The page as a searchset Bundle (see [`render::bundle`]).
    pub fn to_bundle(&self, store: &Store, base: &str) -> AppResult<serde_json::Value> {
        let mut conn = store.db.read()?;
        render::bundle(&mut conn, self, base)
    }

    /// The page as CSV.
    pub fn to_csv(&self) -> String {
        render::csv(&self.rows)
    }
}
