//! The FHIRPath function library: existence, filtering, subsetting, type,
//! conversion, navigation and FHIR-specific functions (`resolve`, `extension`).
//! String functions live in `strings`.

use serde_json::Value;

use super::ast::Expr;
use super::compare::{equal, item_string};
use super::eval::{eval, single, to_bool, Collection, Env, Scope};
use super::item::{Item, Node};
use super::{navigate, resolve, strings, FhirPathError};

/// Dispatch a function call on `input`; arguments see the caller's `focus`.
pub fn call<'a>(
    env: &Env<'a>,
    name: &str,
    args: &[Expr],
    input: Collection<'a>,
    focus: &[Item<'a>],
    scope: &Scope<'a>,
) -> Result<Collection<'a>, FhirPathError> {
    let arg = |i: usize| -> Result<Collection<'a>, FhirPathError> {
        match args.get(i) {
            Some(expr) => eval(env, expr, focus, scope),
            None => Err(FhirPathError::Type(format!(
                "{name}() needs argument {}",
                i + 1
            ))),
        }
    };
    let int_arg = |i: usize| -> Result<Option<i64>, FhirPathError> {
        Ok(match single(&arg(i)?)? {
            Some(Item::Integer(n)) => Some(*n),
            Some(item) => item.json().and_then(Value::as_i64),
            None => None,
        })
    };
    let type_arg = || -> Result<&str, FhirPathError> {
        args.first()
            .and_then(Expr::as_type_name)
            .ok_or_else(|| FhirPathError::Type(format!("{name}() needs a type name")))
    };
    let boolean = |b: bool| Ok(vec![Item::Boolean(b)]);
    match name {
        "empty" => boolean(input.is_empty()),
        "exists" => match args.first() {
            None => boolean(!input.is_empty()),
            Some(criteria) => boolean(!filter(env, criteria, input)?.is_empty()),
        },
        "hasValue" => boolean(matches!(single(&input)?, Some(i) if has_value(i))),
        "not" => Ok(to_bool(&input)?
            .map(|b| Item::Boolean(!b))
            .into_iter()
            .collect()),
        "all" => {
            let criteria = args
                .first()
                .ok_or_else(|| FhirPathError::Type("all() needs criteria".into()))?;
            let total = input.len();
            boolean(filter(env, criteria, input)?.len() == total)
        }
        "allTrue" => boolean(input.iter().all(|i| truthy(i) == Some(true))),
        "anyTrue" => boolean(input.iter().any(|i| truthy(i) == Some(true))),
        "allFalse" => boolean(input.iter().all(|i| truthy(i) == Some(false))),
        "anyFalse" => boolean(input.iter().any(|i| truthy(i) == Some(false))),
        "count" => Ok(vec![Item::Integer(input.len() as i64)]),
        "distinct" => Ok(distinct(input)),
        "isDistinct" => {
            let total = input.len();
            boolean(distinct(input).len() == total)
        }
        "subsetOf" | "supersetOf" => {
            let other = arg(0)?;
            let (small, big) = if name == "subsetOf" {
                (&input, &other)
            } else {
                (&other, &input)
            };
            boolean(
                small
                    .iter()
                    .all(|a| big.iter().any(|b| equal(a, b) == Some(true))),
            )
        }
        "where" => {
            let criteria = args
                .first()
                .ok_or_else(|| FhirPathError::Type("where() needs criteria".into()))?;
            filter(env, criteria, input)
        }
        "select" => {
            let projection = args
                .first()
                .ok_or_else(|| FhirPathError::Type("select() needs an expression".into()))?;
            let mut out = Vec::new();
            for (i, item) in input.iter().enumerate() {
                out.extend(eval(
                    env,
                    projection,
                    std::slice::from_ref(item),
                    &item_scope(item, i),
                )?);
            }
            Ok(out)
        }
        "repeat" => {
            let projection = args
                .first()
                .ok_or_else(|| FhirPathError::Type("repeat() needs an expression".into()))?;
            repeat(input, |item| {
                eval(
                    env,
                    projection,
                    std::slice::from_ref(item),
                    &item_scope(item, 0),
                )
            })
        }
        "iif" => {
            let condition = match args.first() {
                Some(c) => to_bool(&eval(env, c, &input, scope)?)?,
                None => return Err(FhirPathError::Type("iif() needs a condition".into())),
            };
            match (condition, args.get(1), args.get(2)) {
                (Some(true), Some(then), _) => eval(env, then, &input, scope),
                (_, _, Some(otherwise)) if condition != Some(true) => {
                    eval(env, otherwise, &input, scope)
                }
                _ => Ok(Vec::new()),
            }
        }
        "ofType" | "as" => {
            let wanted = type_arg()?;
            Ok(input.into_iter().filter(|i| i.is_type(wanted)).collect())
        }
        "is" => {
            let wanted = type_arg()?;
            Ok(single(&input)?
                .map(|i| Item::Boolean(i.is_type(wanted)))
                .into_iter()
                .collect())
        }
        "first" => Ok(input.into_iter().take(1).collect()),
        "last" => Ok(input.last().cloned().into_iter().collect()),
        "tail" => Ok(input.into_iter().skip(1).collect()),
        "single" => Ok(single(&input)?.cloned().into_iter().collect()),
        "skip" => {
            let n = int_arg(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().skip(n).collect())
        }
        "take" => {
            let n = int_arg(0)?.unwrap_or(0).max(0) as usize;
            Ok(input.into_iter().take(n).collect())
        }
        "union" => {
            let mut out = input;
            out.extend(arg(0)?);
            Ok(distinct(out))
        }
        "combine" => {
            let mut out = input;
            out.extend(arg(0)?);
            Ok(out)
        }
        "intersect" => {
            let other = arg(0)?;
            let kept = input
                .into_iter()
                .filter(|a| other.iter().any(|b| equal(a, b) == Some(true)));
            Ok(distinct(kept.collect()))
        }
        "exclude" => {
            let other = arg(0)?;
            Ok(input
                .into_iter()
                .filter(|a| !other.iter().any(|b| equal(a, b) == Some(true)))
                .collect())
        }
        "children" => {
            let mut out = Vec::new();
            navigate::children(&input, &mut out);
            Ok(out)
        }
        "descendants" => repeat(input, |item| {
            let mut out = Vec::new();
            navigate::children(std::slice::from_ref(item), &mut out);
            Ok(out)
        }),
        "extension" => {
            let url = single(&arg(0)?)?.and_then(item_string);
            Ok(extensions(&input, url.as_deref()))
        }
        "resolve" => Ok(input
            .iter()
            .filter_map(|i| resolve::resolve(env.resource, i))
            .collect()),
        "trace" => Ok(input),
        "today" => Ok(vec![Item::Date(
            chrono::Utc::now().format("%Y-%m-%d").to_string(),
        )]),
        "now" => Ok(vec![Item::DateTime(chrono::Utc::now().to_rfc3339())]),
        _ => strings::call(name, &input, args.len(), &arg),
    }
}

fn item_scope<'a>(item: &Item<'a>, index: usize) -> Scope<'a> {
    Scope {
        this: Some(item.clone()),
        index: Some(index),
        total: None,
    }
}

/// Items for which `criteria` is true, each evaluated as `$this`.
fn filter<'a>(
    env: &Env<'a>,
    criteria: &Expr,
    input: Collection<'a>,
) -> Result<Collection<'a>, FhirPathError> {
    let mut out = Vec::new();
    for (i, item) in input.into_iter().enumerate() {
        let result = eval(
            env,
            criteria,
            std::slice::from_ref(&item),
            &item_scope(&item, i),
        )?;
        if to_bool(&result)? == Some(true) {
            out.push(item);
        }
    }
    Ok(out)
}

fn truthy(item: &Item) -> Option<bool> {
    match item {
        Item::Boolean(b) => Some(*b),
        Item::Node(node) => node.value.and_then(Value::as_bool),
        _ => None,
    }
}

fn has_value(item: &Item) -> bool {
    match item {
        Item::Node(node) => matches!(
            node.value,
            Some(Value::String(_) | Value::Number(_) | Value::Bool(_))
        ),
        Item::Resolved { .. } => false,
        _ => true,
    }
}

fn distinct(input: Collection) -> Collection {
    let mut out: Collection = Vec::with_capacity(input.len());
    for item in input {
        if !out.iter().any(|o| equal(o, &item) == Some(true)) {
            out.push(item);
        }
    }
    out
}

/// Apply `step` repeatedly, collecting new items until none appear (bounded).
fn repeat<'a>(
    input: Collection<'a>,
    mut step: impl FnMut(&Item<'a>) -> Result<Collection<'a>, FhirPathError>,
) -> Result<Collection<'a>, FhirPathError> {
    const LIMIT: usize = 100_000;
    let mut out = Vec::new();
    let mut frontier = input;
    while !frontier.is_empty() {
        let mut next = Vec::new();
        for item in &frontier {
            next.extend(step(item)?);
        }
        out.extend(next.iter().cloned());
        if out.len() > LIMIT {
            return Err(FhirPathError::Type(
                "repeat() produced too many items".into(),
            ));
        }
        frontier = next;
    }
    Ok(out)
}

/// `extension(url)`: extensions of elements and of primitives (`_name` siblings).
fn extensions<'a>(input: &[Item<'a>], url: Option<&str>) -> Collection<'a> {
    let mut out = Vec::new();
    for item in input {
        let Item::Node(node) = item else { continue };
        let holders = [node.value, node.extra];
        for holder in holders.into_iter().flatten() {
            let Some(list) = holder.get("extension").and_then(Value::as_array) else {
                continue;
            };
            for ext in list {
                if url.is_none() || ext.get("url").and_then(Value::as_str) == url {
                    out.push(Item::Node(Node {
                        value: Some(ext),
                        extra: None,
                        type_name: Some("Extension"),
                        binding: None,
                    }));
                }
            }
        }
    }
    out
}
