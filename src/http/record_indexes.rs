//! The records-room registers: `GET /fhir/$disease-index`, `$procedure-index` and
//! `$physician-index` (parameters `code`, `period-start`, `period-end`, `practitioner`,
//! `_count`, `_offset`, `_format=csv`), answered as a searchset Bundle or CSV.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs};
use super::response::{fhir, format_of};
use super::AppState;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::records::indexes::{self, IndexKind, IndexRequest};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// True when the caller asks for CSV (`_format=csv` or `text/csv`, or `Accept: text/csv`).
pub fn wants_csv(req: &HttpRequest) -> bool {
    let pairs = query_pairs(req);
    if let Some((_, value)) = pairs.iter().find(|(n, _)| n == "_format") {
        return matches!(value.as_str(), "csv" | "text/csv");
    }
    super::request::header(req, "Accept").is_some_and(|a| a.trim().starts_with("text/csv"))
}

/// A CSV body (`text/csv`, with a download file name).
pub fn csv_response(name: &str, text: String) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!("attachment; filename=\"{name}.csv\""),
        ))
        .body(text)
}

async fn index(
    req: HttpRequest,
    state: web::Data<AppState>,
    kind: IndexKind,
) -> AppResult<HttpResponse> {
    let csv = wants_csv(&req);
    let format = if csv {
        Default::default()
    } else {
        format_of(&req)?
    };
    let principal = super::auth::principal(&req);
    // the middleware checked the index's own type; the physician index also lists these
    if kind == IndexKind::Physician {
        for t in ["Condition", "Procedure"] {
            if !principal.may(t, Action::Search) {
                return Err(AppError::Forbidden(format!(
                    "the physician index lists {t} records; the token may not search them"
                )));
            }
        }
    }
    let access = super::auth::access(&req, "Condition", Action::Search);
    let config = &state.store.config;
    let request = IndexRequest::from_pairs(
        kind,
        &query_pairs(&req),
        config.default_count,
        config.max_count,
        csv,
    )?;
    let store = state.store.clone();
    let base = state.base_url(&req);
    let body = blocking(move || {
        let page = indexes::run(&store, &access, request)?;
        Ok(if csv {
            Rendered::Csv(page.to_csv())
        } else {
            Rendered::Json(page.to_bundle(&store, &base)?)
        })
    })
    .await?;
    Ok(match body {
        Rendered::Json(bundle) => fhir(StatusCode::OK, &bundle, format),
        Rendered::Csv(text) => csv_response(kind.operation().trim_start_matches('$'), text),
    })
}

/// An index page rendered as the caller asked.
enum Rendered {
    Json(serde_json::Value),
    Csv(String),
}

/// Registers the three indexes (before the generic `/{type}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    [
        ("/$disease-index", IndexKind::Disease),
        ("/$procedure-index", IndexKind::Procedure),
        ("/$physician-index", IndexKind::Physician),
    ]
    .into_iter()
    .fold(scope, |scope, (path, kind)| {
        scope.service(
            super::resource(path).route(
                web::get().to(move |req: HttpRequest, state: web::Data<AppState>| {
                    index(req, state, kind)
                }),
            ),
        )
    })
}

const PERIOD_START: ParamDoc = ParamDoc {
    name: "period-start",
    location: ParamIn::Query,
    required: false,
    kind: "date",
    description: "first day of the period (admission date of the encounter, or performance date)",
};
const PERIOD_END: ParamDoc = ParamDoc {
    name: "period-end",
    location: ParamIn::Query,
    required: false,
    kind: "date",
    description: "last day of the period",
};

/// `_count`, shared with the MPI report.
pub const COUNT: ParamDoc = ParamDoc {
    name: "_count",
    location: ParamIn::Query,
    required: false,
    kind: "integer",
    description: "rows per page (CSV: all rows when absent)",
};
/// `_offset`, shared with the MPI report.
pub const OFFSET: ParamDoc = ParamDoc {
    name: "_offset",
    location: ParamIn::Query,
    required: false,
    kind: "integer",
    description: "rows to skip (the next link carries it)",
};
/// `_format=csv`, shared with the MPI report.
pub const FORMAT: ParamDoc = ParamDoc {
    name: "_format",
    location: ParamIn::Query,
    required: false,
    kind: "string",
    description: "csv for a CSV export; JSON otherwise",
};

const fn code_param(description: &'static str) -> ParamDoc {
    ParamDoc {
        name: "code",
        location: ParamIn::Query,
        required: false,
        kind: "code-range",
        description,
    }
}

const PRACTITIONER: ParamDoc = ParamDoc {
    name: "practitioner",
    location: ParamIn::Query,
    required: false,
    kind: "reference",
    description: "Practitioner id or Practitioner/id: attending (diagnoses, encounters) or performer (procedures)",
};

const RESPONSES: &[ResponseDoc] = &[
    ResponseDoc {
        status: 200,
        body: "Bundle",
        description:
            "searchset: the listed records (match) with their Patients and Encounters (include)",
    },
    ResponseDoc {
        status: 200,
        body: "text/csv",
        description: "one line per index row (with _format=csv)",
    },
];

/// OpenAPI descriptions of the three indexes.
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/fhir/$disease-index",
        summary: "Disease index",
        description: "Diagnoses (Conditions coded in ICD-10-CM) with their patients and encounters, by code, code-and-below, range or list, over a period. Sealed records and other patients of a patient-scoped token are left out.",
        tag: "records",
        scopes: &["user/Condition.s", "system/Condition.s"],
        params: &[
            code_param("ICD-10-CM code (includes its children), range C00-C96, or comma list"),
            PERIOD_START,
            PERIOD_END,
            PRACTITIONER,
            COUNT,
            OFFSET,
            FORMAT,
        ],
        body: None,
        responses: RESPONSES,
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$procedure-index",
        summary: "Procedure index",
        description: "Procedures coded in ICD-10-PCS with their patients and encounters, by code or prefix (0DT), range or list, over a period.",
        tag: "records",
        scopes: &["user/Procedure.s", "system/Procedure.s"],
        params: &[
            code_param("ICD-10-PCS code or prefix, range (0D-0F) or comma list"),
            PERIOD_START,
            PERIOD_END,
            PRACTITIONER,
            COUNT,
            OFFSET,
            FORMAT,
        ],
        body: None,
        responses: RESPONSES,
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$physician-index",
        summary: "Physician index",
        description: "Encounters attended, their ICD-10-CM diagnoses, and ICD-10-PCS procedures performed, by practitioner, over a period.",
        tag: "records",
        scopes: &["user/Encounter.s", "system/Encounter.s"],
        params: &[PERIOD_START, PERIOD_END, PRACTITIONER, COUNT, OFFSET, FORMAT],
        body: None,
        responses: RESPONSES,
    },
];
