//! SQL for search clauses: each clause becomes a condition on a `resources` row alias,
//! answered from the index tables (index-backed subqueries, no scan of resource JSON).

use super::sql::Sql;
use super::Backend;
use crate::error::{AppError, AppResult};
use crate::fhir::index::{date_range, normalize_string, precision_range};
use crate::fhir::json::reference_parts;
use crate::fhir::search_params::{registry, ParamKind, SearchParamDef};
use crate::search::parse::{Clause, ClauseKind};
use crate::search::prefix::{self, Prefix};
use crate::search::value_set::{CodeFilter, Membership};

/// Builds conditions; `next_alias` keeps nested aliases unique.
pub struct Conditions {
    pub backend: Backend,
    next_alias: usize,
    /// The clause being built drives the plan (see [`Conditions::rk_in`]).
    drives: bool,
}

/// How well a top-level clause can drive a page from its index rows: lower is likely fewer
/// matches (an id or a patient before a code, a code before a chain or a range); None when
/// it cannot (negations, `_lastUpdated`, unions).
fn drive_rank(clause: &Clause) -> Option<u8> {
    match &clause.kind {
        ClauseKind::Param { modifier, .. } if modifier.as_deref() == Some("not") => None,
        ClauseKind::Param { def, .. } => Some(match def.kind {
            ParamKind::Reference => 1,
            ParamKind::Token | ParamKind::String | ParamKind::Uri => 2,
            ParamKind::Composite => 3,
            _ => 4,
        }),
        ClauseKind::PatientCompartment { .. } | ClauseKind::InCompartments(Some(_)) => Some(1),
        ClauseKind::InValueSet { negate: false, .. } => Some(2),
        ClauseKind::Chain { .. } => Some(3),
        ClauseKind::Missing { missing: false, .. } => Some(5),
        _ => None,
    }
}

/// The clause of `clauses` whose index rows a page query starts from.
pub fn driver(clauses: &[Clause]) -> Option<usize> {
    clauses
        .iter()
        .enumerate()
        .filter_map(|(i, c)| drive_rank(c).map(|rank| (rank, i)))
        .min()
        .map(|(_, i)| i)
}

fn bad(message: String) -> AppError {
    AppError::invalid(message)
}

/// `{column} = code`, or `{column} IN (...)` for a parameter served from the rows of the
/// parameters it is the union of ([`SearchParamDef::union_of`]).
pub(super) fn push_param<'s>(sql: &'s mut Sql, column: &str, def: &SearchParamDef) -> &'s mut Sql {
    match def.union_of() {
        Some(codes) => sql
            .push(&format!("{column} IN "))
            .bind_list(codes.iter().copied()),
        None => sql.push(&format!("{column} = ")).bind(def.code.as_str()),
    }
}

fn table_of(kind: ParamKind) -> AppResult<&'static str> {
    Ok(match kind {
        ParamKind::String => "idx_string",
        ParamKind::Token => "idx_token",
        ParamKind::Date => "idx_date",
        ParamKind::Number => "idx_number",
        ParamKind::Quantity => "idx_quantity",
        ParamKind::Reference => "idx_reference",
        ParamKind::Uri => "idx_uri",
        ParamKind::Composite | ParamKind::Special => {
            return Err(bad("this parameter kind has no single index table".into()))
        }
    })
}

/// Escapes `%`, `_` and `\` for LIKE ... ESCAPE '\'.
fn like_escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

impl Conditions {
    pub fn new(backend: Backend) -> Conditions {
        Conditions {
            backend,
            next_alias: 0,
            drives: false,
        }
    }

    /// [`Conditions::clause`] for the top-level clause that drives the plan.
    pub fn driving_clause(&mut self, clause: &Clause, row: &str) -> AppResult<Sql> {
        self.drives = true;
        let sql = self.clause(clause, row);
        self.drives = false;
        sql
    }

    fn alias(&mut self, stem: &str) -> String {
        self.next_alias += 1;
        format!("{stem}{}", self.next_alias)
    }

    /// A boolean SQL condition on the resource row `row` (an alias of `resources`).
    pub fn clause(&mut self, clause: &Clause, row: &str) -> AppResult<Sql> {
        let mut sql = Sql::default();
        match &clause.kind {
            ClauseKind::Id(ids) => {
                sql.push(&format!("{row}.res_id IN "))
                    .bind_list(ids.iter().map(String::as_str));
            }
            ClauseKind::LastUpdated(values) => {
                sql.push("(");
                for (i, value) in values.iter().enumerate() {
                    if i > 0 {
                        sql.push(" OR ");
                    }
                    let (prefix, text) = prefix::split(value);
                    let (lo, hi) = date_range(text)
                        .ok_or_else(|| bad(format!("_lastUpdated={value} is not a date")))?;
                    let column = format!("{row}.last_updated");
                    sql.append(date_condition(prefix, &column, &column, lo, hi));
                }
                sql.push(")");
            }
            ClauseKind::Param {
                def,
                modifier,
                values,
            } => {
                let negate = modifier.as_deref() == Some("not");
                let inner =
                    self.param_subquery(&clause.res_type, row, def, modifier.as_deref(), values)?;
                sql.append(self.rk_in(row, &clause.res_type, negate, inner));
            }
            ClauseKind::InValueSet { def, negate, sets } => {
                let x = self.alias("v");
                let mut inner = Sql::new(&format!("SELECT {x}.rk FROM idx_token {x} WHERE "));
                self.type_filter(&mut inner, &x, &clause.res_type, row);
                push_param(&mut inner, &format!("{x}.param"), def).push(" AND (");
                for (i, set) in sets.iter().enumerate() {
                    if i > 0 {
                        inner.push(" OR ");
                    }
                    inner.append(membership_condition(&x, set));
                }
                inner.push(")");
                sql.append(self.rk_in(row, &clause.res_type, *negate, inner));
            }
            ClauseKind::Missing { def, missing } => {
                let x = self.alias("m");
                let table = table_of(def.kind).or_else(|_| {
                    def.components
                        .first()
                        .map(|_| "idx_token")
                        .ok_or_else(|| bad("cannot test :missing".into()))
                })?;
                let mut inner = Sql::new(&format!("SELECT {x}.rk FROM {table} {x} WHERE "));
                self.type_filter(&mut inner, &x, &clause.res_type, row);
                push_param(&mut inner, &format!("{x}.param"), def);
                sql.append(self.rk_in(row, &clause.res_type, *missing, inner));
            }
            ClauseKind::Chain {
                def,
                target_types,
                inner,
            } => {
                let (f, c) = (self.alias("f"), self.alias("c"));
                let inner_sql = self.clause(inner, &c)?;
                let mut sub = Sql::new(&format!("SELECT {f}.rk FROM idx_reference {f} JOIN resources {c} ON {c}.res_type = {f}.target_type AND {c}.res_id = {f}.target_id WHERE "));
                self.type_filter(&mut sub, &f, &clause.res_type, row);
                sub.push(&format!("{f}.param = ")).bind(def.code.as_str());
                sub.push(&format!(" AND {f}.target_type IN "))
                    .bind_list(target_types.iter().map(String::as_str));
                sub.push(&format!(" AND {c}.deleted = 0 AND "))
                    .append(inner_sql);
                sql.append(self.rk_in(row, &clause.res_type, false, sub));
            }
            ClauseKind::Has {
                source_type,
                def,
                inner,
            } => {
                let (f, h) = (self.alias("f"), self.alias("h"));
                let inner_sql = self.clause(inner, &h)?;
                sql.push(&format!("{row}.res_id IN (SELECT {f}.target_id FROM idx_reference {f} JOIN resources {h} ON {h}.rk = {f}.rk WHERE {f}.res_type = "));
                sql.bind(source_type.as_str())
                    .push(&format!(" AND {f}.param = "))
                    .bind(def.code.as_str());
                sql.push(&format!(
                    " AND {f}.target_type = {row}.res_type AND {h}.deleted = 0 AND "
                ));
                sql.append(inner_sql).push(")");
            }
            ClauseKind::ExcludePatients(patients) => {
                let f = self.alias("e");
                sql.push(&format!(
                    "NOT ({row}.res_type = 'Patient' AND {row}.res_id IN "
                ));
                sql.bind_list(patients.iter().map(String::as_str));
                sql.push(&format!(") AND {row}.rk NOT IN (SELECT {f}.rk FROM idx_reference {f} WHERE {f}.target_type = 'Patient' AND {f}.target_id IN "));
                sql.bind_list(patients.iter().map(String::as_str)).push(")");
            }
            ClauseKind::WithoutLabels(labels) => {
                let x = self.alias("l");
                sql.push(&format!("{row}.rk NOT IN (SELECT {x}.rk FROM idx_token {x} WHERE {x}.param = '_security' AND {x}.code IN "));
                sql.bind_list(labels.iter().map(String::as_str)).push(")");
            }
            ClauseKind::InCompartments(patients) => {
                self.in_compartments(&mut sql, &clause.res_type, row, patients.as_deref())
            }
            ClauseKind::ExcludeIds(ids) => {
                sql.push(&format!("NOT ({row}.res_type = "))
                    .bind(clause.res_type.as_str())
                    .push(&format!(" AND {row}.res_id IN "))
                    .bind_list(ids.iter().map(String::as_str))
                    .push(")");
            }
            ClauseKind::AnyOf(lists) => {
                sql.push("(");
                for (i, list) in lists.iter().enumerate() {
                    sql.push(if i > 0 { " OR (" } else { "(" });
                    sql.push("1 = 1");
                    for inner in list {
                        let condition = self.clause(inner, row)?;
                        sql.push(" AND ").append(condition);
                    }
                    sql.push(")");
                }
                if lists.is_empty() {
                    sql.push("1 = 0");
                }
                sql.push(")");
            }
            ClauseKind::PatientCompartment { patient_id } if clause.res_type == "Patient" => {
                sql.push(&format!("{row}.res_id = "))
                    .bind(patient_id.as_str());
            }
            ClauseKind::PatientCompartment { patient_id } => {
                let params = registry().patient_compartment_params(&clause.res_type);
                if params.is_empty() {
                    sql.push("1 = 0");
                } else {
                    let f = self.alias("f");
                    let mut inner =
                        Sql::new(&format!("SELECT {f}.rk FROM idx_reference {f} WHERE "));
                    self.type_filter(&mut inner, &f, &clause.res_type, row);
                    inner
                        .push(&format!("{f}.target_type = 'Patient' AND {f}.target_id = "))
                        .bind(patient_id.as_str());
                    inner
                        .push(&format!(" AND {f}.param IN "))
                        .bind_list(params.iter().map(String::as_str));
                    sql.append(self.rk_in(row, &clause.res_type, false, inner));
                }
            }
        }
        Ok(sql)
    }

    /// `row` is in the compartment of one of `patients` (of any patient when None).
    fn in_compartments(
        &mut self,
        sql: &mut Sql,
        res_type: &str,
        row: &str,
        patients: Option<&[String]>,
    ) {
        if patients.is_some_and(|p| p.is_empty()) {
            sql.push("1 = 0");
            return;
        }
        if res_type == "Patient" {
            sql.push(&format!("{row}.res_type = 'Patient'"));
            if let Some(ids) = patients {
                sql.push(&format!(" AND {row}.res_id IN "))
                    .bind_list(ids.iter().map(String::as_str));
            }
            return;
        }
        let params = registry().patient_compartment_params(res_type);
        if params.is_empty() {
            sql.push("1 = 0");
            return;
        }
        let f = self.alias("f");
        let mut inner = Sql::new(&format!("SELECT {f}.rk FROM idx_reference {f} WHERE "));
        self.type_filter(&mut inner, &f, res_type, row);
        inner.push(&format!("{f}.target_type = 'Patient'"));
        if let Some(ids) = patients {
            inner
                .push(&format!(" AND {f}.target_id IN "))
                .bind_list(ids.iter().map(String::as_str));
        }
        inner
            .push(&format!(" AND {f}.param IN "))
            .bind_list(params.iter().map(String::as_str));
        sql.append(self.rk_in(row, res_type, false, inner));
    }

    /// `row.rk IN (inner)` (`NOT IN` when `negate`). On PostgreSQL the driving clause is
    /// `row.rk = ANY(ARRAY(inner))` (when `inner` does not depend on the row): the subquery
    /// runs once and its keys become an index condition on `resources`, so the matches are
    /// looked up in row-key order, stopping at the page's LIMIT. With `IN` the planner walks
    /// `resources_pkey` probing each row, or hashes a sequential scan against the index rows,
    /// whenever it overestimates the matches. The other clauses stay `IN`: semi-joins that
    /// probe the few rows the driver yields.
    fn rk_in(&self, row: &str, res_type: &str, negate: bool, inner: Sql) -> Sql {
        let mut sql = Sql::default();
        if negate {
            sql.push(&format!("{row}.rk NOT IN ("));
        } else if self.drives && self.backend == Backend::Postgres && res_type != "Resource" {
            sql.push(&format!("{row}.rk = ANY(ARRAY("));
            sql.append(inner).push("))");
            return sql;
        } else {
            sql.push(&format!("{row}.rk IN ("));
        }
        sql.append(inner).push(")");
        sql
    }

    /// `x.res_type = ? AND ` (or the row's own type for system-wide searches).
    fn type_filter(&self, sql: &mut Sql, x: &str, res_type: &str, row: &str) {
        if res_type == "Resource" {
            sql.push(&format!("{x}.res_type = {row}.res_type AND "));
        } else {
            sql.push(&format!("{x}.res_type = "))
                .bind(res_type)
                .push(" AND ");
        }
    }

    /// `SELECT x.rk FROM idx_* x WHERE ... (value OR value ...)` for one parameter.
    fn param_subquery(
        &mut self,
        res_type: &str,
        row: &str,
        def: &SearchParamDef,
        modifier: Option<&str>,
        values: &[String],
    ) -> AppResult<Sql> {
        if def.kind == ParamKind::Composite {
            return self.composite_subquery(res_type, row, def, values);
        }
        let table = table_of(def.kind)?;
        let x = self.alias("x");
        let mut sql = Sql::new(&format!("SELECT {x}.rk FROM {table} {x} WHERE "));
        self.type_filter(&mut sql, &x, res_type, row);
        push_param(&mut sql, &format!("{x}.param"), def).push(" AND (");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.append(self.value_condition(def.kind, &x, modifier, value)?);
        }
        sql.push(")");
        Ok(sql)
    }

    fn composite_subquery(
        &mut self,
        res_type: &str,
        row: &str,
        def: &SearchParamDef,
        values: &[String],
    ) -> AppResult<Sql> {
        let kinds: Vec<ParamKind> = def
            .components
            .iter()
            .map(|c| registry().by_url(&c.definition_url).map(|d| d.kind))
            .collect::<Option<_>>()
            .ok_or_else(|| bad(format!("composite '{}' has an unknown component", def.code)))?;
        let aliases: Vec<String> = kinds.iter().map(|_| self.alias("k")).collect();
        let mut sql = Sql::new(&format!("SELECT {}.rk FROM ", aliases[0]));
        for (i, (kind, alias)) in kinds.iter().zip(&aliases).enumerate() {
            let table = table_of(*kind)?;
            if i == 0 {
                sql.push(&format!("{table} {alias}"));
            } else {
                sql.push(&format!(
                    " JOIN {table} {alias} ON {alias}.rk = {a}.rk AND {alias}.grp = {a}.grp AND {alias}.param = {a}.param",
                    a = aliases[0]
                ));
            }
        }
        sql.push(" WHERE ");
        for (i, alias) in aliases.iter().enumerate() {
            self.type_filter(&mut sql, alias, res_type, row);
            push_param(&mut sql, &format!("{alias}.param"), def);
            sql.push(&format!(" AND {alias}.component = "))
                .bind(i as i64)
                .push(" AND ");
        }
        sql.push("(");
        for (n, value) in values.iter().enumerate() {
            if n > 0 {
                sql.push(" OR ");
            }
            let parts: Vec<&str> = value.split('$').collect();
            if parts.len() != kinds.len() {
                return Err(bad(format!(
                    "{}={value}: expected {} parts separated by $",
                    def.code,
                    kinds.len()
                )));
            }
            sql.push("(");
            for (i, part) in parts.iter().enumerate() {
                if i > 0 {
                    sql.push(" AND ");
                }
                sql.append(self.value_condition(kinds[i], &aliases[i], None, part)?);
            }
            sql.push(")");
        }
        sql.push(")");
        Ok(sql)
    }

    /// The condition one value puts on an index row `x`.
    fn value_condition(
        &mut self,
        kind: ParamKind,
        x: &str,
        modifier: Option<&str>,
        value: &str,
    ) -> AppResult<Sql> {
        match kind {
            ParamKind::String => Ok(self.string_condition(x, modifier, value)),
            ParamKind::Token => token_condition(x, modifier, value),
            ParamKind::Date => {
                let (prefix, text) = prefix::split(value);
                let (lo, hi) =
                    date_range(text).ok_or_else(|| bad(format!("'{value}' is not a FHIR date")))?;
                Ok(date_condition(
                    prefix,
                    &format!("{x}.low"),
                    &format!("{x}.high"),
                    lo,
                    hi,
                ))
            }
            ParamKind::Number => number_condition(x, value),
            ParamKind::Quantity => quantity_condition(x, value),
            ParamKind::Reference => Ok(reference_condition(x, modifier, value)),
            ParamKind::Uri => Ok(uri_condition(x, modifier, value)),
            ParamKind::Composite | ParamKind::Special => {
                Err(bad("nested composite values are not supported".into()))
            }
        }
    }

    fn string_condition(&self, x: &str, modifier: Option<&str>, value: &str) -> Sql {
        let mut sql = Sql::default();
        match modifier {
            Some("exact") => {
                sql.push(&format!("{x}.exact = ")).bind(value);
            }
            Some("contains") => {
                let pattern = format!("%{}%", like_escape(&normalize_string(value)));
                sql.push(&format!("{x}.normalized LIKE "))
                    .bind(pattern)
                    .push(" ESCAPE '\\'");
            }
            _ => {
                let prefix = normalize_string(value);
                let upper = format!("{prefix}\u{10FFFF}");
                let column = match self.backend {
                    Backend::Postgres => format!("{x}.normalized COLLATE \"C\""),
                    Backend::Sqlite => format!("{x}.normalized"),
                };
                sql.push(&format!("({column} >= "))
                    .bind(prefix)
                    .push(&format!(" AND {column} < "))
                    .bind(upper)
                    .push(")");
            }
        }
        sql
    }
}

/// A token row `x` whose code is in the value set `set`.
fn membership_condition(x: &str, set: &Membership) -> Sql {
    let any_of = |filters: &[CodeFilter]| {
        let mut sql = Sql::new("(");
        if filters.is_empty() {
            sql.push("1 = 0");
        }
        for (i, filter) in filters.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.append(code_filter_condition(x, filter));
        }
        sql.push(")");
        sql
    };
    let mut sql = any_of(&set.include);
    if !set.exclude.is_empty() {
        sql.push(" AND NOT ").append(any_of(&set.exclude));
    }
    let mut wrapped = Sql::new("(");
    wrapped.append(sql).push(")");
    wrapped
}

fn code_filter_condition(x: &str, filter: &CodeFilter) -> Sql {
    let mut sql = Sql::new("(");
    match filter {
        CodeFilter::System(system) => {
            sql.push(&format!("{x}.system = ")).bind(system.as_str());
        }
        CodeFilter::Codes { system, codes } => {
            if let Some(system) = system {
                sql.push(&format!("{x}.system = "))
                    .bind(system.as_str())
                    .push(" AND ");
            }
            sql.push(&format!("{x}.code IN "))
                .bind_list(codes.iter().map(String::as_str));
        }
        CodeFilter::Keys { system, ranges } => {
            sql.push(&format!("{x}.system = "))
                .bind(system.as_str())
                .push(" AND ");
            if ranges.is_empty() {
                sql.push("1 = 0");
            } else {
                sql.key_in_ranges(&format!("{x}.code"), ranges);
            }
        }
        CodeFilter::Within(inner) => {
            sql.append(membership_condition(x, inner));
        }
    }
    sql.push(")");
    sql
}

fn token_condition(x: &str, modifier: Option<&str>, value: &str) -> AppResult<Sql> {
    let mut sql = Sql::default();
    match modifier {
        Some("text") => {
            let prefix = like_escape(&normalize_string(value));
            sql.push(&format!("{x}.display LIKE "))
                .bind(format!("{prefix}%"))
                .push(" ESCAPE '\\'");
            return Ok(sql);
        }
        Some("of-type") => {
            let parts: Vec<&str> = value.splitn(3, '|').collect();
            let [system, code, identifier] = parts.as_slice() else {
                return Err(bad(format!(":of-type={value}: expected system|code|value")));
            };
            sql.push(&format!("({x}.type_system = ")).bind(*system);
            sql.push(&format!(" AND {x}.type_code = ")).bind(*code);
            sql.push(&format!(" AND {x}.code = "))
                .bind(*identifier)
                .push(")");
            return Ok(sql);
        }
        Some("in") | Some("not-in") => {
            return Err(AppError::internal(
                ":in / :not-in reached the SQL builder unresolved",
            ));
        }
        _ => {}
    }
    let (system, code) = match value.split_once('|') {
        Some((s, c)) => (Some(s), c),
        None => (None, value),
    };
    sql.push("(");
    let mut first = true;
    let mut and = |sql: &mut Sql| {
        if !first {
            sql.push(" AND ");
        }
        first = false;
    };
    match system {
        Some("") => {
            and(&mut sql);
            sql.push(&format!("{x}.system IS NULL"));
        }
        Some(s) => {
            and(&mut sql);
            sql.push(&format!("{x}.system = ")).bind(s);
        }
        None => {}
    }
    if !code.is_empty() {
        and(&mut sql);
        match modifier {
            Some("below") => {
                sql.push(&format!("({x}.code = ")).bind(code);
                sql.push(&format!(" OR {x}.code LIKE "))
                    .bind(format!("{}%", like_escape(code)))
                    .push(" ESCAPE '\\')");
            }
            Some("above") => {
                let prefixes: Vec<String> = (1..=code.len())
                    .filter(|n| code.is_char_boundary(*n))
                    .map(|n| code[..n].trim_end_matches('.').to_string())
                    .collect();
                sql.push(&format!("{x}.code IN ")).bind_list(prefixes);
            }
            _ => {
                sql.push(&format!("{x}.code = ")).bind(code);
            }
        }
    }
    if first {
        sql.push("1 = 1");
    }
    sql.push(")");
    Ok(sql)
}

/// Date prefixes over an indexed range [low, high] and a searched range [lo, hi].
fn date_condition(prefix: Prefix, low: &str, high: &str, lo: i64, hi: i64) -> Sql {
    let mut sql = Sql::new("(");
    match prefix {
        Prefix::Eq => sql
            .push(&format!("{low} >= "))
            .bind(lo)
            .push(&format!(" AND {high} <= "))
            .bind(hi),
        Prefix::Ne => sql
            .push(&format!("{low} < "))
            .bind(lo)
            .push(&format!(" OR {high} > "))
            .bind(hi),
        Prefix::Gt => sql.push(&format!("{high} > ")).bind(hi),
        Prefix::Lt => sql.push(&format!("{low} < ")).bind(lo),
        Prefix::Ge => sql.push(&format!("{high} >= ")).bind(lo),
        Prefix::Le => sql.push(&format!("{low} <= ")).bind(hi),
        Prefix::Sa => sql.push(&format!("{low} > ")).bind(hi),
        Prefix::Eb => sql.push(&format!("{high} < ")).bind(lo),
        Prefix::Ap => {
            // approximately: within 10% of the distance to now, at least a day either side
            let now = crate::fhir::json::now_ms();
            let margin = ((now - lo).abs() / 10).max(86_400_000);
            sql.push(&format!("{low} <= "))
                .bind(hi.saturating_add(margin))
                .push(&format!(" AND {high} >= "))
                .bind(lo.saturating_sub(margin))
        }
    };
    sql.push(")");
    sql
}

fn numeric_condition(x: &str, prefix: Prefix, number: &str) -> AppResult<Sql> {
    let (value, lo, hi) =
        precision_range(number).ok_or_else(|| bad(format!("'{number}' is not a number")))?;
    let column = format!("{x}.value");
    let mut sql = Sql::new("(");
    match prefix {
        Prefix::Eq => sql
            .push(&format!("{column} >= "))
            .bind(lo)
            .push(&format!(" AND {column} < "))
            .bind(hi),
        Prefix::Ne => sql
            .push(&format!("{column} < "))
            .bind(lo)
            .push(&format!(" OR {column} >= "))
            .bind(hi),
        Prefix::Gt | Prefix::Sa => sql.push(&format!("{column} > ")).bind(value),
        Prefix::Lt | Prefix::Eb => sql.push(&format!("{column} < ")).bind(value),
        Prefix::Ge => sql.push(&format!("{column} >= ")).bind(value),
        Prefix::Le => sql.push(&format!("{column} <= ")).bind(value),
        Prefix::Ap => {
            let margin = (value * 0.1).abs();
            sql.push(&format!("{column} >= "))
                .bind(value - margin)
                .push(&format!(" AND {column} <= "))
                .bind(value + margin)
        }
    };
    sql.push(")");
    Ok(sql)
}

fn number_condition(x: &str, value: &str) -> AppResult<Sql> {
    let (prefix, number) = prefix::split(value);
    numeric_condition(x, prefix, number)
}

/// `[prefix]number|system|code` or `number||unit`.
fn quantity_condition(x: &str, value: &str) -> AppResult<Sql> {
    let (prefix, rest) = prefix::split(value);
    let mut parts = rest.splitn(3, '|');
    let number = parts.next().unwrap_or_default();
    let system = parts.next().unwrap_or_default();
    let code = parts.next().unwrap_or_default();
    let mut sql = numeric_condition(x, prefix, number)?;
    if !system.is_empty() {
        sql.push(&format!(" AND {x}.system = ")).bind(system);
    }
    if !code.is_empty() {
        if system.is_empty() {
            sql.push(&format!(" AND ({x}.code = "))
                .bind(code)
                .push(&format!(" OR {x}.unit = "))
                .bind(code)
                .push(")");
        } else {
            sql.push(&format!(" AND {x}.code = ")).bind(code);
        }
    }
    let mut out = Sql::new("(");
    out.append(sql).push(")");
    Ok(out)
}

fn reference_condition(x: &str, modifier: Option<&str>, value: &str) -> Sql {
    let mut sql = Sql::new("(");
    if modifier == Some("identifier") {
        match value.split_once('|') {
            Some((system, id)) => sql
                .push(&format!("{x}.ident_system = "))
                .bind(system)
                .push(&format!(" AND {x}.ident_value = "))
                .bind(id),
            None => sql.push(&format!("{x}.ident_value = ")).bind(value),
        };
    } else if let Some((t, id)) = reference_parts(value).filter(|_| value.contains('/')) {
        sql.push(&format!("{x}.target_type = "))
            .bind(t)
            .push(&format!(" AND {x}.target_id = "))
            .bind(id);
    } else if value.contains(':') || value.contains('/') {
        sql.push(&format!("{x}.url = ")).bind(value);
    } else if let Some(t) = modifier.filter(|m| crate::fhir::search_params::is_resource_type(m)) {
        sql.push(&format!("{x}.target_id = "))
            .bind(value)
            .push(&format!(" AND {x}.target_type = "))
            .bind(t);
    } else {
        // a bare id, or a relative canonical reference stored as written
        sql.push(&format!("{x}.target_id = "))
            .bind(value)
            .push(&format!(" OR {x}.url = "))
            .bind(value);
    }
    sql.push(")");
    sql
}

fn uri_condition(x: &str, modifier: Option<&str>, value: &str) -> Sql {
    let mut sql = Sql::new("(");
    match modifier {
        Some("below") => {
            sql.push(&format!("{x}.value LIKE "))
                .bind(format!("{}%", like_escape(value)))
                .push(" ESCAPE '\\'");
        }
        Some("above") => {
            let mut prefixes = vec![value.to_string()];
            let mut current = value;
            while let Some((head, _)) = current.rsplit_once('/') {
                if head.ends_with('/') || head.is_empty() {
                    break;
                }
                prefixes.push(head.to_string());
                current = head;
            }
            sql.push(&format!("{x}.value IN ")).bind_list(prefixes);
        }
        _ => {
            sql.push(&format!("{x}.value = ")).bind(value);
        }
    }
    sql.push(")");
    sql
}
