//! Query plans of the searches the benchmark runs: the page query (or the count query for
//! `_summary=count`) that chartroom would send, put through `EXPLAIN QUERY PLAN` (SQLite)
//! or `EXPLAIN` (PostgreSQL), with full scans of the resource tables flagged.

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
}

impl Plan {
    /// A plan that could not be taken, with the reason as its only line.
    pub fn failed(reason: &str) -> Plan {
        Plan {
            statement: "none".into(),
            lines: vec![format!("EXPLAIN failed: {reason}")],
            full_scans: Vec::new(),
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
            let mut sql = Sql::new("EXPLAIN ");
            sql.append(body);
            conn.load::<PgLine>(&sql)?
                .into_iter()
                .map(|l| l.plan)
                .collect()
        }
    };
    let full_scans = lines
        .iter()
        .filter(|line| is_full_scan(line, &aliases))
        .cloned()
        .collect();
    Ok(Plan {
        statement: statement.to_string(),
        lines,
        full_scans,
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

/// SQLite `SCAN <table>` (with or without an index: every row is visited) or PostgreSQL
/// `Seq Scan on <table>` of a resource table.
fn is_full_scan(line: &str, aliases: &[String]) -> bool {
    let line = line.trim().trim_start_matches("->").trim();
    let target = if let Some(rest) = line.strip_prefix("SCAN ") {
        rest.trim_start_matches("TABLE ")
    } else if let Some(pos) = line.find("Seq Scan on ") {
        &line[pos + "Seq Scan on ".len()..]
    } else {
        return false;
    };
    let name = target.split_whitespace().next().unwrap_or("");
    aliases.iter().any(|a| a == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_scans_of_resource_tables_only() {
        let aliases = resource_aliases("SELECT r.rk FROM resources r JOIN resources c1 ON c1.rk = 1 WHERE r.rk IN (SELECT rk FROM idx_token t)");
        assert!(aliases.contains(&"r".to_string()) && aliases.contains(&"c1".to_string()));
        assert!(is_full_scan("SCAN r", &aliases));
        assert!(is_full_scan(
            "SCAN r USING INDEX resources_type_rk",
            &aliases
        ));
        assert!(!is_full_scan(
            "SEARCH r USING INTEGER PRIMARY KEY (rowid=?)",
            &aliases
        ));
        assert!(!is_full_scan("SCAN t", &aliases));
        assert!(is_full_scan(
            "  ->  Seq Scan on resources r  (cost=0.00..1.00 rows=1 width=8)",
            &aliases
        ));
        assert!(!is_full_scan(
            "Index Scan using resources_pkey on resources r",
            &aliases
        ));
    }
}
