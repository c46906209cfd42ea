//! Search index rows: one table per value kind, rewritten with the resource in the same
//! transaction and cleared when it is deleted.

use super::inserts::Inserts;
use super::sql::{Sql, SqlValue};
use super::Conn;
use crate::error::AppResult;
use crate::fhir::index::{IndexEntry, IndexValue};

/// The search index tables.
pub const TABLES: &[&str] = &[
    "idx_string",
    "idx_token",
    "idx_date",
    "idx_number",
    "idx_quantity",
    "idx_reference",
    "idx_uri",
];

/// Removes every index row of `rk`.
pub fn clear(conn: &mut Conn, rk: i64) -> AppResult<()> {
    for table in TABLES {
        let mut sql = Sql::new(&format!("DELETE FROM {table} WHERE rk = "));
        sql.bind(rk);
        conn.execute(sql.keep_prepared())?;
    }
    Ok(())
}

/// Replaces the index rows of `rk` with `entries`. `fresh` skips the delete for a
/// resource that has never been indexed.
pub fn replace(
    conn: &mut Conn,
    rk: i64,
    res_type: &str,
    entries: &[IndexEntry],
    fresh: bool,
) -> AppResult<()> {
    if !fresh {
        clear(conn, rk)?;
    }
    let mut rows = Inserts::default();
    for e in entries {
        let table = table_of(&e.value);
        let mut row: Vec<SqlValue> = vec![
            rk.into(),
            res_type.into(),
            e.param.as_str().into(),
            e.component.map(i64::from).into(),
            e.group.map(i64::from).into(),
        ];
        row.extend(value_columns(&e.value));
        rows.add(
            table,
            &format!("rk, res_type, param, component, grp, {}", columns_of(table)),
            row,
        );
    }
    conn.insert_later(rows)
}

fn table_of(value: &IndexValue) -> &'static str {
    match value {
        IndexValue::String { .. } => "idx_string",
        IndexValue::Token { .. } => "idx_token",
        IndexValue::Date { .. } => "idx_date",
        IndexValue::Number { .. } => "idx_number",
        IndexValue::Quantity { .. } => "idx_quantity",
        IndexValue::Reference { .. } => "idx_reference",
        IndexValue::Uri { .. } => "idx_uri",
    }
}

fn columns_of(table: &str) -> &'static str {
    match table {
        "idx_string" => "normalized, exact",
        "idx_token" => "system, code, display, type_system, type_code",
        "idx_date" => "low, high",
        "idx_number" => "value, low, high",
        "idx_quantity" => "value, low, high, system, code, unit",
        "idx_reference" => "target_type, target_id, url, ident_system, ident_value",
        _ => "value",
    }
}

fn value_columns(value: &IndexValue) -> Vec<SqlValue> {
    match value.clone() {
        IndexValue::String { normalized, exact } => vec![normalized.into(), exact.into()],
        IndexValue::Token {
            system,
            code,
            display,
            type_system,
            type_code,
        } => {
            vec![
                system.into(),
                code.into(),
                display.into(),
                type_system.into(),
                type_code.into(),
            ]
        }
        IndexValue::Date { low, high } => vec![low.into(), high.into()],
        IndexValue::Number { value, low, high } => vec![value.into(), low.into(), high.into()],
        IndexValue::Quantity {
            value,
            low,
            high,
            system,
            code,
            unit,
        } => {
            vec![
                value.into(),
                low.into(),
                high.into(),
                system.into(),
                code.into(),
                unit.into(),
            ]
        }
        IndexValue::Reference {
            target_type,
            target_id,
            url,
            identifier_system,
            identifier_value,
        } => vec![
            target_type.into(),
            target_id.into(),
            url.into(),
            identifier_system.into(),
            identifier_value.into(),
        ],
        IndexValue::Uri { value } => vec![value.into()],
    }
}
