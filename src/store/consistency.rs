//! Index consistency: every current resource must have exactly the index rows and
//! projections its stored JSON yields. Recomputes them with the write path's extraction in a
//! transaction that is rolled back, compares with what is stored, and on request rewrites
//! the resources that drifted and deletes rows no current resource owns.

use super::reindex::rewrite_derived;
use crate::db::consistency::{orphans, Renderer};
use crate::db::resources::read_many;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Db;
use crate::error::AppResult;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the check found (and, with repair, fixed).
#[derive(Debug, Clone, Default, Serialize)]
pub struct IndexReport {
    /// Current resources checked.
    pub resources: u64,
    /// Resources whose index rows or projections differ from their JSON (`Type/id`, at most 100).
    pub drifted: Vec<String>,
    /// How many drifted in all.
    pub drifted_count: u64,
    /// Rows of deleted or missing resources, per table.
    pub orphan_rows: BTreeMap<String, i64>,
    /// True when the drift found was rewritten.
    pub repaired: bool,
}

impl IndexReport {
    /// True when nothing was out of step.
    pub fn clean(&self) -> bool {
        self.drifted_count == 0 && self.orphan_rows.is_empty()
    }
}

const LISTED: usize = 100;

/// Checks (and with `repair` fixes) the derived rows of every current resource, `batch`
/// resources per transaction.
pub fn check(db: &Db, repair: bool, batch: usize) -> AppResult<IndexReport> {
    let mut report = IndexReport::default();
    let renderer = Renderer::new(&mut db.read()?)?;
    let mut after = 0i64;
    loop {
        let mut sql = Sql::new("SELECT rk FROM resources WHERE deleted = 0 AND rk > ");
        sql.bind(after)
            .push(" ORDER BY rk LIMIT ")
            .bind(batch.max(1) as i64);
        let keys: Vec<i64> = db
            .read()?
            .load::<KeyRow>(&sql)?
            .into_iter()
            .map(|r| r.rk)
            .collect();
        let Some(&last) = keys.last() else { break };
        after = last;
        report.resources += keys.len() as u64;
        let drifted = db.rolled_back(|conn| {
            let stored = renderer.rows(conn, &keys)?;
            rewrite_derived(conn, &keys)?;
            let expected = renderer.rows(conn, &keys)?;
            let differing = differing_keys(&stored, &expected);
            let names = read_many(conn, &differing)?
                .into_iter()
                .map(|(_, row)| format!("{}/{}", row.res_type, row.res_id))
                .collect::<Vec<_>>();
            Ok((differing, names))
        })?;
        let (differing, names) = drifted;
        if differing.is_empty() {
            continue;
        }
        report.drifted_count += differing.len() as u64;
        let room = LISTED.saturating_sub(report.drifted.len());
        report.drifted.extend(names.into_iter().take(room));
        if repair {
            db.transaction(|conn| rewrite_derived(conn, &differing))?;
        }
    }
    let found = if repair {
        db.transaction(|conn| orphans(conn, true))?
    } else {
        orphans(&mut db.read()?, false)?
    };
    report.orphan_rows = found.into_iter().map(|(t, n)| (t.to_string(), n)).collect();
    report.repaired = repair && !report.clean();
    Ok(report)
}

/// Row keys whose sorted rows differ between `a` and `b` (both sorted by key, then text).
fn differing_keys(a: &[(i64, String)], b: &[(i64, String)]) -> Vec<i64> {
    fn group(rows: &[(i64, String)]) -> BTreeMap<i64, Vec<&str>> {
        let mut map: BTreeMap<i64, Vec<&str>> = BTreeMap::new();
        for (rk, line) in rows {
            map.entry(*rk).or_default().push(line);
        }
        map
    }
    let (a, b) = (group(a), group(b));
    let mut keys: Vec<i64> = a.keys().chain(b.keys()).copied().collect();
    keys.sort_unstable();
    keys.dedup();
    keys.into_iter().filter(|k| a.get(k) != b.get(k)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_with_missing_extra_or_changed_rows_differ() {
        let row = |rk: i64, t: &str| (rk, t.to_string());
        let stored = vec![row(1, "a"), row(2, "b"), row(3, "c"), row(3, "d")];
        let expected = vec![row(1, "a"), row(2, "B"), row(3, "c"), row(4, "e")];
        assert_eq!(differing_keys(&stored, &expected), vec![2, 3, 4]);
        assert!(differing_keys(&stored, &stored).is_empty());
    }
}
