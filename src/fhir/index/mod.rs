//! Extraction of search-index values from a resource, driven by the official
//! R4 SearchParameter expressions (see `crate::fhir::search_params`).
//!
//! Pure: takes JSON, returns rows for the index tables. `_id` and
//! `_lastUpdated` are not emitted: the storage layer keeps them as columns of
//! the resource row. Parameters of kind `special` and those without an
//! expression (`_text`, `_content`, `_query`, `near`) are not indexed here.

mod composite;
mod dates;
mod numeric;
mod reference;
mod string;
#[cfg(test)]
mod tests;
mod text;
mod token;

pub use dates::date_range;
pub use numeric::precision_range;
pub use text::normalize_string;

use serde_json::Value;

use crate::fhir::fhirpath::{evaluate, FhirPathError, Item};
use crate::fhir::search_params::{registry, ParamKind, SearchParamDef};

/// One row for a search index table.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexEntry {
    /// Search parameter code (the composite's code for composite components).
    pub param: String,
    /// Component position within a composite parameter.
    pub component: Option<u8>,
    /// Composite instance number, unique within the resource.
    pub group: Option<u32>,
    pub value: IndexValue,
}

/// An extracted value, one variant per index table.
#[derive(Debug, Clone, PartialEq)]
pub enum IndexValue {
    String {
        /// Lowercase, diacritics removed, whitespace collapsed.
        normalized: String,
        exact: String,
    },
    Token {
        system: Option<String>,
        code: Option<String>,
        /// Normalised display text (for `:text`).
        display: Option<String>,
        /// `Identifier.type` coding (for `:of-type`).
        type_system: Option<String>,
        type_code: Option<String>,
    },
    /// Inclusive epoch-millisecond range (UTC); open ends are `i64::MIN`/`i64::MAX`.
    Date {
        low: i64,
        high: i64,
    },
    /// `[low, high]` is the implicit precision range of `value`.
    Number {
        value: f64,
        low: f64,
        high: f64,
    },
    Quantity {
        value: f64,
        low: f64,
        high: f64,
        system: Option<String>,
        code: Option<String>,
        unit: Option<String>,
    },
    Reference {
        target_type: Option<String>,
        target_id: Option<String>,
        /// Absolute, canonical or `urn:` reference as written (version kept).
        url: Option<String>,
        identifier_system: Option<String>,
        identifier_value: Option<String>,
    },
    Uri {
        value: String,
    },
}

/// Why a resource could not be indexed.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    #[error("resource has no resourceType")]
    MissingResourceType,
    #[error("search parameter {param}: {source}")]
    Expression {
        param: String,
        #[source]
        source: FhirPathError,
    },
}

/// Parameters whose values the storage layer keeps on the resource row.
const SKIPPED_PARAMS: [&str; 2] = ["_id", "_lastUpdated"];

/// Extract index entries for every search parameter of the resource's type.
pub fn extract(resource: &Value) -> Result<Vec<IndexEntry>, IndexError> {
    let resource_type = resource
        .get("resourceType")
        .and_then(Value::as_str)
        .ok_or(IndexError::MissingResourceType)?;
    let mut entries = Vec::new();
    let mut next_group = 0u32;
    for (def, expr) in registry().expressions_for(resource_type) {
        if def.kind == ParamKind::Special
            || SKIPPED_PARAMS.contains(&def.code.as_str())
            || def.union_of().is_some()
        {
            continue;
        }
        let items = evaluate(expr, resource).map_err(|source| IndexError::Expression {
            param: def.code.clone(),
            source,
        })?;
        if items.is_empty() {
            continue;
        }
        if def.kind == ParamKind::Composite {
            composite::extract(def, items, resource, &mut next_group, &mut entries)?;
            continue;
        }
        for value in distinct(values(def.kind, &items)) {
            entries.push(IndexEntry {
                param: def.code.clone(),
                component: None,
                group: None,
                value,
            });
        }
    }
    Ok(entries)
}

/// Index values of `items` for a parameter of kind `kind`.
pub fn values(kind: ParamKind, items: &[Item]) -> Vec<IndexValue> {
    let mut out = Vec::new();
    for item in items {
        match kind {
            ParamKind::String => string::extract(item, &mut out),
            ParamKind::Token => token::extract(item, &mut out),
            ParamKind::Date => dates_extract(item, &mut out),
            ParamKind::Number => numeric::extract_number(item, &mut out),
            ParamKind::Quantity => numeric::extract_quantity(item, &mut out),
            ParamKind::Reference => reference::extract_reference(item, &mut out),
            ParamKind::Uri => reference::extract_uri(item, &mut out),
            ParamKind::Composite | ParamKind::Special => {}
        }
    }
    out
}

/// Drop repeated values of one parameter (a name given twice, the same code
/// in two codings). Quadratic, so very long lists are kept as they are.
fn distinct(values: Vec<IndexValue>) -> Vec<IndexValue> {
    const MAX_DEDUP: usize = 512;
    if values.len() > MAX_DEDUP {
        return values;
    }
    let mut out: Vec<IndexValue> = Vec::with_capacity(values.len());
    for value in values {
        if !out.contains(&value) {
            out.push(value);
        }
    }
    out
}

fn dates_extract(item: &Item, out: &mut Vec<IndexValue>) {
    if let Some((low, high)) = dates::item_range(item) {
        out.push(IndexValue::Date { low, high });
    }
}

/// Definition lookup used by composites (kept here so submodules share it).
fn component_def(url: &str) -> Option<&'static SearchParamDef> {
    registry().by_url(url)
}
