//! `includeAssociatedData`: which Provenance resources go with an export. The last pass of
//! such a job walks the Provenance the requester may see and keeps one when a target is a
//! resource of this export (Relevant) and, for Latest, when it is that target's most recent
//! Provenance (by `recorded`, then row order). Each check is a search with the job's
//! access, so nothing the requester could not find is revealed, and resuming a job decides
//! again the same way.

use super::grant::Grant;
use super::spec::{clauses, Associated, ExportSpec};
use super::writer::prepare;
use crate::db::resources::read_many;
use crate::db::search_page;
use crate::error::AppResult;
use crate::store::Store;
use serde_json::Value;

/// Targets of more Provenance than this are decided on the first ones only.
const MAX_PER_TARGET: usize = 1000;

/// Decides, one Provenance at a time, whether it belongs to the export.
pub struct ProvenanceFilter<'a> {
    pub store: &'a Store,
    pub spec: &'a ExportSpec,
    pub grant: &'a Grant,
}

/// `(type, id)` of each `Provenance.target` reference (relative, absolute or versioned).
fn targets(provenance: &Value) -> Vec<(String, String)> {
    provenance["target"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["reference"].as_str())
        .filter_map(|r| {
            let r = r.split("/_history/").next()?;
            let mut parts = r.rsplit('/');
            let id = parts.next()?;
            let res_type = parts.next()?;
            crate::fhir::search_params::is_resource_type(res_type)
                .then(|| (res_type.to_string(), id.to_string()))
        })
        .collect()
}

impl ProvenanceFilter<'_> {
    /// True when the Provenance `provenance` (row key `rk`) goes with the export.
    pub fn keep(&self, provenance: &Value, rk: i64) -> AppResult<bool> {
        for (res_type, id) in targets(provenance) {
            if !self.exported(&res_type, &id)? {
                continue;
            }
            if self.spec.associated == Some(Associated::RelevantProvenance)
                || self.latest_for(&res_type, &id)? == Some(rk)
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Row keys of the resources the search `pairs` on `res_type` finds for this job.
    fn found(
        &self,
        res_type: &str,
        pairs: &[(String, String)],
        limit: usize,
    ) -> AppResult<Vec<i64>> {
        let access = self.grant.access(res_type);
        let mut search = self.spec.search(res_type, &access, &[])?;
        search.clauses.extend(clauses(res_type, pairs)?);
        let search = prepare(self.store, search, &access)?;
        let mut conn = self.store.db.read()?;
        Ok(search_page::page(&mut conn, &search, limit)?
            .into_iter()
            .map(|r| r.rk)
            .collect())
    }

    /// True when `res_type/id` is among the resources this job exports.
    fn exported(&self, res_type: &str, id: &str) -> AppResult<bool> {
        if res_type == "Provenance" || !self.spec.types.iter().any(|t| t == res_type) {
            return Ok(false);
        }
        Ok(!self
            .found(res_type, &[("_id".into(), id.into())], 1)?
            .is_empty())
    }

    /// The row key of the most recent Provenance targeting `res_type/id`.
    fn latest_for(&self, res_type: &str, id: &str) -> AppResult<Option<i64>> {
        let target = [("target".to_string(), format!("{res_type}/{id}"))];
        let rks = self.found("Provenance", &target, MAX_PER_TARGET)?;
        let rows = {
            let mut conn = self.store.db.read()?;
            read_many(&mut conn, &rks)?
        };
        let recorded = |content: &Option<String>| {
            content
                .as_deref()
                .and_then(|c| serde_json::from_str::<Value>(c).ok())
                .and_then(|v| v["recorded"].as_str().map(str::to_string))
                .and_then(|r| crate::fhir::index::date_range(&r))
                .map_or(i64::MIN, |(low, _)| low)
        };
        Ok(rows
            .iter()
            .map(|(rk, row)| (recorded(&row.content), *rk))
            .max()
            .map(|(_, rk)| rk))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets_are_read_from_any_reference_form() {
        let p = json!({"resourceType": "Provenance", "target": [
            {"reference": "Condition/c1"},
            {"reference": "http://example.org/fhir/Observation/o1/_history/2"},
            {"reference": "Nonsense/x"},
            {"display": "no reference"}
        ]});
        assert_eq!(
            targets(&p),
            vec![
                ("Condition".to_string(), "c1".to_string()),
                ("Observation".to_string(), "o1".to_string())
            ]
        );
    }
}
