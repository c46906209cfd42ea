//! Running a search: the page of matching row keys in sort order with a keyset cursor,
//! the total count, `_include`/`_revinclude` targets, and a patient's compartment.

use super::search::Conditions;
use super::sql::{Sql, SqlValue};
use super::{Backend, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::search_params::ParamKind;
use crate::search::parse::{Include, SearchRequest, SortKey, SortParam};
use diesel::sql_types::{BigInt, Double, Nullable, Text};
use diesel::QueryableByName;
use serde_json::{json, Value};

/// A matching row with its sort values (text or number per key).
#[derive(Debug, Clone, QueryableByName)]
pub struct SearchRow {
    #[diesel(sql_type = BigInt)]
    pub rk: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub s0t: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    pub s0n: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub s1t: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    pub s1n: Option<f64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub s2t: Option<String>,
    #[diesel(sql_type = Nullable<Double>)]
    pub s2n: Option<f64>,
}

impl SearchRow {
    fn key(&self, i: usize) -> (Option<String>, Option<f64>) {
        match i {
            0 => (self.s0t.clone(), self.s0n),
            1 => (self.s1t.clone(), self.s1n),
            _ => (self.s2t.clone(), self.s2n),
        }
    }

    /// The cursor that continues after this row.
    pub fn cursor(&self, keys: usize) -> String {
        let values: Vec<Value> = (0..keys).map(|i| json!(self.key(i))).collect();
        json!([values, self.rk]).to_string()
    }
}

/// The sort expression of a key and whether it is numeric.
fn sort_expression(key: &SortKey, sql: &mut Sql) -> bool {
    match &key.param {
        SortParam::Id => {
            sql.push("r.res_id");
            false
        }
        SortParam::LastUpdated => {
            sql.push("r.last_updated");
            true
        }
        SortParam::Indexed(def) => {
            let (table, column, numeric) = match def.kind {
                ParamKind::String => ("idx_string", "normalized", false),
                ParamKind::Token => ("idx_token", "code", false),
                ParamKind::Reference => ("idx_reference", "target_id", false),
                ParamKind::Uri => ("idx_uri", "value", false),
                ParamKind::Date => (
                    "idx_date",
                    if key.descending { "high" } else { "low" },
                    true,
                ),
                _ => ("idx_number", "value", true),
            };
            let table = if def.kind == ParamKind::Quantity {
                "idx_quantity"
            } else {
                table
            };
            let agg = if key.descending { "MAX" } else { "MIN" };
            sql.push(&format!(
                "(SELECT {agg}(o.{column}) FROM {table} o WHERE o.rk = r.rk AND o.param = "
            ));
            sql.bind(def.code.as_str()).push(")");
            numeric
        }
    }
}

fn expression_sql(key: &SortKey) -> (Sql, bool) {
    let mut sql = Sql::default();
    let numeric = sort_expression(key, &mut sql);
    (sql, numeric)
}

/// `r.deleted = 0 AND type AND clauses`.
fn where_clause(req: &SearchRequest, backend: Backend) -> AppResult<Sql> {
    let mut sql = Sql::new(" WHERE r.deleted = 0");
    if !req.types.is_empty() {
        sql.push(" AND r.res_type IN ")
            .bind_list(req.types.iter().map(String::as_str));
    }
    let mut conditions = Conditions::new(backend);
    for clause in &req.clauses {
        sql.push(" AND ").append(conditions.clause(clause, "r")?);
    }
    Ok(sql)
}

fn bad_cursor() -> AppError {
    AppError::invalid(
        "_cursor is not valid for this search (it comes from a next link of the same query)",
    )
}

/// Keyset condition: rows strictly after the cursor in the sort order (nulls last).
fn after_cursor(req: &SearchRequest, cursor: &str) -> AppResult<Sql> {
    let parsed: Value = serde_json::from_str(cursor).map_err(|_| bad_cursor())?;
    let values = parsed
        .get(0)
        .and_then(Value::as_array)
        .ok_or_else(bad_cursor)?;
    let last_rk = parsed
        .get(1)
        .and_then(Value::as_i64)
        .ok_or_else(bad_cursor)?;
    if values.len() != req.sort.len() {
        return Err(bad_cursor());
    }
    let keys: Vec<(Sql, bool, bool, SqlValueOpt)> = req
        .sort
        .iter()
        .zip(values)
        .map(|(key, v)| {
            let (expr, numeric) = expression_sql(key);
            let value = if numeric {
                v.get(1).and_then(Value::as_f64).map(SqlValue::from)
            } else {
                v.get(0).and_then(Value::as_str).map(SqlValue::from)
            };
            (expr, numeric, key.descending, value)
        })
        .collect();
    let mut sql = Sql::new("(");
    for i in 0..=keys.len() {
        if i > 0 {
            sql.push(" OR ");
        }
        sql.push("(1 = 1");
        for (expr, _, _, value) in &keys[..i] {
            sql.push(" AND ");
            match value {
                Some(v) => sql.append(expr.clone()).push(" = ").bind(v.clone()),
                None => sql.append(expr.clone()).push(" IS NULL"),
            };
        }
        if i < keys.len() {
            let (expr, _, descending, value) = &keys[i];
            match value {
                Some(v) => {
                    sql.push(" AND (")
                        .append(expr.clone())
                        .push(if *descending { " < " } else { " > " })
                        .bind(v.clone());
                    sql.push(" OR ").append(expr.clone()).push(" IS NULL)");
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
    Ok(sql)
}

type SqlValueOpt = Option<SqlValue>;

/// One page of matches (at most `limit` rows) after `req.cursor`.
pub fn page(conn: &mut Conn, req: &SearchRequest, limit: usize) -> AppResult<Vec<SearchRow>> {
    let sql = page_sql(req, conn.backend(), limit)?;
    conn.load(&sql)
}

/// The statement [`page`] runs (text and binds), e.g. for `EXPLAIN`.
pub fn page_sql(req: &SearchRequest, backend: Backend, limit: usize) -> AppResult<Sql> {
    let mut sql = Sql::new("SELECT r.rk AS rk");
    for i in 0..3 {
        match req.sort.get(i) {
            Some(key) => {
                let (expr, numeric) = expression_sql(key);
                if numeric {
                    sql.push(&format!(", CAST(NULL AS TEXT) AS s{i}t, CAST("))
                        .append(expr)
                        .push(&format!(" AS DOUBLE PRECISION) AS s{i}n"));
                } else {
                    sql.push(", CAST(").append(expr).push(&format!(
                        " AS TEXT) AS s{i}t, CAST(NULL AS DOUBLE PRECISION) AS s{i}n"
                    ));
                }
            }
            None => {
                sql.push(&format!(
                    ", CAST(NULL AS TEXT) AS s{i}t, CAST(NULL AS DOUBLE PRECISION) AS s{i}n"
                ));
            }
        }
    }
    sql.push(" FROM resources r")
        .append(where_clause(req, backend)?);
    if let Some(cursor) = &req.cursor {
        sql.push(" AND ").append(after_cursor(req, cursor)?);
    }
    sql.push(" ORDER BY ");
    for key in &req.sort {
        let (expr, _) = expression_sql(key);
        sql.push("(")
            .append(expr.clone())
            .push(" IS NULL), ")
            .append(expr);
        sql.push(if key.descending { " DESC, " } else { " ASC, " });
    }
    sql.push("r.rk ASC LIMIT ").bind(limit as i64);
    Ok(sql)
}

/// The number of matches.
pub fn count(conn: &mut Conn, req: &SearchRequest) -> AppResult<i64> {
    let sql = count_sql(req, conn.backend())?;
    Ok(conn
        .first::<super::rows::CountRow>(&sql)?
        .map(|r| r.n)
        .unwrap_or(0))
}

/// The statement [`count`] runs.
pub fn count_sql(req: &SearchRequest, backend: Backend) -> AppResult<Sql> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM resources r");
    sql.append(where_clause(req, backend)?);
    Ok(sql)
}

#[derive(QueryableByName)]
struct TargetRow {
    #[diesel(sql_type = Text)]
    target_type: String,
    #[diesel(sql_type = Text)]
    target_id: String,
}

/// Row keys of what `include` pulls in from the resources `rks`.
pub fn include_targets(conn: &mut Conn, rks: &[i64], include: &Include) -> AppResult<Vec<i64>> {
    if rks.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT DISTINCT f.target_type AS target_type, f.target_id AS target_id FROM idx_reference f WHERE f.rk IN ");
    sql.bind_list(rks.iter().copied())
        .push(" AND f.res_type = ")
        .bind(include.source_type.as_str());
    sql.push(" AND f.target_type IS NOT NULL AND f.target_id IS NOT NULL");
    if let Some(def) = include.param {
        sql.push(" AND f.param = ").bind(def.code.as_str());
    }
    if let Some(t) = &include.target_type {
        sql.push(" AND f.target_type = ").bind(t.as_str());
    }
    let targets = conn.load::<TargetRow>(&sql)?;
    let mut out = Vec::new();
    for chunk in targets.chunks(300) {
        let mut sql = Sql::new("SELECT r.rk AS rk FROM resources r WHERE r.deleted = 0 AND (");
        for (i, t) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(r.res_type = ")
                .bind(t.target_type.as_str())
                .push(" AND r.res_id = ")
                .bind(t.target_id.as_str())
                .push(")");
        }
        sql.push(")");
        out.extend(
            conn.load::<super::rows::KeyRow>(&sql)?
                .into_iter()
                .map(|r| r.rk),
        );
    }
    Ok(out)
}

/// Row keys of resources that reference `targets` (type, id) as `include` describes.
pub fn revinclude_sources(
    conn: &mut Conn,
    targets: &[(String, String)],
    include: &Include,
) -> AppResult<Vec<i64>> {
    if targets.is_empty() {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    for chunk in targets.chunks(300) {
        let mut sql =
            Sql::new("SELECT DISTINCT f.rk AS rk FROM idx_reference f WHERE f.res_type = ");
        sql.bind(include.source_type.as_str());
        if let Some(def) = include.param {
            sql.push(" AND f.param = ").bind(def.code.as_str());
        }
        sql.push(" AND (");
        for (i, (t, id)) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(f.target_type = ")
                .bind(t.as_str())
                .push(" AND f.target_id = ")
                .bind(id.as_str())
                .push(")");
        }
        sql.push(")");
        out.extend(
            conn.load::<super::rows::KeyRow>(&sql)?
                .into_iter()
                .map(|r| r.rk),
        );
    }
    Ok(out)
}

#[derive(QueryableByName)]
struct CompartmentRow {
    #[diesel(sql_type = BigInt)]
    rk: i64,
    #[diesel(sql_type = Text)]
    res_type: String,
    #[diesel(sql_type = Text)]
    param: String,
}

/// Row keys of resources in the compartment of `Patient/{id}` (per the CompartmentDefinition),
/// after row key `after`, at most `limit`, in row-key order.
pub fn patient_compartment(
    conn: &mut Conn,
    id: &str,
    types: &[String],
    after: i64,
    limit: usize,
) -> AppResult<Vec<i64>> {
    let registry = crate::fhir::search_params::registry();
    let mut sql = Sql::new("SELECT f.rk AS rk, f.res_type AS res_type, f.param AS param FROM idx_reference f WHERE f.target_type = 'Patient' AND f.target_id = ");
    sql.bind(id).push(" AND f.rk > ").bind(after);
    if !types.is_empty() {
        sql.push(" AND f.res_type IN ")
            .bind_list(types.iter().map(String::as_str));
    }
    sql.push(" ORDER BY f.rk");
    let mut out: Vec<i64> = Vec::new();
    for row in conn.load::<CompartmentRow>(&sql)? {
        if out.last() == Some(&row.rk) {
            continue;
        }
        if registry
            .patient_compartment_params(&row.res_type)
            .contains(&row.param)
        {
            out.push(row.rk);
            if out.len() >= limit {
                break;
            }
        }
    }
    Ok(out)
}
