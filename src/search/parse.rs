//! Query string → `SearchRequest`: clauses (AND of OR-lists), chains, `_has`, modifiers,
//! and the result parameters. Unknown parameters are collected, not fatal, unless the
//! client asked for strict handling.

use crate::error::{AppError, AppResult};
use crate::fhir::search_params::{registry, ParamKind, SearchParamDef};

/// One AND-ed condition on resources of `res_type`.
#[derive(Debug, Clone)]
pub struct Clause {
    pub res_type: String,
    pub kind: ClauseKind,
}

#[derive(Debug, Clone)]
pub enum ClauseKind {
    /// `_id` (OR list).
    Id(Vec<String>),
    /// `_lastUpdated` with a prefix each (OR list).
    LastUpdated(Vec<String>),
    /// An indexed parameter with an optional modifier and an OR list of values.
    Param {
        def: &'static SearchParamDef,
        modifier: Option<String>,
        values: Vec<String>,
    },
    /// `param:missing=true|false`.
    Missing {
        def: &'static SearchParamDef,
        missing: bool,
    },
    /// `ref.param=...`: resources whose reference `def` points at a `target_type` matching `inner`.
    Chain {
        def: &'static SearchParamDef,
        target_types: Vec<String>,
        inner: Box<Clause>,
    },
    /// `_has:Type:ref:param=...`: resources referenced by a `Type` through `ref` that matches `inner`.
    Has {
        source_type: String,
        def: &'static SearchParamDef,
        inner: Box<Clause>,
    },
    /// Resources in the compartment of `Patient/{patient_id}` (compartment search).
    PatientCompartment { patient_id: String },
    /// Resources about none of these patients (a patient-privacy Consent denies the caller).
    ExcludePatients(Vec<String>),
    /// `res_type` resources other than these ids (a Consent denies single resources).
    ExcludeIds(Vec<String>),
    /// Resources carrying none of these security labels (access control).
    WithoutLabels(Vec<String>),
    /// Token `:in` / `:not-in`, the value sets resolved (OR list of sets).
    InValueSet {
        def: &'static SearchParamDef,
        negate: bool,
        sets: Vec<super::value_set::Membership>,
    },
    /// Resources in the compartment of any of these patients, or of any patient at all
    /// when None (Bulk Data Patient- and Group-level export).
    InCompartments(Option<Vec<String>>),
    /// Resources matching every clause of at least one of the lists (the queries of
    /// SMART v2 query-limited scopes OR-ed across scopes; several `_typeFilter` queries
    /// for one type).
    AnyOf(Vec<Vec<Clause>>),
}

/// `_sort` key.
#[derive(Debug, Clone)]
pub struct SortKey {
    pub param: SortParam,
    pub descending: bool,
}

#[derive(Debug, Clone)]
pub enum SortParam {
    Id,
    LastUpdated,
    Indexed(&'static SearchParamDef),
}

/// `_include` / `_revinclude` directive.
#[derive(Debug, Clone)]
pub struct Include {
    pub source_type: String,
    /// None for `*` (every reference parameter).
    pub param: Option<&'static SearchParamDef>,
    pub target_type: Option<String>,
    pub iterate: bool,
}

/// `_summary`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Summary {
    False,
    True,
    Text,
    Data,
    Count,
}

/// `_total`
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Total {
    None,
    Estimate,
    Accurate,
}

/// A parsed search.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    /// Types searched (one for type-level search; several or all for system search).
    pub types: Vec<String>,
    pub clauses: Vec<Clause>,
    pub sort: Vec<SortKey>,
    pub count: usize,
    pub cursor: Option<String>,
    pub total: Total,
    pub summary: Summary,
    pub elements: Vec<String>,
    pub includes: Vec<Include>,
    pub revincludes: Vec<Include>,
    /// Parameters understood and applied, for the self link.
    pub applied: Vec<(String, String)>,
    /// Parameters ignored (unknown or unsupported), reported to the client.
    pub ignored: Vec<String>,
    /// Most resources the includes may add (more is refused as too costly).
    pub max_included: usize,
}

/// Limits a query must respect.
pub struct Limits {
    pub default_count: usize,
    pub max_count: usize,
    pub strict: bool,
    /// Deepest chain or `_has` nesting (at most `MAX_CHAIN_DEPTH`).
    pub max_chain_depth: usize,
    /// Most `_include` plus `_revinclude` parameters.
    pub max_includes: usize,
    /// Most resources the includes may add.
    pub max_included: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            default_count: 50,
            max_count: 1000,
            strict: false,
            max_chain_depth: 4,
            max_includes: 10,
            max_included: 5_000,
        }
    }
}

/// The engine's own bound on chain and `_has` nesting; the configured limit is lower or equal.
const MAX_CHAIN_DEPTH: usize = 8;
const MAX_SORT_KEYS: usize = 3;
/// Parameters of the HTTP layer, never search criteria.
const TRANSPORT: &[&str] = &["_format", "_pretty"];

fn bad(message: String) -> AppError {
    AppError::invalid(message)
}

/// Parses `pairs` for a search over `types` (empty = all types, system search).
pub fn parse(
    types: &[String],
    pairs: &[(String, String)],
    limits: &Limits,
) -> AppResult<SearchRequest> {
    let mut request = SearchRequest {
        types: types.to_vec(),
        clauses: Vec::new(),
        sort: Vec::new(),
        count: limits.default_count,
        cursor: None,
        total: Total::Accurate,
        summary: Summary::False,
        elements: Vec::new(),
        includes: Vec::new(),
        revincludes: Vec::new(),
        applied: Vec::new(),
        ignored: Vec::new(),
        max_included: limits.max_included,
    };
    if let Some((_, value)) = pairs.iter().find(|(k, _)| k == "_type") {
        let listed: Vec<String> = value
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        for t in &listed {
            if !crate::fhir::search_params::is_resource_type(t) {
                return Err(bad(format!("_type: '{t}' is not a resource type")));
            }
        }
        request.types = listed;
        request.applied.push(("_type".into(), value.clone()));
    }
    let scope_type = (request.types.len() == 1).then(|| request.types[0].clone());
    for (key, value) in pairs {
        if TRANSPORT.contains(&key.as_str()) || key == "_type" {
            continue;
        }
        let handled = result_parameter(&mut request, key, value, limits, scope_type.as_deref())?;
        if handled {
            continue;
        }
        let clause_type = scope_type.clone().unwrap_or_else(|| "Resource".into());
        match parse_clause(&clause_type, key, value, 0) {
            Ok(Some(clause)) if depth_of(&clause) > limits.max_chain_depth => {
                return Err(AppError::too_costly(format!(
                    "'{key}': chains and _has nest at most {} deep here (max_chain_depth)",
                    limits.max_chain_depth
                )))
            }
            Ok(Some(clause)) => {
                request.clauses.push(clause);
                request.applied.push((key.clone(), value.clone()));
            }
            Ok(None) if limits.strict => {
                return Err(bad(format!(
                    "unknown search parameter '{key}' for {clause_type}"
                )))
            }
            Ok(None) => request.ignored.push(key.clone()),
            Err(e) if limits.strict => return Err(e),
            Err(_) => request.ignored.push(key.clone()),
        }
    }
    if request.count > limits.max_count {
        request.count = limits.max_count;
    }
    let includes = request.includes.len() + request.revincludes.len();
    if includes > limits.max_includes {
        return Err(AppError::too_costly(format!(
            "{includes} _include/_revinclude parameters; at most {} are allowed (max_includes)",
            limits.max_includes
        )));
    }
    Ok(request)
}

/// How many chain or `_has` links a clause nests.
fn depth_of(clause: &Clause) -> usize {
    match &clause.kind {
        ClauseKind::Chain { inner, .. } | ClauseKind::Has { inner, .. } => 1 + depth_of(inner),
        _ => 0,
    }
}

/// Result parameters (`_count`, `_sort`, ...); true when `key` was one.
fn result_parameter(
    request: &mut SearchRequest,
    key: &str,
    value: &str,
    limits: &Limits,
    scope_type: Option<&str>,
) -> AppResult<bool> {
    let mut applied = true;
    match key {
        "_count" => {
            request.count = value
                .parse()
                .map_err(|_| bad(format!("_count={value} is not a whole number")))?;
        }
        "_cursor" => {
            request.cursor = Some(value.to_string());
            applied = false;
        }
        "_total" => {
            request.total = match value {
                "none" => Total::None,
                "estimate" => Total::Estimate,
                "accurate" => Total::Accurate,
                _ => {
                    return Err(bad(format!(
                        "_total={value}: use none, estimate or accurate"
                    )))
                }
            }
        }
        "_summary" => {
            request.summary = match value {
                "true" => Summary::True,
                "false" => Summary::False,
                "text" => Summary::Text,
                "data" => Summary::Data,
                "count" => Summary::Count,
                _ => {
                    return Err(bad(format!(
                        "_summary={value}: use true, false, text, data or count"
                    )))
                }
            }
        }
        "_elements" => {
            request.elements = value
                .split(',')
                .map(|e| e.trim().to_string())
                .filter(|e| !e.is_empty())
                .collect();
        }
        "_sort" => {
            for part in value.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                let (descending, name) = match part.strip_prefix('-') {
                    Some(name) => (true, name),
                    None => (false, part),
                };
                let param = match name {
                    "_id" => SortParam::Id,
                    "_lastUpdated" => SortParam::LastUpdated,
                    _ => {
                        let def = scope_type
                            .and_then(|t| registry().get(t, name))
                            .filter(|d| {
                                !matches!(d.kind, ParamKind::Composite | ParamKind::Special)
                            })
                            .ok_or_else(|| bad(format!("_sort: cannot sort by '{name}'")))?;
                        SortParam::Indexed(def)
                    }
                };
                request.sort.push(SortKey { param, descending });
            }
            if request.sort.len() > MAX_SORT_KEYS {
                return Err(bad(format!("_sort: at most {MAX_SORT_KEYS} keys")));
            }
        }
        _ if key == "_include"
            || key.starts_with("_include:")
            || key == "_revinclude"
            || key.starts_with("_revinclude:") =>
        {
            let iterate = key.ends_with(":iterate") || key.ends_with(":recurse");
            let include = parse_include(value, iterate)?;
            if key.starts_with("_revinclude") {
                request.revincludes.push(include);
            } else {
                request.includes.push(include);
            }
        }
        _ => return Ok(false),
    }
    let _ = limits;
    if applied {
        request.applied.push((key.to_string(), value.to_string()));
    }
    Ok(true)
}

fn parse_include(value: &str, iterate: bool) -> AppResult<Include> {
    let parts: Vec<&str> = value.split(':').collect();
    let (source, param, target) = match parts.as_slice() {
        [s, p] => (*s, *p, None),
        [s, p, t] => (*s, *p, Some(t.to_string())),
        _ => {
            return Err(bad(format!(
                "_include={value}: expected Type:param[:TargetType]"
            )))
        }
    };
    if !crate::fhir::search_params::is_resource_type(source) {
        return Err(bad(format!(
            "_include={value}: '{source}' is not a resource type"
        )));
    }
    let param = if param == "*" {
        None
    } else {
        let def = registry()
            .get(source, param)
            .filter(|d| d.kind == ParamKind::Reference)
            .ok_or_else(|| {
                bad(format!(
                    "_include={value}: '{param}' is not a reference parameter of {source}"
                ))
            })?;
        Some(def)
    };
    Ok(Include {
        source_type: source.to_string(),
        param,
        target_type: target,
        iterate,
    })
}

/// One `key=value` as a clause on `res_type`; Ok(None) when the parameter is unknown.
pub fn parse_clause(
    res_type: &str,
    key: &str,
    value: &str,
    depth: usize,
) -> AppResult<Option<Clause>> {
    if depth > MAX_CHAIN_DEPTH {
        return Err(bad(format!(
            "'{key}': chains and _has nest at most {MAX_CHAIN_DEPTH} deep"
        )));
    }
    let clause = |kind| {
        Ok(Some(Clause {
            res_type: res_type.to_string(),
            kind,
        }))
    };
    if let Some(rest) = key.strip_prefix("_has:") {
        let mut parts = rest.splitn(3, ':');
        let (Some(source_type), Some(ref_param), Some(inner_key)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(bad(format!(
                "'{key}': expected _has:Type:reference:parameter"
            )));
        };
        let def = registry()
            .get(source_type, ref_param)
            .filter(|d| d.kind == ParamKind::Reference)
            .ok_or_else(|| {
                bad(format!(
                    "'{key}': '{ref_param}' is not a reference parameter of {source_type}"
                ))
            })?;
        let Some(inner) = parse_clause(source_type, inner_key, value, depth + 1)? else {
            return Ok(None);
        };
        return clause(ClauseKind::Has {
            source_type: source_type.to_string(),
            def,
            inner: Box::new(inner),
        });
    }
    let (head, chain) = match key.split_once('.') {
        Some((head, rest)) => (head, Some(rest)),
        None => (key, None),
    };
    let (name, modifier) = match head.split_once(':') {
        Some((n, m)) => (n, Some(m.to_string())),
        None => (head, None),
    };
    let values = split_or(value);
    match name {
        "_id" if chain.is_none() => return clause(ClauseKind::Id(values)),
        "_lastUpdated" if chain.is_none() => return clause(ClauseKind::LastUpdated(values)),
        _ => {}
    }
    let Some(def) = registry().get(res_type, name) else {
        return Ok(None);
    };
    if let Some(rest) = chain {
        if def.kind != ParamKind::Reference {
            return Err(bad(format!(
                "'{key}': only reference parameters can be chained"
            )));
        }
        let target_types: Vec<String> = match &modifier {
            Some(t) => vec![t.clone()],
            None => def.targets.clone(),
        };
        let candidates: Vec<String> = target_types
            .into_iter()
            .filter(|t| {
                parse_clause(t, rest, value, depth + 1)
                    .ok()
                    .flatten()
                    .is_some()
            })
            .collect();
        let Some(first) = candidates.first() else {
            return Err(bad(format!(
                "'{key}': no target type of '{name}' has the parameter '{rest}'"
            )));
        };
        let inner = parse_clause(first, rest, value, depth + 1)?
            .ok_or_else(|| bad(format!("'{key}' is not understood")))?;
        return clause(ClauseKind::Chain {
            def,
            target_types: candidates,
            inner: Box::new(inner),
        });
    }
    if modifier.as_deref() == Some("missing") {
        let missing = match value {
            "true" => true,
            "false" => false,
            _ => {
                return Err(bad(format!(
                    "'{key}={value}': :missing takes true or false"
                )))
            }
        };
        return clause(ClauseKind::Missing { def, missing });
    }
    if def.kind == ParamKind::Special {
        return Ok(None);
    }
    check_modifier(def, modifier.as_deref(), key)?;
    clause(ClauseKind::Param {
        def,
        modifier,
        values,
    })
}

fn check_modifier(def: &SearchParamDef, modifier: Option<&str>, key: &str) -> AppResult<()> {
    let Some(modifier) = modifier else {
        return Ok(());
    };
    let allowed: &[&str] = match def.kind {
        ParamKind::String => &["exact", "contains"],
        ParamKind::Token => &["text", "not", "of-type", "below", "above", "in", "not-in"],
        ParamKind::Reference => &["identifier"],
        ParamKind::Uri => &["below", "above"],
        _ => &[],
    };
    let is_type =
        def.kind == ParamKind::Reference && crate::fhir::search_params::is_resource_type(modifier);
    if allowed.contains(&modifier) || is_type {
        Ok(())
    } else {
        Err(bad(format!(
            "'{key}': modifier :{modifier} is not supported for {:?} parameters",
            def.kind
        )))
    }
}

/// Splits an OR list on unescaped commas (`\,` is a literal comma).
pub fn split_or(value: &str) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some(',') | Some('$') | Some('|') | Some('\\')) => {
                let next = chars.next().unwrap_or('\\');
                if next != ',' {
                    out.last_mut().unwrap_or(&mut String::new()).push('\\');
                }
                if let Some(last) = out.last_mut() {
                    last.push(next);
                }
            }
            ',' => out.push(String::new()),
            _ => {
                if let Some(last) = out.last_mut() {
                    last.push(c);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits::default()
    }

    #[test]
    fn configured_limits() {
        let deep = vec![(
            "subject:Patient.general-practitioner:Practitioner.name".to_string(),
            "x".to_string(),
        )];
        let one_deep = Limits {
            max_chain_depth: 1,
            ..limits()
        };
        let err = parse(&["Observation".into()], &deep, &one_deep).unwrap_err();
        assert_eq!(err.to_operation_outcome()["issue"][0]["code"], "too-costly");
        assert!(parse(&["Observation".into()], &deep, &limits()).is_ok());
        let includes = vec![
            ("_include".to_string(), "Observation:subject".to_string()),
            ("_include".to_string(), "Observation:performer".to_string()),
        ];
        let one_include = Limits {
            max_includes: 1,
            ..limits()
        };
        assert!(parse(&["Observation".into()], &includes, &one_include).is_err());
    }

    #[test]
    fn chains_and_has() {
        let pairs = vec![("subject:Patient.name".to_string(), "peter".to_string())];
        let request = parse(&["Observation".into()], &pairs, &limits()).unwrap();
        assert!(matches!(request.clauses[0].kind, ClauseKind::Chain { .. }));
        let pairs = vec![(
            "_has:Observation:patient:code".to_string(),
            "1234".to_string(),
        )];
        let request = parse(&["Patient".into()], &pairs, &limits()).unwrap();
        assert!(matches!(request.clauses[0].kind, ClauseKind::Has { .. }));
    }

    #[test]
    fn unknown_is_ignored_or_refused() {
        let pairs = vec![("nonsense".to_string(), "1".to_string())];
        let request = parse(&["Patient".into()], &pairs, &limits()).unwrap();
        assert_eq!(request.ignored, ["nonsense"]);
        let strict = Limits {
            strict: true,
            ..limits()
        };
        assert!(parse(&["Patient".into()], &pairs, &strict).is_err());
    }

    #[test]
    fn or_lists_keep_escaped_commas() {
        assert_eq!(split_or("a,b\\,c"), ["a", "b,c"]);
    }
}
