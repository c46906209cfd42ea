//! Executes a parsed search against the store: page, total, includes.

use super::parse::{Include, SearchRequest, Summary, Total};
use super::value_set;
use crate::db::resources::{ids_of, read_many};
use crate::db::rows::VersionRow;
use crate::db::search_page::{self, SearchRow};
use crate::db::Conn;
use crate::error::AppResult;
use crate::store::Store;
use std::collections::HashSet;

/// What a search found.
pub struct SearchResult {
    pub matches: Vec<VersionRow>,
    pub included: Vec<VersionRow>,
    pub total: Option<i64>,
    /// Cursor of the next page, when there is one.
    pub next_cursor: Option<String>,
}

/// Keeps the rows a caller may see (run on the search's connection); applied to each
/// round of includes, so `:iterate` never walks on from a resource the caller cannot see.
pub type RowFilter<'a> = &'a dyn Fn(&mut Conn, Vec<VersionRow>) -> AppResult<Vec<VersionRow>>;

/// Rounds of `:iterate` includes at most.
const MAX_INCLUDE_ROUNDS: usize = 4;

impl Store {
    /// Runs `req` on a read connection.
    pub fn search(&self, req: &SearchRequest) -> AppResult<SearchResult> {
        self.search_filtered(req, &|_, rows| Ok(rows))
    }

    /// `search` with the included resources passed through `filter` round by round.
    pub fn search_filtered(
        &self,
        req: &SearchRequest,
        filter: RowFilter<'_>,
    ) -> AppResult<SearchResult> {
        let mut conn = self.db.read()?;
        search_in_filtered(&mut conn, req, filter)
    }

    /// Ids of the current resources of `res_type` matching `query` (conditional interactions).
    pub fn matching_ids(
        conn: &mut Conn,
        req: &SearchRequest,
        limit: usize,
    ) -> AppResult<Vec<String>> {
        let req = value_set::resolve(conn, req)?;
        let rows = search_page::page(conn, &req, limit)?;
        let keys: Vec<i64> = rows.iter().map(|r| r.rk).collect();
        ids_of(conn, &keys)
    }
}

/// Runs `req` on `conn`.
pub fn search_in(conn: &mut Conn, req: &SearchRequest) -> AppResult<SearchResult> {
    search_in_filtered(conn, req, &|_, rows| Ok(rows))
}

fn search_in_filtered(
    conn: &mut Conn,
    req: &SearchRequest,
    filter: RowFilter<'_>,
) -> AppResult<SearchResult> {
    let req = &*value_set::resolve(conn, req)?;
    let total = match (req.summary, req.total) {
        (Summary::Count, _) | (_, Total::Accurate) | (_, Total::Estimate) => {
            Some(search_page::count(conn, req)?)
        }
        _ => None,
    };
    if req.summary == Summary::Count {
        return Ok(SearchResult {
            matches: Vec::new(),
            included: Vec::new(),
            total,
            next_cursor: None,
        });
    }
    let mut rows: Vec<SearchRow> = search_page::page(conn, req, req.count + 1)?;
    let next_cursor = if rows.len() > req.count {
        rows.truncate(req.count);
        rows.last().map(|r| r.cursor(req.sort.len()))
    } else {
        None
    };
    let keys: Vec<i64> = rows.iter().map(|r| r.rk).collect();
    let matches = in_order(conn, &keys)?;
    let included = includes(conn, req, &matches, filter)?;
    Ok(SearchResult {
        matches,
        included,
        total,
        next_cursor,
    })
}

/// Current versions of `keys`, in the order given.
pub fn in_order(conn: &mut Conn, keys: &[i64]) -> AppResult<Vec<VersionRow>> {
    let mut found: std::collections::HashMap<i64, VersionRow> =
        read_many(conn, keys)?.into_iter().collect();
    Ok(keys.iter().filter_map(|k| found.remove(k)).collect())
}

fn includes(
    conn: &mut Conn,
    req: &SearchRequest,
    matches: &[VersionRow],
    filter: RowFilter<'_>,
) -> AppResult<Vec<VersionRow>> {
    if req.includes.is_empty() && req.revincludes.is_empty() {
        return Ok(Vec::new());
    }
    let mut seen: HashSet<(String, String)> = matches
        .iter()
        .map(|m| (m.res_type.clone(), m.res_id.clone()))
        .collect();
    let mut frontier: Vec<&VersionRow> = matches.iter().collect();
    let mut included: Vec<VersionRow> = Vec::new();
    for round in 0..MAX_INCLUDE_ROUNDS {
        let active = |i: &&Include| round == 0 || i.iterate;
        let frontier_keys = keys_of(conn, &frontier)?;
        let targets: Vec<(String, String)> = frontier
            .iter()
            .map(|r| (r.res_type.clone(), r.res_id.clone()))
            .collect();
        let mut new_keys: Vec<i64> = Vec::new();
        for include in req.includes.iter().filter(active) {
            new_keys.extend(search_page::include_targets(conn, &frontier_keys, include)?);
        }
        for include in req.revincludes.iter().filter(active) {
            new_keys.extend(search_page::revinclude_sources(conn, &targets, include)?);
        }
        new_keys.sort_unstable();
        new_keys.dedup();
        let start = included.len();
        let found = in_order(conn, &new_keys)?;
        for row in filter(conn, found)? {
            if seen.insert((row.res_type.clone(), row.res_id.clone())) {
                included.push(row);
            }
        }
        if included.len() > req.max_included {
            return Err(crate::error::AppError::too_costly(format!(
                "the includes reach more than {} resources (max_included); narrow the search or lower _count",
                req.max_included
            )));
        }
        if included.len() == start {
            break;
        }
        frontier = included[start..].iter().collect();
    }
    Ok(included)
}

/// Row keys of resources given by type and id.
fn keys_of(conn: &mut Conn, rows: &[&VersionRow]) -> AppResult<Vec<i64>> {
    let mut keys = Vec::new();
    for chunk in rows.chunks(300) {
        let mut sql = crate::db::sql::Sql::new("SELECT rk FROM resources WHERE ");
        for (i, row) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(" OR ");
            }
            sql.push("(res_type = ")
                .bind(row.res_type.as_str())
                .push(" AND res_id = ")
                .bind(row.res_id.as_str())
                .push(")");
        }
        keys.extend(
            conn.load::<crate::db::rows::KeyRow>(&sql)?
                .into_iter()
                .map(|r| r.rk),
        );
    }
    Ok(keys)
}

impl Store {
    /// `Patient/{id}/$everything`: the patient (on the first page) and its compartment, in
    /// row-key order after `after`; returns the page and the cursor of the next one.
    pub fn everything(
        &self,
        id: &str,
        types: &[String],
        after: i64,
        count: usize,
    ) -> AppResult<(Vec<VersionRow>, Option<i64>)> {
        let mut conn = self.db.read()?;
        let patient = crate::db::resources::read_current(&mut conn, "Patient", id)?
            .filter(|p| p.deleted == 0)
            .ok_or_else(|| {
                crate::error::AppError::NotFound(format!("Patient/{id} is not known"))
            })?;
        let mut keys = search_page::patient_compartment(&mut conn, id, types, after, count + 1)?;
        let next = if keys.len() > count {
            keys.truncate(count);
            keys.last().copied()
        } else {
            None
        };
        let mut rows = Vec::with_capacity(keys.len() + 1);
        if after == 0 && (types.is_empty() || types.iter().any(|t| t == "Patient")) {
            rows.push(patient);
        }
        rows.extend(in_order(&mut conn, &keys)?);
        Ok((rows, next))
    }
}
