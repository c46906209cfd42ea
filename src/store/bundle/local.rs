//! Conditional criteria matched against the resources a Bundle itself writes, so that a
//! conditional reference or `ifNoneExist` sees a resource created by an earlier entry.
//! Handles the criteria such entries use — token parameters (`identifier=sys|val`,
//! `code=...`) and `_id`, AND-ed, each an OR list; other criteria match only stored
//! resources (`None`). Index values are extracted lazily, only for the types asked about.

use crate::fhir::index::{extract, IndexEntry, IndexValue};
use crate::fhir::search_params::{registry, ParamKind};
use crate::search::parse::split_or;
use serde_json::Value;
use std::cell::OnceCell;

/// One resource the Bundle writes.
struct Written<'a> {
    res_type: &'a str,
    id: String,
    /// Created by a POST (runs before PUT entries inside the transaction).
    post: bool,
    body: &'a Value,
    /// The `ifNoneExist` criteria it was created under, if any.
    criteria: Option<&'a str>,
    values: OnceCell<Vec<IndexEntry>>,
}

/// The resources written so far, in Bundle order.
#[derive(Default)]
pub struct Local<'a> {
    written: Vec<Written<'a>>,
}

/// One criterion: a token parameter (or `_id`) and its OR-ed values.
enum Criterion {
    Id(Vec<String>),
    Token { param: String, values: Vec<String> },
}

fn criteria(res_type: &str, query: &str) -> Option<Vec<Criterion>> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(query.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    if pairs.is_empty() {
        return None;
    }
    pairs
        .into_iter()
        .map(|(key, value)| {
            if key == "_id" {
                return Some(Criterion::Id(split_or(&value)));
            }
            let def = registry().get(res_type, &key)?;
            (def.kind == ParamKind::Token).then(|| Criterion::Token {
                param: key,
                values: split_or(&value),
            })
        })
        .collect()
}

fn token_matches(wanted: &str, system: Option<&str>, code: Option<&str>) -> bool {
    match wanted.split_once('|') {
        Some(("", c)) => system.is_none() && code == Some(c),
        Some((s, "")) => system == Some(s),
        Some((s, c)) => system == Some(s) && code == Some(c),
        None => code == Some(wanted),
    }
}

impl<'a> Local<'a> {
    /// Notes that an entry writes `body` as `res_type/id` (a POST when `post`, created under
    /// `criteria` when it is a conditional create).
    pub fn add(
        &mut self,
        res_type: &'a str,
        id: &str,
        post: bool,
        body: &'a Value,
        criteria: Option<&'a str>,
    ) {
        self.written.push(Written {
            res_type,
            id: id.to_string(),
            post,
            body,
            criteria,
            values: OnceCell::new(),
        });
    }

    /// Ids of the written `res_type` resources matching `query` (POST-created ones only
    /// when `posts_only`); None when the criteria are not of a kind matched here.
    pub fn matching(&self, res_type: &str, query: &str, posts_only: bool) -> Option<Vec<String>> {
        let candidates = self
            .written
            .iter()
            .filter(|w| w.res_type == res_type && (w.post || !posts_only));
        let Some(wanted) = criteria(res_type, query) else {
            // criteria not matched here: an earlier conditional create under the very same
            // criteria is still a match (two identical ifNoneExist entries create one resource)
            let same: Vec<String> = candidates
                .filter(|w| w.criteria == Some(query))
                .map(|w| w.id.clone())
                .collect();
            return (!same.is_empty()).then_some(same);
        };
        let mut ids: Vec<String> = Vec::new();
        for w in candidates {
            let values = w.values.get_or_init(|| extract(w.body).unwrap_or_default());
            let all = wanted.iter().all(|c| match c {
                Criterion::Id(list) => list.contains(&w.id),
                Criterion::Token { param, values: list } => values.iter().any(|e| {
                    e.param == *param
                        && matches!(&e.value, IndexValue::Token { system, code, .. }
                            if list.iter().any(|v| token_matches(v, system.as_deref(), code.as_deref())))
                }),
            });
            if all && !ids.contains(&w.id) {
                ids.push(w.id.clone());
            }
        }
        Some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identifiers_and_ids_match_written_resources() {
        let a =
            json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "1"}]});
        let b =
            json!({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "2"}]});
        let mut local = Local::default();
        local.add("Patient", "a", true, &a, None);
        local.add("Patient", "b", false, &b, None);
        assert_eq!(
            local.matching("Patient", "identifier=urn:mrn|1", false),
            Some(vec!["a".to_string()])
        );
        assert_eq!(
            local.matching("Patient", "identifier=urn:mrn|2", true),
            Some(vec![])
        );
        assert_eq!(
            local.matching("Patient", "identifier=2", false),
            Some(vec!["b".to_string()])
        );
        assert_eq!(
            local
                .matching("Patient", "identifier=urn:mrn|", false)
                .map(|v| v.len()),
            Some(2)
        );
        assert_eq!(
            local.matching("Patient", "_id=b&identifier=urn:mrn|1", false),
            Some(vec![])
        );
        assert_eq!(local.matching("Patient", "name=smith", false), None);
        let c = json!({"resourceType": "Patient", "name": [{"family": "Smith"}]});
        local.add("Patient", "c", true, &c, Some("name=smith"));
        assert_eq!(
            local.matching("Patient", "name=smith", true),
            Some(vec!["c".to_string()])
        );
    }
}
