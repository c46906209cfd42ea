//! Running a search: the page of matching row keys in sort order with a keyset cursor,
//! the total count, `_include`/`_revinclude` targets, and a patient's compartment.

use super::search::{driver, Conditions};
use super::search_sort::{after_cursor, row_key, Cursor, KeyExpr, KeyType, Lead};
use super::sql::Sql;
use super::{Backend, Conn};
use crate::error::AppResult;
use crate::search::parse::{Include, SearchRequest};
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

/// `r.deleted = 0 AND type AND clauses`; with `drive`, one clause is the plan's driver
/// (a page's LIMIT is what tempts the planner into walking `resources`; a COUNT it plans well).
fn where_clause(req: &SearchRequest, backend: Backend, drive: bool) -> AppResult<Sql> {
    let mut sql = Sql::new(" WHERE r.deleted = 0");
    if !req.types.is_empty() {
        sql.push(" AND r.res_type IN ")
            .bind_list(req.types.iter().map(String::as_str));
    }
    let mut conditions = Conditions::new(backend);
    let driver = driver(&req.clauses).filter(|_| drive);
    for (i, clause) in req.clauses.iter().enumerate() {
        let condition = if Some(i) == driver {
            conditions.driving_clause(clause, "r")?
        } else {
            conditions.clause(clause, "r")?
        };
        sql.push(" AND ").append(condition);
    }
    Ok(sql)
}

/// `SELECT r.rk, s0t, s0n, ...` with the sort values of `keys` (None: no value).
fn select(keys: &[Option<&KeyExpr>]) -> Sql {
    let mut sql = Sql::new("SELECT r.rk AS rk");
    for i in 0..3 {
        match keys.get(i).copied().flatten() {
            Some(key) if key.kind == KeyType::Text => {
                sql.push(", CAST(").append(key.sql.clone()).push(&format!(
                    " AS TEXT) AS s{i}t, CAST(NULL AS DOUBLE PRECISION) AS s{i}n"
                ));
            }
            Some(key) => {
                sql.push(&format!(", CAST(NULL AS TEXT) AS s{i}t, CAST("))
                    .append(key.sql.clone())
                    .push(&format!(" AS DOUBLE PRECISION) AS s{i}n"));
            }
            None => {
                sql.push(&format!(
                    ", CAST(NULL AS TEXT) AS s{i}t, CAST(NULL AS DOUBLE PRECISION) AS s{i}n"
                ));
            }
        }
    }
    sql
}

/// ` ORDER BY` the keys (each nulls last unless `valued`), then `r.rk`, and the limit.
fn order_by(keys: &[(&KeyExpr, bool)], limit: usize) -> Sql {
    let mut sql = Sql::new(" ORDER BY ");
    for (key, valued) in keys {
        if !valued {
            sql.push("(").append(key.sql.clone()).push(" IS NULL), ");
        }
        sql.append(key.sql.clone());
        sql.push(if key.descending { " DESC, " } else { " ASC, " });
    }
    sql.push("r.rk ASC LIMIT ").bind(limit as i64);
    sql
}

/// The statements of one page: which one a cursor continues in.
#[derive(Clone, Copy)]
enum Statement<'a> {
    /// Resources in the order of per-row sort expressions (no sort, or no indexed first key).
    Rows,
    /// The walk of the first key's index table, resources that have a value.
    Valued(&'a Lead),
    /// Resources without a value for the first key, after all that have one.
    Unvalued(&'a Lead),
}

fn keys_of(req: &SearchRequest, backend: Backend) -> Vec<KeyExpr> {
    req.sort.iter().map(|k| row_key(k, backend)).collect()
}

fn cursor_of(
    req: &SearchRequest,
    text: Option<&str>,
    backend: Backend,
) -> AppResult<Option<Cursor>> {
    text.map(|t| Cursor::parse(t, &keys_of(req, backend)))
        .transpose()
}

/// The SQL of `statement` for `limit` rows after `cursor`.
fn statement_sql(
    req: &SearchRequest,
    backend: Backend,
    statement: Statement<'_>,
    cursor: Option<&Cursor>,
    limit: usize,
) -> AppResult<Sql> {
    let mut keys = keys_of(req, backend);
    let mut sql;
    match statement {
        Statement::Rows => {
            sql = select(&keys.iter().map(Some).collect::<Vec<_>>());
            sql.push(" FROM resources r")
                .append(where_clause(req, backend, true)?);
            if let Some(c) = cursor {
                sql.push(" AND ")
                    .append(after_cursor(&keys, &c.values, c.rk));
            }
            let order: Vec<(&KeyExpr, bool)> = keys.iter().map(|k| (k, false)).collect();
            sql.append(order_by(&order, limit));
        }
        Statement::Valued(lead) => {
            keys[0] = lead.key();
            sql = select(&keys.iter().map(Some).collect::<Vec<_>>());
            sql.push(" FROM resources r").push(&lead.join());
            sql.append(where_clause(req, backend, true)?)
                .append(lead.conditions(&req.types));
            if let Some(c) = cursor {
                if let Some(v) = &c.values[0] {
                    sql.append(lead.bound(v));
                }
                sql.push(" AND ")
                    .append(after_cursor(&keys, &c.values, c.rk));
            }
            let order: Vec<(&KeyExpr, bool)> =
                keys.iter().enumerate().map(|(i, k)| (k, i == 0)).collect();
            sql.append(order_by(&order, limit));
        }
        Statement::Unvalued(lead) => {
            let mut columns: Vec<Option<&KeyExpr>> = keys.iter().map(Some).collect();
            columns[0] = None;
            sql = select(&columns);
            sql.push(" FROM resources r")
                .append(where_clause(req, backend, true)?)
                .append(lead.without_value());
            // after a cursor on a valued row every unvalued row follows
            if let Some(c) = cursor.filter(|c| c.values[0].is_none()) {
                sql.push(" AND ")
                    .append(after_cursor(&keys[1..], &c.values[1..], c.rk));
            }
            let order: Vec<(&KeyExpr, bool)> = keys[1..].iter().map(|k| (k, false)).collect();
            sql.append(order_by(&order, limit));
        }
    }
    Ok(sql)
}

/// The statement a page starts with: after a cursor on an unvalued row, the unvalued ones.
fn first_statement<'a>(lead: Option<&'a Lead>, cursor: Option<&Cursor>) -> Statement<'a> {
    match lead {
        None => Statement::Rows,
        Some(lead) if cursor.is_some_and(|c| c.values[0].is_none()) => Statement::Unvalued(lead),
        Some(lead) => Statement::Valued(lead),
    }
}

/// One page of matches (at most `limit` rows) after `req.cursor`.
pub fn page(conn: &mut Conn, req: &SearchRequest, limit: usize) -> AppResult<Vec<SearchRow>> {
    let backend = conn.backend();
    let cursor = cursor_of(req, req.cursor.as_deref(), backend)?;
    let lead = Lead::of(req, backend);
    let statement = first_statement(lead.as_ref(), cursor.as_ref());
    let Statement::Valued(lead) = statement else {
        let sql = statement_sql(req, backend, statement, cursor.as_ref(), limit)?;
        return conn.load(&sql);
    };
    let mut rows: Vec<SearchRow> = Vec::new();
    let mut after = cursor.clone();
    loop {
        let want = limit - rows.len();
        let sql = statement_sql(req, backend, statement, after.as_ref(), want)?;
        let batch: Vec<SearchRow> = conn.load(&sql)?;
        let full = batch.len() == want;
        let last = batch.last().map(|r| r.cursor(req.sort.len()));
        for row in batch {
            // a resource with its sort value on two index rows is met twice, side by side
            if rows.last().map(|r| r.rk) != Some(row.rk) {
                rows.push(row);
            }
        }
        match last {
            Some(text) if full && rows.len() < limit => {
                after = cursor_of(req, Some(&text), backend)?;
            }
            _ => break,
        }
    }
    if rows.len() < limit {
        let unvalued = Statement::Unvalued(lead);
        let sql = statement_sql(req, backend, unvalued, cursor.as_ref(), limit - rows.len())?;
        rows.extend(conn.load::<SearchRow>(&sql)?);
    }
    Ok(rows)
}

/// The statement [`page`] runs first (text and binds), e.g. for `EXPLAIN`.
pub fn page_sql(req: &SearchRequest, backend: Backend, limit: usize) -> AppResult<Sql> {
    let cursor = cursor_of(req, req.cursor.as_deref(), backend)?;
    let lead = Lead::of(req, backend);
    let statement = first_statement(lead.as_ref(), cursor.as_ref());
    statement_sql(req, backend, statement, cursor.as_ref(), limit)
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
/// The count is driven like the page (PostgreSQL: the driving clause's keys looked up in
/// `resources`), so a selective count does not hash a scan of the resource table.
pub fn count_sql(req: &SearchRequest, backend: Backend) -> AppResult<Sql> {
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM resources r");
    sql.append(where_clause(req, backend, true)?);
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
