//! Tree-walking evaluator: paths, literals, variables and operators. Function
//! calls are delegated to `functions`.

use serde_json::Value;

use super::ast::{BinaryOp, Expr, Literal, TypeOp};
use super::compare::{arithmetic, compare, equal, equivalent, item_string};
use super::item::Item;
use super::{functions, navigate, FhirPathError};

/// Evaluation environment shared by a whole evaluation.
pub struct Env<'a> {
    /// `%resource` / `%rootResource`.
    pub resource: &'a Value,
    /// `%context`: the evaluation's starting focus.
    pub context: Vec<Item<'a>>,
}

/// `$this`, `$index`, `$total` inside function arguments.
#[derive(Clone, Default)]
pub struct Scope<'a> {
    pub this: Option<Item<'a>>,
    pub index: Option<usize>,
    pub total: Option<Vec<Item<'a>>>,
}

pub type Collection<'a> = Vec<Item<'a>>;

/// Evaluate `expr` with `focus` as input collection.
pub fn eval<'a>(
    env: &Env<'a>,
    expr: &Expr,
    focus: &[Item<'a>],
    scope: &Scope<'a>,
) -> Result<Collection<'a>, FhirPathError> {
    match expr {
        Expr::Empty => Ok(Vec::new()),
        Expr::Literal(lit) => Ok(vec![literal(lit)]),
        Expr::Env(name) => environment(env, name),
        Expr::This => Ok(scope.this.iter().cloned().collect()),
        Expr::IndexVar => Ok(scope
            .index
            .map(|i| Item::Integer(i as i64))
            .into_iter()
            .collect()),
        Expr::Total => Ok(scope.total.clone().unwrap_or_default()),
        Expr::Identifier(name) => Ok(identifier(focus, name)),
        Expr::Member(base, name) => {
            let base = eval(env, base, focus, scope)?;
            let mut out = Vec::new();
            navigate::members(&base, name, &mut out);
            Ok(out)
        }
        Expr::Call(base, name, args) => {
            let input = match base {
                Some(base) => eval(env, base, focus, scope)?,
                None => focus.to_vec(),
            };
            functions::call(env, name, args, input, focus, scope)
        }
        Expr::Indexer(base, index) => {
            let base = eval(env, base, focus, scope)?;
            let index = eval(env, index, focus, scope)?;
            match index.as_slice() {
                [Item::Integer(i)] => Ok(usize::try_from(*i)
                    .ok()
                    .and_then(|i| base.get(i).cloned())
                    .into_iter()
                    .collect()),
                [] => Ok(Vec::new()),
                _ => Err(FhirPathError::Type("indexer must be an integer".into())),
            }
        }
        Expr::Negate(operand) => {
            let value = eval(env, operand, focus, scope)?;
            match single(&value)? {
                None => Ok(Vec::new()),
                Some(item) => Ok(arithmetic('*', &Item::Integer(-1), item)?
                    .into_iter()
                    .collect()),
            }
        }
        Expr::Type(op, operand, type_name) => {
            let value = eval(env, operand, focus, scope)?;
            Ok(type_operator(*op, value, type_name)?)
        }
        Expr::Binary(op, left, right) => binary(env, *op, left, right, focus, scope),
    }
}

fn literal<'a>(lit: &Literal) -> Item<'a> {
    match lit {
        Literal::Boolean(b) => Item::Boolean(*b),
        Literal::String(s) => Item::String(s.clone()),
        Literal::Integer(i) => Item::Integer(*i),
        Literal::Decimal(d) => Item::Decimal(*d),
        Literal::Date(s) => Item::Date(s.clone()),
        Literal::DateTime(s) => Item::DateTime(s.clone()),
        Literal::Time(s) => Item::Time(s.clone()),
        Literal::Quantity(v, u) => Item::Quantity(*v, u.clone()),
    }
}

fn environment<'a>(env: &Env<'a>, name: &str) -> Result<Collection<'a>, FhirPathError> {
    let text = |s: &str| Ok(vec![Item::String(s.to_string())]);
    match name {
        "resource" | "rootResource" => Ok(vec![Item::node(env.resource)]),
        "context" => Ok(env.context.clone()),
        "ucum" => text("http://unitsofmeasure.org"),
        "sct" => text("http://snomed.info/sct"),
        "loinc" => text("http://loinc.org"),
        other => Err(FhirPathError::Unsupported(format!(
            "environment variable %{other}"
        ))),
    }
}

/// A name at the start of a path: filters resources by type (`Patient.name` on
/// a Patient), otherwise navigates to child elements of the focus.
fn identifier<'a>(focus: &[Item<'a>], name: &str) -> Collection<'a> {
    if name.starts_with(|c: char| c.is_ascii_uppercase()) {
        let typed: Vec<Item<'a>> = focus
            .iter()
            .filter(|item| match item {
                Item::Node(node) => node
                    .value
                    .and_then(|v| v.get("resourceType"))
                    .and_then(Value::as_str)
                    .is_some_and(|t| super::item::type_matches(t, name)),
                _ => false,
            })
            .cloned()
            .collect();
        if !typed.is_empty() {
            return typed;
        }
    }
    let mut out = Vec::new();
    navigate::members(focus, name, &mut out);
    out
}

/// The single item of a collection, `None` if empty, error if several.
pub fn single<'b, 'a>(items: &'b [Item<'a>]) -> Result<Option<&'b Item<'a>>, FhirPathError> {
    match items {
        [] => Ok(None),
        [one] => Ok(Some(one)),
        _ => Err(FhirPathError::Type(format!(
            "expected a single item, found {}",
            items.len()
        ))),
    }
}

/// Collection to three-valued boolean (singleton evaluation rules).
pub fn to_bool(items: &[Item]) -> Result<Option<bool>, FhirPathError> {
    Ok(match single(items)? {
        None => None,
        Some(Item::Boolean(b)) => Some(*b),
        Some(Item::Node(node)) => match node.value {
            Some(Value::Bool(b)) => Some(*b),
            _ => Some(true),
        },
        Some(_) => Some(true),
    })
}

fn type_operator<'a>(
    op: TypeOp,
    value: Collection<'a>,
    type_name: &str,
) -> Result<Collection<'a>, FhirPathError> {
    match op {
        // `as` filters: R4 search expressions apply it to whole collections.
        TypeOp::As => Ok(value.into_iter().filter(|i| i.is_type(type_name)).collect()),
        TypeOp::Is => Ok(single(&value)?
            .map(|item| Item::Boolean(item.is_type(type_name)))
            .into_iter()
            .collect()),
    }
}

fn boolean<'a>(value: Option<bool>) -> Collection<'a> {
    value.map(Item::Boolean).into_iter().collect()
}

fn binary<'a>(
    env: &Env<'a>,
    op: BinaryOp,
    left: &Expr,
    right: &Expr,
    focus: &[Item<'a>],
    scope: &Scope<'a>,
) -> Result<Collection<'a>, FhirPathError> {
    use BinaryOp::*;
    let l = eval(env, left, focus, scope)?;
    let r = eval(env, right, focus, scope)?;
    match op {
        Union => Ok(union(l, r)),
        And | Or | Xor | Implies => {
            let (a, b) = (to_bool(&l)?, to_bool(&r)?);
            Ok(boolean(match op {
                And => match (a, b) {
                    (Some(false), _) | (_, Some(false)) => Some(false),
                    (Some(true), Some(true)) => Some(true),
                    _ => None,
                },
                Or => match (a, b) {
                    (Some(true), _) | (_, Some(true)) => Some(true),
                    (Some(false), Some(false)) => Some(false),
                    _ => None,
                },
                Xor => a.zip(b).map(|(a, b)| a != b),
                _ => match (a, b) {
                    (Some(false), _) | (_, Some(true)) => Some(true),
                    (Some(true), Some(false)) => Some(false),
                    _ => None,
                },
            }))
        }
        Equal | NotEqual => {
            if l.is_empty() || r.is_empty() {
                return Ok(Vec::new());
            }
            let same =
                l.len() == r.len() && l.iter().zip(&r).all(|(a, b)| equal(a, b) == Some(true));
            Ok(boolean(Some(same == (op == Equal))))
        }
        Equivalent | NotEquivalent => {
            let same = l.len() == r.len() && l.iter().all(|a| r.iter().any(|b| equivalent(a, b)));
            Ok(boolean(Some(same == (op == Equivalent))))
        }
        Less | LessOrEqual | Greater | GreaterOrEqual => {
            let (Some(a), Some(b)) = (single(&l)?, single(&r)?) else {
                return Ok(Vec::new());
            };
            Ok(boolean(compare(a, b)?.map(|ord| match op {
                Less => ord.is_lt(),
                LessOrEqual => ord.is_le(),
                Greater => ord.is_gt(),
                _ => ord.is_ge(),
            })))
        }
        In | Contains => {
            let (needle, haystack) = if op == In { (&l, &r) } else { (&r, &l) };
            let Some(needle) = single(needle)? else {
                return Ok(Vec::new());
            };
            Ok(boolean(Some(
                haystack.iter().any(|h| equal(needle, h) == Some(true)),
            )))
        }
        Concat => {
            let text = |c: &[Item]| -> Result<String, FhirPathError> {
                Ok(single(c)?.and_then(item_string).unwrap_or_default())
            };
            Ok(vec![Item::String(text(&l)? + &text(&r)?)])
        }
        Add | Subtract | Multiply | Divide | Div | Mod => {
            let (Some(a), Some(b)) = (single(&l)?, single(&r)?) else {
                return Ok(Vec::new());
            };
            let symbol = match op {
                Add => '+',
                Subtract => '-',
                Multiply => '*',
                Divide => '/',
                Div => 'd',
                _ => 'm',
            };
            Ok(arithmetic(symbol, a, b)?.into_iter().collect())
        }
    }
}

/// `a | b`: both collections without repeats (an item equal to one already
/// kept, and of the same kind, is dropped).
fn union<'a>(left: Collection<'a>, right: Collection<'a>) -> Collection<'a> {
    let mut out = left;
    for item in right {
        if !out
            .iter()
            .any(|o| equal(o, &item) == Some(true) && o == &item)
        {
            out.push(item);
        }
    }
    out
}
