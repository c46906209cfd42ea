//! Planning a transaction outside the database transaction: the conditional questions the
//! entries ask, ids for new resources, `urn:uuid:`/`urn:oid:` and conditional references
//! rewritten in every resource, and each write validated and indexed.

use super::local::Local;
use crate::coding::on_write::CodingValidation;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::patch::Patch;
use crate::fhir::references;
use crate::fhir::resource::new_id;
use crate::fhir::transaction::{at_entry, EntryRequest, Method};
use crate::store::conditional::{identifier_criteria, identifier_matches, matches};
use crate::store::write::{prepare, Prepared};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap, HashSet};

/// A conditional question: (resource type, search criteria).
pub type Question = (String, String);
/// The ids each question matched.
pub type Answers = BTreeMap<Question, Vec<String>>;
/// An `identifier=system|value` criterion: (system, value).
type Identifier = (String, String);

/// What one entry will do inside the transaction.
pub enum Action {
    Write {
        prepared: Prepared,
        id: String,
        method: &'static str,
    },
    /// A conditional create found its one match: nothing is written.
    Exists {
        id: String,
    },
    /// None: a conditional delete that matched nothing.
    Delete {
        id: Option<String>,
    },
    Patch {
        id: String,
        patch: Patch,
    },
    Read {
        id: String,
        version: Option<i64>,
    },
}

/// One planned entry.
pub struct Step {
    pub index: usize,
    pub order: u8,
    pub res_type: String,
    pub if_match: Option<i64>,
    pub action: Action,
}

/// Ids of `res_type` resources matching `query`: the one place conditional criteria
/// (ifNoneExist, conditional URLs, conditional references) meet the search engine.
pub fn resolve_criteria(conn: &mut Conn, res_type: &str, query: &str) -> AppResult<Vec<String>> {
    matches(conn, res_type, query)
}

/// Every conditional question the entries ask, with the first entry asking it.
pub fn questions(entries: &[EntryRequest]) -> Vec<(Question, usize)> {
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut ask = |q: Question, index: usize| {
        if seen.insert(q.clone()) {
            out.push((q, index));
        }
    };
    for e in entries {
        if let Some(c) = e
            .if_none_exist
            .as_ref()
            .filter(|_| e.method == Method::Post)
        {
            ask((e.res_type.clone(), c.clone()), e.index);
        }
        if let Some(c) = &e.criteria {
            ask((e.res_type.clone(), c.clone()), e.index);
        }
        if let Some(resource) = &e.resource {
            let mut refs = Vec::new();
            references::collect(resource, &mut refs);
            for r in refs {
                if let Some((t, q)) = references::conditional(r) {
                    ask((t.to_string(), q.to_string()), e.index);
                }
            }
        }
    }
    out
}

/// Runs every question against the database.
/// Questions that are single identifier searches are answered together, per type.
pub fn answer(conn: &mut Conn, questions: &[(Question, usize)]) -> AppResult<Answers> {
    let mut answers = Answers::new();
    let mut by_identifier: BTreeMap<&str, Vec<(&Question, Identifier)>> = BTreeMap::new();
    for (question, index) in questions {
        let (res_type, query) = question;
        match identifier_criteria(res_type, query) {
            Some(identifier) => by_identifier
                .entry(res_type)
                .or_default()
                .push((question, identifier)),
            None => {
                let ids =
                    resolve_criteria(conn, res_type, query).map_err(|e| at_entry(e, *index))?;
                answers.insert(question.clone(), ids);
            }
        }
    }
    for (res_type, asked) in by_identifier {
        let identifiers: Vec<Identifier> = asked.iter().map(|(_, i)| i.clone()).collect();
        let found = identifier_matches(conn, res_type, &identifiers)?;
        for (question, identifier) in asked {
            let ids = found.get(&identifier).cloned().unwrap_or_default();
            answers.insert(question.clone(), ids);
        }
    }
    Ok(answers)
}

fn too_many(res_type: &str, query: &str, n: usize) -> AppError {
    AppError::PreconditionFailed(format!(
        "{n} {res_type} resources match '{query}'; at most one may"
    ))
}

/// The single match of a question (0 → None; several → 412).
fn one(answers: &Answers, res_type: &str, query: &str) -> AppResult<Option<String>> {
    let ids = answers
        .get(&(res_type.to_string(), query.to_string()))
        .map(Vec::as_slice)
        .unwrap_or_default();
    single(ids, res_type, query)
}

/// The single match among stored resources and those the Bundle writes before this entry
/// (only POST-created ones when `posts_only`, as only those exist when a POST runs).
fn one_with_local(
    answers: &Answers,
    local: &Local<'_>,
    res_type: &str,
    query: &str,
    posts_only: bool,
) -> AppResult<Option<String>> {
    let mut ids = answers
        .get(&(res_type.to_string(), query.to_string()))
        .cloned()
        .unwrap_or_default();
    for id in local
        .matching(res_type, query, posts_only)
        .unwrap_or_default()
    {
        if !ids.contains(&id) {
            ids.push(id);
        }
    }
    single(&ids, res_type, query)
}

fn single(ids: &[String], res_type: &str, query: &str) -> AppResult<Option<String>> {
    match ids {
        [] => Ok(None),
        [id] => Ok(Some(id.clone())),
        many => Err(too_many(res_type, query, many.len())),
    }
}

/// Target ids for every entry, then rewritten and prepared resources.
pub fn plan(
    entries: &[EntryRequest],
    answers: &Answers,
    coding: CodingValidation,
) -> AppResult<Vec<Step>> {
    let mut targets: Vec<(Option<String>, bool)> = Vec::with_capacity(entries.len());
    let mut full_urls: HashMap<&str, String> = HashMap::new();
    let mut local = Local::default();
    for e in entries {
        let target = target(e, answers, &local).map_err(|err| at_entry(err, e.index))?;
        if let ((Some(id), false), Some(body)) = (&target, &e.resource) {
            if matches!(e.method, Method::Post | Method::Put) {
                let criteria = e
                    .if_none_exist
                    .as_deref()
                    .filter(|_| e.method == Method::Post);
                local.add(&e.res_type, id, e.method == Method::Post, body, criteria);
            }
        }
        if let (Some(full_url), Some(id)) = (&e.full_url, &target.0) {
            let local = format!("{}/{id}", e.res_type);
            if full_urls.insert(full_url, local).is_some() {
                return Err(at_entry(
                    AppError::invalid(format!("fullUrl {full_url} appears twice in the Bundle")),
                    e.index,
                ));
            }
        }
        targets.push(target);
    }
    let mut touched = HashSet::new();
    let mut steps = Vec::with_capacity(entries.len());
    for (e, (id, exists)) in entries.iter().zip(targets) {
        // a conditional create that found its match writes nothing, so it touches nothing
        if e.method != Method::Get && !exists {
            if let Some(id) = &id {
                if !touched.insert(format!("{}/{id}", e.res_type)) {
                    return Err(at_entry(
                        AppError::invalid(format!(
                            "{}/{id} is the target of more than one entry",
                            e.res_type
                        )),
                        e.index,
                    ));
                }
            }
        }
        let action = action(coding, e, id, exists, &full_urls, answers, &local)
            .map_err(|err| at_entry(err, e.index))?;
        steps.push(Step {
            index: e.index,
            order: e.method.order(),
            res_type: e.res_type.clone(),
            if_match: e.if_match,
            action,
        });
    }
    steps.sort_by_key(|s| s.order);
    Ok(steps)
}

/// The id an entry acts on, and whether a conditional create found it existing (stored,
/// or created by an earlier entry of the Bundle).
fn target(
    e: &EntryRequest,
    answers: &Answers,
    local: &Local<'_>,
) -> AppResult<(Option<String>, bool)> {
    let t = &e.res_type;
    Ok(match e.method {
        Method::Post => match &e.if_none_exist {
            Some(q) => match one_with_local(answers, local, t, q, true)? {
                Some(id) => (Some(id), true),
                None => (Some(new_id()), false),
            },
            None => (Some(new_id()), false),
        },
        Method::Get => (e.id.clone(), false),
        _ => match (&e.id, &e.criteria) {
            (Some(id), _) => (Some(id.clone()), false),
            (None, Some(q)) => match one(answers, t, q)? {
                Some(id) => (Some(id), false),
                None if e.method == Method::Put => (
                    Some(
                        e.resource
                            .as_ref()
                            .and_then(|r| r.get("id"))
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(new_id),
                    ),
                    false,
                ),
                None if e.method == Method::Patch => {
                    return Err(AppError::NotFound(format!("no {t} matches '{q}'")))
                }
                None => (None, false),
            },
            (None, None) => (None, false),
        },
    })
}

fn action(
    coding: CodingValidation,
    e: &EntryRequest,
    id: Option<String>,
    exists: bool,
    full_urls: &HashMap<&str, String>,
    answers: &Answers,
    local: &Local<'_>,
) -> AppResult<Action> {
    let t = &e.res_type;
    let id_or = |id: Option<String>| id.ok_or_else(|| AppError::invalid("the entry names no id"));
    match e.method {
        Method::Get => Ok(Action::Read {
            id: id_or(id)?,
            version: e.version,
        }),
        Method::Delete => Ok(Action::Delete { id }),
        Method::Post if exists => Ok(Action::Exists { id: id_or(id)? }),
        Method::Post | Method::Put | Method::Patch => {
            let id = id_or(id)?;
            let mut body = e.resource.clone().unwrap_or(Value::Null);
            rewrite(&mut body, full_urls, answers, local)?;
            match e.method {
                Method::Patch => Ok(Action::Patch {
                    id,
                    patch: Patch::from_entry_resource(body)?,
                }),
                Method::Post => Ok(Action::Write {
                    prepared: prepare(t, None, body, coding)?,
                    id,
                    method: "POST",
                }),
                _ => {
                    if e.criteria.is_some() {
                        if let Some(body_id) = body.get("id").and_then(Value::as_str) {
                            if body_id != id {
                                return Err(AppError::invalid_at(
                                    format!("the body id '{body_id}' differs from the matching resource '{id}'"),
                                    format!("{t}.id"),
                                ));
                            }
                        }
                        body["id"] = Value::String(id.clone());
                    }
                    Ok(Action::Write {
                        prepared: prepare(t, Some(&id), body, coding)?,
                        id,
                        method: "PUT",
                    })
                }
            }
        }
    }
}

/// Rewrites Bundle-local and conditional references; refuses unknown `urn:` targets
/// and conditional references that do not match exactly one resource (stored, or written
/// by an entry of the Bundle).
fn rewrite(
    body: &mut Value,
    full_urls: &HashMap<&str, String>,
    answers: &Answers,
    local: &Local<'_>,
) -> AppResult<()> {
    let mut refs = Vec::new();
    references::collect(body, &mut refs);
    let mut resolved: HashMap<String, String> = HashMap::new();
    for r in refs {
        if let Some(local) = full_urls.get(r) {
            resolved.insert(r.to_string(), local.clone());
        } else if r.starts_with("urn:uuid:") || r.starts_with("urn:oid:") {
            return Err(AppError::invalid(format!(
                "reference {r} matches no entry's fullUrl in the Bundle"
            )));
        } else if let Some((t, q)) = references::conditional(r) {
            match one_with_local(answers, local, t, q, false)? {
                Some(id) => resolved.insert(r.to_string(), format!("{t}/{id}")),
                None => {
                    return Err(AppError::PreconditionFailed(format!(
                        "conditional reference {r} matches no resource"
                    )))
                }
            };
        }
    }
    if !resolved.is_empty() {
        references::rewrite(body, &|r| resolved.get(r).cloned());
    }
    Ok(())
}
