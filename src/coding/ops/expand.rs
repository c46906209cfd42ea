//! `ValueSet/$expand` of the implicit value sets: `filter` (every word must occur in the
//! display or the code), `count` (default 100, at most 1000) and `offset`.

use serde_json::{json, Value};

use super::value_set::{ImplicitValueSet, Selection};
use super::{version, CodeSystem, OpParams};
use crate::coding::codes::normalize;
use crate::coding::Terminology;
use crate::error::{AppError, AppResult};

const DEFAULT_COUNT: usize = 100;
const MAX_COUNT: usize = 1000;

/// One page of an expansion.
struct Page {
    total: usize,
    contains: Vec<Value>,
}

impl Page {
    fn offer(&mut self, offset: usize, count: usize, entry: impl FnOnce() -> Value) {
        if self.total >= offset && self.contains.len() < count {
            self.contains.push(entry());
        }
        self.total += 1;
    }
}

/// Expands the value set named by `url`.
pub fn expand(terms: &Terminology, params: &OpParams) -> AppResult<Value> {
    let url = params.get("url").ok_or_else(|| {
        AppError::invalid("parameter url is required (an implicit value set such as http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=isa/E11)")
    })?;
    let vs = ImplicitValueSet::parse(url)?;
    let offset = params.number("offset")?.unwrap_or(0);
    let count = params
        .number("count")?
        .unwrap_or(DEFAULT_COUNT)
        .min(MAX_COUNT);
    let filter = params.get("filter").unwrap_or("");
    let mut page = Page {
        total: 0,
        contains: Vec::new(),
    };
    match vs.system {
        CodeSystem::Cm => expand_cm(terms, &vs.selection, filter, offset, count, &mut page),
        CodeSystem::Pcs => expand_pcs(terms, &vs.selection, filter, offset, count, &mut page),
    }
    let mut parameter = vec![
        json!({ "name": "offset", "valueInteger": offset }),
        json!({ "name": "count", "valueInteger": count }),
    ];
    if !filter.is_empty() {
        parameter.push(json!({ "name": "filter", "valueString": filter }));
    }
    Ok(json!({
        "resourceType": "ValueSet",
        "url": url,
        "status": "active",
        "expansion": {
            "identifier": format!("urn:uuid:{}", uuid::Uuid::new_v4()),
            "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "total": page.total,
            "offset": offset,
            "parameter": parameter,
            "contains": page.contains,
        }
    }))
}

/// Lower-cased filter words; a dotted code is matched in its undotted form.
fn filter_terms(filter: &str) -> Vec<String> {
    filter
        .split_whitespace()
        .map(|t| {
            normalize(t)
                .filter(|_| t.contains('.'))
                .unwrap_or_else(|| t.to_string())
                .to_lowercase()
        })
        .collect()
}

fn expand_cm(
    terms: &Terminology,
    selection: &Selection,
    filter: &str,
    offset: usize,
    count: usize,
    page: &mut Page,
) {
    let words = filter_terms(filter);
    let cm = &terms.cm;
    let range = match selection {
        Selection::IsA(key) => match cm.node(key) {
            Some((id, node)) => id as usize..node.subtree_end as usize,
            None => 0..0,
        },
        _ => 0..cm.nodes.len(),
    };
    let fy = version(terms);
    for node in &cm.nodes[range] {
        if let Selection::Spec(spec) = selection {
            if !spec.contains_key(&node.key) {
                continue;
            }
        }
        if !words.iter().all(|w| node.search_text.contains(w.as_str())) {
            continue;
        }
        page.offer(offset, count, || {
            let mut entry = json!({
                "system": CodeSystem::Cm.url(),
                "version": fy,
                "code": &*node.code,
                "display": &*node.display,
            });
            if !node.billable {
                entry["abstract"] = json!(true);
            }
            entry
        });
    }
}

fn expand_pcs(
    terms: &Terminology,
    selection: &Selection,
    filter: &str,
    offset: usize,
    count: usize,
    page: &mut Page,
) {
    let words = filter_terms(filter);
    let prefix = match selection {
        Selection::IsA(prefix) => prefix.as_str(),
        _ => "",
    };
    let fy = version(terms);
    let entry = |concept: crate::coding::PcsConcept| {
        json!({
            "system": CodeSystem::Pcs.url(),
            "version": fy,
            "code": concept.code,
            "display": concept.display,
        })
    };
    let range = terms.pcs.prefix_range(prefix);
    if words.is_empty() {
        page.total = range.len();
        page.contains = range
            .skip(offset)
            .take(count)
            .map(|at| entry(terms.pcs.concept(at)))
            .collect();
        return;
    }
    for at in range {
        let concept = terms.pcs.concept(at);
        let matches = words.iter().all(|w| {
            concept.code.to_ascii_lowercase().starts_with(w.as_str())
                || concept
                    .axes
                    .iter()
                    .any(|a| a.label.to_lowercase().contains(w.as_str()))
        });
        if matches {
            page.offer(offset, count, || entry(concept));
        }
    }
}
