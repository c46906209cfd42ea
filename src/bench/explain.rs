//! Query plans of the searches the benchmark runs: the page query (or the count query for
//! `_summary=count`) that chartroom would send, put through `EXPLAIN QUERY PLAN` (SQLite)
//! or `EXPLAIN` (PostgreSQL), with full scans of the resource tables flagged. The plan-shape
//! regression test (tests/api/search_plans.rs) uses it too.

use crate::db::search_page::{count_sql, page_sql};
use crate::db::sql::Sql;
use crate::db::{Backend, Conn};
use crate::error::AppResult;
use crate::search::parse::{parse, Limits, Summary};
use diesel::sql_types::Text;
use diesel::QueryableByName;
use serde::Serialize;

/// The plan of one search.
#[derive(Debug, Clone, Serialize)]
pub struct Plan {
    /// Which statement was explained (`page` or `count`).
    pub statement: String,
    pub lines: Vec<String>,
    /// Plan lines that scan `resources` or `resource_versions` in full.
    pub full_scans: Vec<String>,
    /// PostgreSQL `EXPLAIN ANALYZE` only: rows of the resource tables the statement read
    /// (returned or removed by a filter, times loops).
    pub resource_rows_read: Option<u64>,
}

impl Plan {
    /// A plan that could not be taken, with the reason as its only line.
    pub fn failed(reason: &str) -> Plan {
        Plan {
            statement: "none".into(),
            lines: vec![format!("EXPLAIN failed: {reason}")],
            full_scans: Vec::new(),
            resource_rows_read: None,
        }
    }
}

#[derive(QueryableByName)]
struct SqliteLine {
    #[diesel(sql_type = Text)]
    detail: String,
}

#[derive(QueryableByName)]
struct PgLine {
    #[diesel(sql_type = Text)]
    #[diesel(column_name = "QUERY PLAN")]
    plan: String,
}

/// Explains the search `query` (`Type?a=b&...`, no leading slash) on `conn`.
pub fn explain(conn: &mut Conn, query: &str) -> AppResult<Plan> {
    plan(conn, query, false)
}

/// [`explain`] that also runs the statement on PostgreSQL (`EXPLAIN (ANALYZE)`: timings and
/// the rows read); on SQLite the same as [`explain`].
pub fn explain_analyze(conn: &mut Conn, query: &str) -> AppResult<Plan> {
    plan(conn, query, true)
}

fn plan(conn: &mut Conn, query: &str, analyze: bool) -> AppResult<Plan> {
    let (res_type, params) = query.split_once('?').unwrap_or((query, ""));
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(params.as_bytes())
        .into_owned()
        .collect();
    let limits = Limits {
        default_count: 50,
        max_count: 1000,
        strict: true,
        ..Limits::default()
    };
    let req = parse(&[res_type.to_string()], &pairs, &limits)?;
    let backend = conn.backend();
    let (statement, body) = if req.summary == Summary::Count {
        ("count", count_sql(&req, backend)?)
    } else {
        ("page", page_sql(&req, backend, req.count + 1)?)
    };
    let aliases = resource_aliases(&body.render(backend));
    let lines: Vec<String> = match backend {
        Backend::Sqlite => {
            let mut sql = Sql::new("EXPLAIN QUERY PLAN ");
            sql.append(body);
            conn.load::<SqliteLine>(&sql)?
                .into_iter()
                .map(|l| l.detail)
                .collect()
        }
        Backend::Postgres => {
            let mut sql = Sql::new(if analyze {
                "EXPLAIN (ANALYZE) "
            } else {
                "EXPLAIN "
            });
            sql.append(body);
            conn.load::<PgLine>(&sql)?
                .into_iter()
                .map(|l| l.plan)
                .collect()
        }
    };
    let full_scans = lines
        .iter()
        .enumerate()
        .filter(|(i, line)| is_full_scan(line, &lines[i + 1..], &aliases))
        .map(|(_, line)| line.clone())
        .collect();
    let resource_rows_read =
        (analyze && backend == Backend::Postgres).then(|| resource_rows_read(&lines, &aliases));
    Ok(Plan {
        statement: statement.to_string(),
        lines,
        full_scans,
        resource_rows_read,
    })
}

/// The names a statement gives `resources` and `resource_versions` (aliases included).
fn resource_aliases(sql: &str) -> Vec<String> {
    let words: Vec<&str> = sql
        .split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',')
        .filter(|w| !w.is_empty())
        .collect();
    let mut names = vec!["resources".to_string(), "resource_versions".to_string()];
    for pair in words.windows(2) {
        let alias = pair[1];
        if (pair[0] == "resources" || pair[0] == "resource_versions")
            && alias.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && !["WHERE", "ON", "JOIN", "AS"].contains(&alias.to_ascii_uppercase().as_str())
        {
            names.push(alias.to_string());
        }
    }
    names
}

/// The resource table a plan node reads, when it reads one (`... on resources r` or
/// SQLite `SCAN r` / `SEARCH r`).
fn resource_node<'a>(line: &'a str, aliases: &[String]) -> Option<&'a str> {
    let node = line.trim().trim_start_matches("->").trim();
    let target = if let Some(rest) = node
        .strip_prefix("SCAN ")
        .or_else(|| node.strip_prefix("SEARCH "))
    {
        rest.trim_start_matches("TABLE ")
    } else if node.contains("Scan") {
        let pos = node.find(" on ")?;
        let after = &node[pos + " on ".len()..];
        // `on resources r`: the alias is the second word when there is one
        let mut words = after.split_whitespace();
        let table = words.next()?;
        match words.next() {
            Some(alias) if !alias.starts_with('(') => alias,
            _ => table,
        }
    } else {
        return None;
    };
    let name = target.split_whitespace().next()?;
    aliases.iter().any(|a| a == name).then_some(node)
}

/// The detail lines of the plan node on `line` (`Index Cond:`, `Filter:`, ...): the lines
/// after it up to the next node.
fn node_details(rest: &[String]) -> impl Iterator<Item = &str> {
    rest.iter().map(|l| l.trim()).take_while(|l| {
        !l.starts_with("->") && !l.starts_with("SubPlan") && !l.starts_with("InitPlan")
    })
}

/// A plan node that visits every row of a resource table: SQLite `SCAN <table>` (with or
/// without an index), PostgreSQL `Seq Scan`, or an index scan with no `Index Cond` (a walk of
/// the whole index in key order, e.g. `resources_pkey` under a `LIMIT`).
fn is_full_scan(line: &str, rest: &[String], aliases: &[String]) -> bool {
    let Some(node) = resource_node(line, aliases) else {
        return false;
    };
    if node.starts_with("SCAN ") || node.contains("Seq Scan on ") {
        return true;
    }
    node.contains("Index") && !node_details(rest).any(|d| d.starts_with("Index Cond:"))
}

/// `(actual ... rows=R loops=L)` of a node line, and `Rows Removed by Filter: F` among its
/// details: (R + F) * L, the rows it looked at.
fn rows_looked_at(line: &str, rest: &[String]) -> u64 {
    let number_after = |text: &str, key: &str| -> Option<u64> {
        let pos = text.find(key)? + key.len();
        text[pos..]
            .split(|c: char| !c.is_ascii_digit())
            .next()?
            .parse()
            .ok()
    };
    let Some(actual) = line.find("(actual ").map(|p| &line[p..]) else {
        return 0;
    };
    let rows = number_after(actual, "rows=").unwrap_or(0);
    let loops = number_after(actual, "loops=").unwrap_or(1);
    let removed: u64 = node_details(rest)
        .filter_map(|d| number_after(d, "Rows Removed by Filter: "))
        .sum();
    (rows + removed) * loops
}

/// Rows of the resource tables an `EXPLAIN ANALYZE` plan read.
fn resource_rows_read(lines: &[String], aliases: &[String]) -> u64 {
    lines
        .iter()
        .enumerate()
        .filter(|(_, line)| resource_node(line, aliases).is_some())
        .map(|(i, line)| rows_looked_at(line, &lines[i + 1..]))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_scans_of_resource_tables_only() {
        let aliases = resource_aliases("SELECT r.rk FROM resources r JOIN resources c1 ON c1.rk = 1 WHERE r.rk IN (SELECT rk FROM idx_token t)");
        assert!(aliases.contains(&"r".to_string()) && aliases.contains(&"c1".to_string()));
        let full = |line: &str, details: &[&str]| {
            let rest: Vec<String> = details.iter().map(|d| d.to_string()).collect();
            is_full_scan(line, &rest, &aliases)
        };
        assert!(full("SCAN r", &[]));
        assert!(full("SCAN r USING INDEX resources_type_rk", &[]));
        assert!(!full("SEARCH r USING INTEGER PRIMARY KEY (rowid=?)", &[]));
        assert!(!full("SCAN t", &[]));
        assert!(full(
            "  ->  Seq Scan on resources r  (cost=0.00..1.00 rows=1 width=8)",
            &[]
        ));
        assert!(!full(
            "Index Scan using resources_pkey on resources r",
            &["  Index Cond: (rk = x1.rk)", "  Filter: (deleted = 0)"]
        ));
        assert!(
            full(
                "  ->  Index Scan using resources_pkey on resources r  (cost=0.29..3773.22 rows=29016 width=8)",
                &["        Filter: ((deleted = 0) AND (res_type = 'Observation'::text))", "  ->  Sort"]
            ),
            "a pkey walk with a filter only visits every row"
        );
        assert!(!full(
            "  ->  Index Scan using idx_date_high on idx_date o",
            &[]
        ));
    }

    #[test]
    fn counts_resource_rows_read() {
        let aliases = resource_aliases("SELECT r.rk FROM resources r");
        let lines: Vec<String> = [
            "Limit  (cost=1..2 rows=51 width=8) (actual time=0.1..0.2 rows=51 loops=1)",
            "  ->  Nested Loop  (cost=1..2 rows=51 width=8) (actual time=0.1..0.2 rows=51 loops=1)",
            "        ->  Index Scan using idx_token_lookup on idx_token x1  (cost=1..2 rows=300 width=8) (actual time=0.1..0.2 rows=60 loops=1)",
            "        ->  Index Scan using resources_pkey on resources r  (cost=1..2 rows=1 width=8) (actual time=0.1..0.2 rows=1 loops=60)",
            "              Index Cond: (rk = x1.rk)",
            "              Filter: (deleted = 0)",
            "              Rows Removed by Filter: 0",
        ]
        .iter()
        .map(|l| l.to_string())
        .collect();
        assert_eq!(resource_rows_read(&lines, &aliases), 60);
    }
}
