//! The one error type. Every failure a request can meet is an `AppError`; `http` renders it
//! as an OperationOutcome with the status from [`AppError::status`]. Use:
//! - `NotFound` / `Gone` for missing or deleted resources,
//! - `BadRequest` for input that fails basic FHIR rules (parse, structure, datatypes),
//! - `Unprocessable` for content that breaks business rules (e.g. codes, profiles),
//! - `Internal` for anything the client cannot fix: its detail is logged, never sent.

use crate::fhir::outcome::{operation_outcome, Issue};
use serde_json::Value;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Gone(String),
    #[error("invalid request")]
    BadRequest(Vec<Issue>),
    #[error("unprocessable")]
    Unprocessable(Vec<Issue>),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    PreconditionFailed(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    NotAcceptable(String),
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    ServiceUnavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    /// A 400 with one issue of type `invalid` (optionally located by a FHIRPath expression).
    pub fn invalid(message: impl Into<String>) -> AppError {
        AppError::BadRequest(vec![Issue::error("invalid", message)])
    }

    /// A 400 with one issue of type `too-costly`: a configured request limit was exceeded.
    pub fn too_costly(message: impl Into<String>) -> AppError {
        AppError::BadRequest(vec![Issue::error("too-costly", message)])
    }

    pub fn invalid_at(message: impl Into<String>, expression: impl Into<String>) -> AppError {
        AppError::BadRequest(vec![Issue::error("invalid", message).at(expression)])
    }

    pub fn internal(err: impl std::fmt::Display) -> AppError {
        AppError::Internal(err.to_string())
    }

    /// HTTP status code for this error.
    pub fn status(&self) -> u16 {
        match self {
            AppError::BadRequest(_) => 400,
            AppError::Unauthorized(_) => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound(_) => 404,
            AppError::MethodNotAllowed(_) => 405,
            AppError::NotAcceptable(_) => 406,
            AppError::Conflict(_) => 409,
            AppError::Gone(_) => 410,
            AppError::PreconditionFailed(_) => 412,
            AppError::PayloadTooLarge(_) => 413,
            AppError::UnsupportedMediaType(_) => 415,
            AppError::Unprocessable(_) => 422,
            AppError::ServiceUnavailable(_) => 503,
            AppError::Internal(_) => 500,
        }
    }

    /// FHIR `IssueType` for the single-issue variants.
    fn issue_code(&self) -> &'static str {
        match self {
            AppError::NotFound(_) => "not-found",
            AppError::Gone(_) => "deleted",
            AppError::Conflict(_) => "conflict",
            AppError::PreconditionFailed(_) => "conflict",
            AppError::MethodNotAllowed(_) => "not-supported",
            AppError::UnsupportedMediaType(_) | AppError::NotAcceptable(_) => "not-supported",
            AppError::PayloadTooLarge(_) => "too-costly",
            AppError::Unauthorized(_) => "login",
            AppError::Forbidden(_) => "forbidden",
            AppError::ServiceUnavailable(_) => "transient",
            _ => "exception",
        }
    }

    /// The issues this error reports to the client; internal details are never included.
    pub fn issues(&self) -> Vec<Issue> {
        match self {
            AppError::BadRequest(issues) | AppError::Unprocessable(issues) => issues.clone(),
            AppError::Internal(_) => vec![Issue::error(
                "exception",
                "Internal server error; the request id in the X-Request-Id header identifies it in the server log",
            )],
            other => vec![Issue::error(other.issue_code(), other.to_string())],
        }
    }

    pub fn to_operation_outcome(&self) -> Value {
        operation_outcome(&self.issues())
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(err: diesel::result::Error) -> Self {
        AppError::Internal(format!("database: {err}"))
    }
}
