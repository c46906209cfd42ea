//! Precedence-climbing parser from tokens to [`Expr`]. Follows the operator
//! table of the FHIRPath N1 specification.

use super::ast::{BinaryOp, Expr, Literal, TypeOp};
use super::lexer::{tokenize, Token};
use super::FhirPathError;

const CALENDAR_UNITS: [&str; 16] = [
    "year",
    "years",
    "month",
    "months",
    "week",
    "weeks",
    "day",
    "days",
    "hour",
    "hours",
    "minute",
    "minutes",
    "second",
    "seconds",
    "millisecond",
    "milliseconds",
];

/// Parse FHIRPath source text into an expression tree.
pub fn parse(src: &str) -> Result<Expr, FhirPathError> {
    let tokens = tokenize(src)?;
    if tokens.len() > MAX_TOKENS {
        return Err(FhirPathError::Syntax("expression too long".into()));
    }
    let mut parser = Parser {
        tokens,
        pos: 0,
        depth: 0,
    };
    let expr = parser.expression(0)?;
    if parser.pos < parser.tokens.len() {
        return Err(FhirPathError::Syntax(format!(
            "unexpected token {:?}",
            parser.tokens[parser.pos]
        )));
    }
    Ok(expr)
}

/// Nesting and length limits, so hostile input cannot exhaust the stack
/// (the longest official R4 search expression has about 300 tokens).
const MAX_DEPTH: usize = 128;
const MAX_TOKENS: usize = 2048;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    depth: usize,
}

/// Infix operator at the current position with its binding power.
enum Infix {
    Binary(BinaryOp, u8),
    Type(TypeOp, u8),
}

impl Parser {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos)
    }

    fn next(&mut self) -> Option<Token> {
        let token = self.tokens.get(self.pos).cloned();
        self.pos += 1;
        token
    }

    fn expect_op(&mut self, op: &str) -> Result<(), FhirPathError> {
        match self.next() {
            Some(Token::Op(found)) if found == op => Ok(()),
            other => Err(FhirPathError::Syntax(format!(
                "expected '{op}', found {other:?}"
            ))),
        }
    }

    fn peek_is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Some(Token::Op(found)) if *found == op)
    }

    fn infix(&self) -> Option<Infix> {
        use BinaryOp::*;
        let binary = match self.peek()? {
            Token::Op(op) => match *op {
                "=" => (Equal, 5),
                "~" => (Equivalent, 5),
                "!=" => (NotEqual, 5),
                "!~" => (NotEquivalent, 5),
                "<" => (Less, 6),
                "<=" => (LessOrEqual, 6),
                ">" => (Greater, 6),
                ">=" => (GreaterOrEqual, 6),
                "|" => (Union, 7),
                "+" => (Add, 9),
                "-" => (Subtract, 9),
                "&" => (Concat, 9),
                "*" => (Multiply, 10),
                "/" => (Divide, 10),
                _ => return None,
            },
            Token::Ident(word) => match word.as_str() {
                "implies" => (Implies, 1),
                "or" => (Or, 2),
                "xor" => (Xor, 2),
                "and" => (And, 3),
                "in" => (In, 4),
                "contains" => (Contains, 4),
                "div" => (Div, 10),
                "mod" => (Mod, 10),
                "is" => return Some(Infix::Type(TypeOp::Is, 8)),
                "as" => return Some(Infix::Type(TypeOp::As, 8)),
                _ => return None,
            },
            _ => return None,
        };
        Some(Infix::Binary(binary.0, binary.1))
    }

    fn expression(&mut self, min_power: u8) -> Result<Expr, FhirPathError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(FhirPathError::Syntax("expression nested too deeply".into()));
        }
        let result = self.binary_chain(min_power);
        self.depth -= 1;
        result
    }

    fn binary_chain(&mut self, min_power: u8) -> Result<Expr, FhirPathError> {
        let mut left = self.prefix()?;
        while let Some(infix) = self.infix() {
            match infix {
                Infix::Binary(op, power) if power > min_power => {
                    self.pos += 1;
                    let right = self.expression(power)?;
                    left = Expr::Binary(op, Box::new(left), Box::new(right));
                }
                Infix::Type(op, power) if power > min_power => {
                    self.pos += 1;
                    let name = self.type_specifier()?;
                    left = Expr::Type(op, Box::new(left), name);
                }
                _ => break,
            }
        }
        Ok(left)
    }

    /// `Name` or `Namespace.Name`; returns the unqualified name.
    fn type_specifier(&mut self) -> Result<String, FhirPathError> {
        let mut name = match self.next() {
            Some(Token::Ident(name)) => name,
            other => {
                return Err(FhirPathError::Syntax(format!(
                    "expected type, found {other:?}"
                )))
            }
        };
        if self.peek_is_op(".") {
            if let Some(Token::Ident(inner)) = self.tokens.get(self.pos + 1) {
                name = inner.clone();
                self.pos += 2;
            }
        }
        Ok(name)
    }

    fn prefix(&mut self) -> Result<Expr, FhirPathError> {
        if self.peek_is_op("-") {
            self.pos += 1;
            let operand = self.expression(11)?;
            return Ok(Expr::Negate(Box::new(operand)));
        }
        if self.peek_is_op("+") {
            self.pos += 1;
            return self.expression(11);
        }
        let term = self.term()?;
        self.postfix(term)
    }

    fn postfix(&mut self, mut expr: Expr) -> Result<Expr, FhirPathError> {
        loop {
            if self.peek_is_op(".") {
                self.pos += 1;
                let name = match self.next() {
                    Some(Token::Ident(name)) => name,
                    other => {
                        return Err(FhirPathError::Syntax(format!(
                            "expected name after '.', found {other:?}"
                        )))
                    }
                };
                if self.peek_is_op("(") {
                    let args = self.arguments()?;
                    expr = Expr::Call(Some(Box::new(expr)), name, args);
                } else {
                    expr = Expr::Member(Box::new(expr), name);
                }
            } else if self.peek_is_op("[") {
                self.pos += 1;
                let index = self.expression(0)?;
                self.expect_op("]")?;
                expr = Expr::Indexer(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, FhirPathError> {
        self.expect_op("(")?;
        let mut args = Vec::new();
        if self.peek_is_op(")") {
            self.pos += 1;
            return Ok(args);
        }
        loop {
            args.push(self.expression(0)?);
            match self.next() {
                Some(Token::Op(",")) => continue,
                Some(Token::Op(")")) => return Ok(args),
                other => {
                    return Err(FhirPathError::Syntax(format!(
                        "expected ',' or ')', found {other:?}"
                    )))
                }
            }
        }
    }

    fn term(&mut self) -> Result<Expr, FhirPathError> {
        let token = self
            .next()
            .ok_or_else(|| FhirPathError::Syntax("unexpected end of expression".into()))?;
        match token {
            Token::Op("(") => {
                let inner = self.expression(0)?;
                self.expect_op(")")?;
                Ok(inner)
            }
            Token::Op("{") => {
                self.expect_op("}")?;
                Ok(Expr::Empty)
            }
            Token::Str(s) => Ok(Expr::Literal(Literal::String(s))),
            Token::Number(text) => self.number(text),
            Token::DateTime(text) => Ok(Expr::Literal(date_literal(text))),
            Token::Env(name) => Ok(Expr::Env(name)),
            Token::Special(name) => match name.as_str() {
                "this" => Ok(Expr::This),
                "index" => Ok(Expr::IndexVar),
                "total" => Ok(Expr::Total),
                _ => Err(FhirPathError::Syntax(format!("unknown variable ${name}"))),
            },
            Token::Ident(name) => {
                if self.peek_is_op("(") {
                    let args = self.arguments()?;
                    return Ok(Expr::Call(None, name, args));
                }
                match name.as_str() {
                    "true" => Ok(Expr::Literal(Literal::Boolean(true))),
                    "false" => Ok(Expr::Literal(Literal::Boolean(false))),
                    _ => Ok(Expr::Identifier(name)),
                }
            }
            other => Err(FhirPathError::Syntax(format!("unexpected token {other:?}"))),
        }
    }

    fn number(&mut self, text: String) -> Result<Expr, FhirPathError> {
        let value: f64 = text
            .parse()
            .map_err(|_| FhirPathError::Syntax(format!("bad number {text}")))?;
        let unit = match self.peek() {
            Some(Token::Str(unit)) => Some(unit.clone()),
            Some(Token::Ident(word)) if CALENDAR_UNITS.contains(&word.as_str()) => {
                Some(word.clone())
            }
            _ => None,
        };
        if let Some(unit) = unit {
            self.pos += 1;
            return Ok(Expr::Literal(Literal::Quantity(value, unit)));
        }
        if text.contains('.') {
            Ok(Expr::Literal(Literal::Decimal(value)))
        } else {
            text.parse::<i64>()
                .map(|i| Expr::Literal(Literal::Integer(i)))
                .map_err(|_| FhirPathError::Syntax(format!("integer out of range {text}")))
        }
    }
}

fn date_literal(text: String) -> Literal {
    if let Some(time) = text.strip_prefix('T') {
        Literal::Time(time.to_string())
    } else if text.contains('T') {
        Literal::DateTime(text)
    } else {
        Literal::Date(text)
    }
}
