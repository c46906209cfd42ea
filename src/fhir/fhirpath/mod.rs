//! FHIRPath (N1, as used by FHIR R4) over `serde_json::Value` resources.
//!
//! Owns parsing and evaluation only; it performs no I/O. `resolve()` never
//! fetches: references become placeholders typed by their target type (see
//! [`Item::Resolved`]), contained references resolve inside the resource.
//!
//! Element types come from the embedded R4 element table (declared types,
//! backbone elements typed by path such as `Patient.contact`), choice elements
//! from their suffix (`valueQuantity`), resources from `resourceType`; values
//! outside the model (inside unknown extensions) fall back to a shape guess.
//! Decimals are computed as `f64`; date comparisons of different precision
//! that overlap yield empty, as the specification says.
//!
//! ```ignore
//! let expr = compile("Patient.name.where(use = 'official').family")?;
//! let items = evaluate(&expr, &patient)?;
//! ```

mod ast;
mod compare;
mod eval;
mod functions;
mod item;
mod lexer;
mod model;
mod navigate;
mod parser;
mod resolve;
mod strings;
mod temporal;
#[cfg(test)]
mod tests;

pub use ast::{BinaryOp, Expr, Literal, TypeOp};
pub use compare::item_string;
pub use item::{choice_type, infer_type, type_matches, Item, Node};
pub use resolve::reference_parts;

use serde_json::Value;

/// Why an expression could not be compiled or evaluated.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FhirPathError {
    /// The source text is not valid FHIRPath.
    #[error("FHIRPath syntax error: {0}")]
    Syntax(String),
    /// A valid construct this implementation does not provide.
    #[error("FHIRPath feature not supported: {0}")]
    Unsupported(String),
    /// Evaluation failed (wrong types, several items where one was required).
    #[error("FHIRPath evaluation error: {0}")]
    Type(String),
}

/// Parse an expression once; evaluate it many times with [`evaluate`].
pub fn compile(expr: &str) -> Result<Expr, FhirPathError> {
    parser::parse(expr)
}

/// Evaluate `expr` with `resource` as `%resource`, `%context` and focus.
pub fn evaluate<'a>(expr: &Expr, resource: &'a Value) -> Result<Vec<Item<'a>>, FhirPathError> {
    let focus = vec![Item::node(resource)];
    evaluate_on(expr, focus, resource)
}

/// Evaluate `expr` with `focus` as input collection inside `resource`
/// (used for composite search-parameter components).
pub fn evaluate_on<'a>(
    expr: &Expr,
    focus: Vec<Item<'a>>,
    resource: &'a Value,
) -> Result<Vec<Item<'a>>, FhirPathError> {
    let env = eval::Env {
        resource,
        context: focus.clone(),
    };
    let scope = eval::Scope {
        this: focus.first().cloned(),
        ..Default::default()
    };
    eval::eval(&env, expr, &focus, &scope)
}

/// Official R4 examples from `FHIR_EXAMPLES_DIR`, loaded once (tests only).
#[cfg(test)]
pub(crate) fn test_examples() -> Option<&'static [Value]> {
    tests::EXAMPLES.as_deref()
}

/// Convenience: compile and evaluate in one step.
pub fn eval_str<'a>(expr: &str, resource: &'a Value) -> Result<Vec<Item<'a>>, FhirPathError> {
    evaluate(&compile(expr)?, resource)
}
