//! Syntax tree of a compiled FHIRPath expression. Pure data; the parser builds
//! it and the evaluator walks it.

/// A literal value written in the expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `true` / `false`.
    Boolean(bool),
    /// `'text'`.
    String(String),
    /// `42`.
    Integer(i64),
    /// `4.5` (kept with its source text for precision).
    Decimal(f64),
    /// `@2020-01-01` (date only).
    Date(String),
    /// `@2020-01-01T10:00:00Z`.
    DateTime(String),
    /// `@T10:00`.
    Time(String),
    /// `5 'mg'` or `3 days`.
    Quantity(f64, String),
}

/// Binary operators, from loosest to tightest binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Implies,
    Or,
    Xor,
    And,
    In,
    Contains,
    Equal,
    Equivalent,
    NotEqual,
    NotEquivalent,
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
    Union,
    Add,
    Subtract,
    Concat,
    Multiply,
    Divide,
    Div,
    Mod,
}

/// `is` / `as` type operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TypeOp {
    Is,
    As,
}

/// A compiled FHIRPath expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `{}`.
    Empty,
    Literal(Literal),
    /// `%resource`, `%context`, `%ucum`, ...
    Env(String),
    /// `$this`.
    This,
    /// `$index`.
    IndexVar,
    /// `$total`.
    Total,
    /// A name at the start of a path: a resource type filter or a child element.
    Identifier(String),
    /// `focus.name`.
    Member(Box<Expr>, String),
    /// `focus.name(args)`; `focus` is `None` for a call at the start of a term.
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    /// `focus[index]`.
    Indexer(Box<Expr>, Box<Expr>),
    /// Unary minus.
    Negate(Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `focus is Type` / `focus as Type` (type name unqualified).
    Type(TypeOp, Box<Expr>, String),
}

impl Expr {
    /// The type name written as a function argument (`ofType(FHIR.Quantity)` -> `Quantity`).
    pub fn as_type_name(&self) -> Option<&str> {
        match self {
            Expr::Identifier(name) => Some(name),
            Expr::Member(base, name) if matches!(**base, Expr::Identifier(_)) => Some(name),
            _ => None,
        }
    }
}
