//! Sort keys of a search page as SQL: a key's value per resource row, the keyset condition
//! that continues after a cursor, and the index walk (`Lead`) that serves a first key on an
//! indexed parameter in index order instead of sorting every match.

use super::search::push_param;
use super::sql::{Sql, SqlValue};
use super::Backend;
use crate::error::{AppError, AppResult};
use crate::fhir::search_params::{ParamKind, SearchParamDef};
use crate::search::parse::{SearchRequest, SortKey, SortParam};
use serde_json::Value;

/// How a key's values compare and bind (integer binds keep BIGINT index columns usable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    Text,
    Int,
    Float,
}

/// One sort key as an SQL expression.
#[derive(Debug, Clone)]
pub struct KeyExpr {
    pub sql: Sql,
    pub kind: KeyType,
    pub descending: bool,
}

/// The index table and column a parameter sorts by: for a descending date the upper bound,
/// else the lower; a string by byte order (the collation of `idx_string_lookup` on PostgreSQL,
/// SQLite's own).
fn index_column(
    def: &SearchParamDef,
    descending: bool,
    backend: Backend,
) -> (&'static str, &'static str, KeyType) {
    match def.kind {
        ParamKind::String if backend == Backend::Postgres => {
            ("idx_string", "normalized COLLATE \"C\"", KeyType::Text)
        }
        ParamKind::String => ("idx_string", "normalized", KeyType::Text),
        ParamKind::Token => ("idx_token", "code", KeyType::Text),
        ParamKind::Reference => ("idx_reference", "target_id", KeyType::Text),
        ParamKind::Uri => ("idx_uri", "value", KeyType::Text),
        ParamKind::Date if descending => ("idx_date", "high", KeyType::Int),
        ParamKind::Date => ("idx_date", "low", KeyType::Int),
        ParamKind::Quantity => ("idx_quantity", "value", KeyType::Float),
        _ => ("idx_number", "value", KeyType::Float),
    }
}

/// The value of `key` for the resource row `r`: a column, or the smallest (largest when
/// descending) indexed value of the parameter.
pub fn row_key(key: &SortKey, backend: Backend) -> KeyExpr {
    let (sql, kind) = match &key.param {
        SortParam::Id => (Sql::new("r.res_id"), KeyType::Text),
        SortParam::LastUpdated => (Sql::new("r.last_updated"), KeyType::Int),
        SortParam::Indexed(def) => {
            let (table, column, kind) = index_column(def, key.descending, backend);
            let agg = if key.descending { "MAX" } else { "MIN" };
            let mut sql = Sql::new(&format!(
                "(SELECT {agg}(o.{column}) FROM {table} o WHERE o.rk = r.rk AND "
            ));
            push_param(&mut sql, "o.param", def).push(")");
            (sql, kind)
        }
    };
    KeyExpr {
        sql,
        kind,
        descending: key.descending,
    }
}

/// A first sort key on an indexed parameter, served by walking the index table `o` in key
/// order. Each resource is met at its sort value (the index row holding its MIN or MAX);
/// resources without a value come after all others, from a second statement.
pub struct Lead {
    table: &'static str,
    column: &'static str,
    kind: KeyType,
    def: &'static SearchParamDef,
    descending: bool,
}

impl Lead {
    /// The lead of `req`, when its first sort key is on an indexed parameter.
    pub fn of(req: &SearchRequest, backend: Backend) -> Option<Lead> {
        let key = req.sort.first()?;
        let SortParam::Indexed(def) = key.param else {
            return None;
        };
        let (table, column, kind) = index_column(def, key.descending, backend);
        Some(Lead {
            table,
            column,
            kind,
            def,
            descending: key.descending,
        })
    }

    /// The key as the walked index row's column.
    pub fn key(&self) -> KeyExpr {
        KeyExpr {
            sql: Sql::new(&format!("o.{}", self.column)),
            kind: self.kind,
            descending: self.descending,
        }
    }

    /// ` JOIN {index} o ON o.rk = r.rk`, the index table the walk reads.
    pub fn join(&self) -> String {
        format!(" JOIN {} o ON o.rk = r.rk", self.table)
    }

    /// Conditions on the walked row `o`: the parameter (with the searched types, so the
    /// walk is a range of the lookup index), a value, and that it is the resource's sort value.
    pub fn conditions(&self, types: &[String]) -> Sql {
        let mut sql = Sql::default();
        match types {
            [] => {}
            [one] => {
                sql.push(" AND o.res_type = ").bind(one.as_str());
            }
            many => {
                sql.push(" AND o.res_type IN ")
                    .bind_list(many.iter().map(String::as_str));
            }
        }
        let (table, column) = (self.table, self.column);
        let agg = if self.descending { "MAX" } else { "MIN" };
        push_param(sql.push(" AND "), "o.param", self.def);
        sql.push(&format!(" AND o.{column} IS NOT NULL AND o.{column} = (SELECT {agg}(o2.{column}) FROM {table} o2 WHERE o2.rk = o.rk AND "));
        push_param(&mut sql, "o2.param", self.def).push(")");
        sql
    }

    /// ` AND o.col <= v` (`>=` ascending): the bound of a cursor the index range can use
    /// (the keyset condition is an OR, which no index serves).
    pub fn bound(&self, value: &SqlValue) -> Sql {
        let mut sql = Sql::new(&format!(
            " AND o.{} {} ",
            self.column,
            if self.descending { "<=" } else { ">=" }
        ));
        sql.bind(value.clone());
        sql
    }

    /// ` AND NOT EXISTS (...)`: the resource row `r` has no value to sort by.
    pub fn without_value(&self) -> Sql {
        let mut sql = Sql::new(&format!(
            " AND NOT EXISTS (SELECT 1 FROM {} o WHERE o.rk = r.rk AND ",
            self.table
        ));
        push_param(&mut sql, "o.param", self.def)
            .push(&format!(" AND o.{} IS NOT NULL)", self.column));
        sql
    }
}

/// A parsed `_cursor`: the sort values of the last row of the previous page and its row key.
#[derive(Debug, Clone)]
pub struct Cursor {
    /// One per sort key; None: the row had no value.
    pub values: Vec<Option<SqlValue>>,
    pub rk: i64,
}

fn bad_cursor() -> AppError {
    AppError::invalid(
        "_cursor is not valid for this search (it comes from a next link of the same query)",
    )
}

impl Cursor {
    /// Parses `text` (from [`super::search_page::SearchRow::cursor`]) for the keys `keys`.
    pub fn parse(text: &str, keys: &[KeyExpr]) -> AppResult<Cursor> {
        let parsed: Value = serde_json::from_str(text).map_err(|_| bad_cursor())?;
        let values = parsed
            .get(0)
            .and_then(Value::as_array)
            .ok_or_else(bad_cursor)?;
        let rk = parsed
            .get(1)
            .and_then(Value::as_i64)
            .ok_or_else(bad_cursor)?;
        if values.len() != keys.len() {
            return Err(bad_cursor());
        }
        let values = keys
            .iter()
            .zip(values)
            .map(|(key, v)| match key.kind {
                KeyType::Text => v.get(0).and_then(Value::as_str).map(SqlValue::from),
                KeyType::Int => v
                    .get(1)
                    .and_then(Value::as_f64)
                    .map(|n| SqlValue::from(n as i64)),
                KeyType::Float => v.get(1).and_then(Value::as_f64).map(SqlValue::from),
            })
            .collect();
        Ok(Cursor { values, rk })
    }
}

/// Keyset condition: rows strictly after `cursor` in the order of `keys`, then `r.rk`
/// (nulls last). `keys` and `values` pair up.
pub fn after_cursor(keys: &[KeyExpr], values: &[Option<SqlValue>], last_rk: i64) -> Sql {
    let mut sql = Sql::new("(");
    for i in 0..=keys.len() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(1 = 1");
        for (key, value) in keys[..i].iter().zip(values) {
            sql.push(" AND ");
            match value {
                Some(v) => sql.append(key.sql.clone()).push(" = ").bind(v.clone()),
                None => sql.append(key.sql.clone()).push(" IS NULL"),
            };
        }
        if let Some(key) = keys.get(i) {
            match &values[i] {
                Some(v) => {
                    sql.push(" AND (")
                        .append(key.sql.clone())
                        .push(if key.descending { " < " } else { " > " })
                        .bind(v.clone());
                    sql.push(" OR ").append(key.sql.clone()).push(" IS NULL)");
                }
                None => {
                    sql.push(" AND 1 = 0");
                }
            }
        } else {
            sql.push(" AND r.rk > ").bind(last_rk);
        }
        sql.push(")");
    }
    sql.push(")");
    sql
}
