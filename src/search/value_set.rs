//! Token `:in` / `:not-in` (search.html#modifiers): the value set named by the parameter
//! value is turned into code filters before the SQL is built. Value sets are the implicit
//! ICD-10-CM/PCS ones (`[system]?fhir_vs`, `?fhir_vs=isa/[code]`, `?fhir_vs=range/[codes]`)
//! and stored `ValueSet` resources found by `url` (compose include/exclude with concept
//! lists, whole systems, ICD `is-a`/`descendent-of` filters and nested `valueSet`s, or a
//! stored expansion). The reports evaluate a ValueSet URL in `code` with the same
//! `membership` (`reporting::codes`).

use super::parse::{Clause, ClauseKind, SearchRequest};
use crate::coding::ops::value_set::{ImplicitValueSet, Selection};
use crate::coding::ops::CodeSystem;
use crate::db::{resources, Conn};
use crate::error::{AppError, AppResult};
use crate::store::conditional;
use serde_json::Value;
use std::borrow::Cow;

/// Codes a filter admits.
#[derive(Debug, Clone, PartialEq)]
pub enum CodeFilter {
    /// Every code of the system.
    System(String),
    /// Exactly these codes (of the system, or of any system when None).
    Codes {
        system: Option<String>,
        codes: Vec<String>,
    },
    /// Codes of a system whose undotted upper-case key lies in one of the inclusive
    /// `ranges` (ICD-10-CM/PCS hierarchy; `(E11, E11)` is E11 and below).
    Keys {
        system: String,
        ranges: Vec<(String, String)>,
    },
    /// The codes of a nested value set (`compose.include.valueSet`).
    Within(Box<Membership>),
}

/// The codes of a value set: in any `include` and in no `exclude`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Membership {
    pub include: Vec<CodeFilter>,
    pub exclude: Vec<CodeFilter>,
}

/// Nested `compose.include.valueSet` references followed at most this deep.
const MAX_NESTING: usize = 5;

/// `req` with every `:in` / `:not-in` clause (also inside chains and `_has`) resolved;
/// borrowed unchanged when it has none.
pub fn resolve<'a>(conn: &mut Conn, req: &'a SearchRequest) -> AppResult<Cow<'a, SearchRequest>> {
    if !req.clauses.iter().any(has_value_set) {
        return Ok(Cow::Borrowed(req));
    }
    let mut owned = req.clone();
    for clause in &mut owned.clauses {
        resolve_clause(conn, clause)?;
    }
    Ok(Cow::Owned(owned))
}

fn has_value_set(clause: &Clause) -> bool {
    match &clause.kind {
        ClauseKind::Param { modifier, .. } => {
            matches!(modifier.as_deref(), Some("in") | Some("not-in"))
        }
        ClauseKind::Chain { inner, .. } | ClauseKind::Has { inner, .. } => has_value_set(inner),
        ClauseKind::AnyOf(lists) => lists.iter().flatten().any(has_value_set),
        _ => false,
    }
}

fn resolve_clause(conn: &mut Conn, clause: &mut Clause) -> AppResult<()> {
    match &mut clause.kind {
        ClauseKind::Chain { inner, .. } | ClauseKind::Has { inner, .. } => {
            resolve_clause(conn, inner)
        }
        ClauseKind::AnyOf(lists) => lists
            .iter_mut()
            .flatten()
            .try_for_each(|inner| resolve_clause(conn, inner)),
        ClauseKind::Param {
            def,
            modifier,
            values,
        } if matches!(modifier.as_deref(), Some("in") | Some("not-in")) => {
            let negate = modifier.as_deref() == Some("not-in");
            let sets = values
                .iter()
                .map(|url| membership(conn, url, 0))
                .collect::<AppResult<Vec<_>>>()?;
            clause.kind = ClauseKind::InValueSet { def, negate, sets };
            Ok(())
        }
        _ => Ok(()),
    }
}

/// The membership of the value set `url` (`url|version`: the stored ValueSet of that
/// version, or the one stored without a version).
pub fn membership(conn: &mut Conn, url: &str, depth: usize) -> AppResult<Membership> {
    let (canonical, version) = match url.split_once('|') {
        Some((c, v)) => (c.trim(), Some(v.trim()).filter(|v| !v.is_empty())),
        None => (url.trim(), None),
    };
    if canonical.is_empty() {
        return Err(AppError::invalid(
            "a ValueSet URL is needed (:in, :not-in, report code)",
        ));
    }
    if let Some(implicit) = implicit(canonical)? {
        return Ok(implicit);
    }
    if depth > MAX_NESTING {
        return Err(AppError::invalid(format!(
            "ValueSet '{canonical}' nests value sets more than {MAX_NESTING} deep"
        )));
    }
    let value_set = stored(conn, canonical, version)?;
    from_definition(conn, &value_set, depth)
}

fn implicit(url: &str) -> AppResult<Option<Membership>> {
    let base = url.split_once('?').map_or(url, |(b, _)| b);
    if CodeSystem::of(base).is_none() || !url.contains('?') {
        return Ok(None);
    }
    let set = ImplicitValueSet::parse(url)
        .map_err(|_| AppError::invalid(format!("ValueSet '{url}' is not known")))?;
    let system = set.system.url().to_string();
    let filter = match set.selection {
        Selection::All => CodeFilter::System(system),
        Selection::IsA(prefix) => CodeFilter::Keys {
            system,
            ranges: vec![(prefix.clone(), prefix)],
        },
        Selection::Spec(spec) => CodeFilter::Keys {
            system,
            ranges: spec
                .key_ranges()
                .into_iter()
                .map(|(first, last)| (first.to_string(), last.to_string()))
                .collect(),
        },
    };
    Ok(Some(Membership {
        include: vec![filter],
        exclude: Vec::new(),
    }))
}

fn stored(conn: &mut Conn, url: &str, version: Option<&str>) -> AppResult<Value> {
    let criteria = format!(
        "url={}",
        percent_encoding::utf8_percent_encode(url, percent_encoding::NON_ALPHANUMERIC)
    );
    let mut candidates = Vec::new();
    for id in conditional::matches(conn, "ValueSet", &criteria)? {
        let row = resources::read_current(conn, "ValueSet", &id)?
            .ok_or_else(|| AppError::internal("ValueSet vanished during search"))?;
        let content = row
            .content
            .ok_or_else(|| AppError::internal("ValueSet has no content"))?;
        candidates.push(serde_json::from_str::<Value>(&content).map_err(AppError::internal)?);
    }
    if let Some(version) = version {
        let exact = |vs: &Value| vs["version"].as_str() == Some(version);
        if candidates.iter().any(exact) {
            candidates.retain(exact);
        } else {
            candidates.retain(|vs| vs.get("version").is_none());
        }
    }
    let named = match version {
        Some(v) => format!("{url}|{v}"),
        None => url.to_string(),
    };
    match candidates.len() {
        1 => Ok(candidates.remove(0)),
        0 => Err(AppError::invalid(format!(
            "ValueSet '{named}' is not known (no stored ValueSet has this url{})",
            if version.is_some() { " and version" } else { "" }
        ))),
        _ => Err(AppError::invalid(format!(
            "ValueSet '{named}' is ambiguous: several stored ValueSets have this url (name a version)"
        ))),
    }
}

/// Membership from a ValueSet's `compose`, else from its stored `expansion`.
fn from_definition(conn: &mut Conn, value_set: &Value, depth: usize) -> AppResult<Membership> {
    let url = value_set["url"].as_str().unwrap_or("(no url)");
    if let Some(compose) = value_set.get("compose") {
        let mut membership = Membership::default();
        for include in array(compose, "include") {
            membership
                .include
                .extend(part_filters(conn, url, include, depth)?);
        }
        for exclude in array(compose, "exclude") {
            membership
                .exclude
                .extend(part_filters(conn, url, exclude, depth)?);
        }
        return Ok(membership);
    }
    let contains = expansion_codes(value_set.get("expansion"));
    if contains.is_empty() {
        return Err(AppError::invalid(format!(
            "ValueSet '{url}' has neither compose nor expansion"
        )));
    }
    Ok(Membership {
        include: contains,
        exclude: Vec::new(),
    })
}

fn array<'v>(value: &'v Value, key: &str) -> impl Iterator<Item = &'v Value> {
    value[key].as_array().into_iter().flatten()
}

/// Filters of one `compose.include` / `compose.exclude` entry.
fn part_filters(
    conn: &mut Conn,
    url: &str,
    part: &Value,
    depth: usize,
) -> AppResult<Vec<CodeFilter>> {
    let system = part["system"].as_str().map(str::to_string);
    let nested: Vec<&str> = array(part, "valueSet").filter_map(Value::as_str).collect();
    let unsupported = |what: &str| {
        AppError::invalid(format!(
            "ValueSet '{url}' cannot be evaluated: {what} is not supported"
        ))
    };
    if !nested.is_empty() {
        if system.is_some() || nested.len() > 1 {
            return Err(unsupported("an include that intersects value sets"));
        }
        let inner = membership(conn, nested[0], depth + 1)?;
        return Ok(vec![CodeFilter::Within(Box::new(inner))]);
    }
    let Some(system) = system else {
        return Err(unsupported("an include without system or valueSet"));
    };
    let codes: Vec<String> = array(part, "concept")
        .filter_map(|c| c["code"].as_str().map(str::to_string))
        .collect();
    let filters: Vec<&Value> = array(part, "filter").collect();
    match (codes.is_empty(), filters.is_empty()) {
        (true, true) => Ok(vec![CodeFilter::System(system)]),
        (false, true) => Ok(vec![CodeFilter::Codes {
            system: Some(system),
            codes,
        }]),
        (true, false) => hierarchy_filter(&system, &filters).ok_or_else(|| {
            unsupported(
                "a filter other than concept is-a / descendent-of on ICD-10-CM or ICD-10-PCS",
            )
        }),
        (false, false) => Err(unsupported("an include with both concepts and filters")),
    }
}

/// `concept is-a X` (X and below) on the prefix-hierarchical ICD systems; one filter only.
fn hierarchy_filter(system: &str, filters: &[&Value]) -> Option<Vec<CodeFilter>> {
    let [filter] = filters else { return None };
    CodeSystem::of(system)?;
    if filter["property"].as_str() != Some("concept") {
        return None;
    }
    let key = crate::coding::codes::normalize(filter["value"].as_str()?)
        .or_else(|| Some(filter["value"].as_str()?.trim().to_ascii_uppercase()))?;
    match filter["op"].as_str()? {
        "is-a" | "descendent-of" => Some(vec![CodeFilter::Keys {
            system: system.to_string(),
            ranges: vec![(key.clone(), key)],
        }]),
        _ => None,
    }
}

fn expansion_codes(expansion: Option<&Value>) -> Vec<CodeFilter> {
    fn walk(items: &Value, out: &mut Vec<CodeFilter>) {
        for item in items.as_array().into_iter().flatten() {
            if let Some(code) = item["code"].as_str() {
                let system = item["system"].as_str().map(str::to_string);
                match out
                    .iter_mut()
                    .find(|f| matches!(f, CodeFilter::Codes { system: s, .. } if *s == system))
                {
                    Some(CodeFilter::Codes { codes, .. }) => codes.push(code.to_string()),
                    _ => out.push(CodeFilter::Codes {
                        system,
                        codes: vec![code.to_string()],
                    }),
                }
            }
            walk(&item["contains"], out);
        }
    }
    let mut out = Vec::new();
    if let Some(expansion) = expansion {
        walk(&expansion["contains"], &mut out);
    }
    out
}
