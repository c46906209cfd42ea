//! Terminology operations (FHIR terminology-service.html) on ICD-10-CM and ICD-10-PCS:
//! `CodeSystem/$lookup`, `CodeSystem/$validate-code`, `CodeSystem/$subsumes`,
//! `ValueSet/$expand`, `ValueSet/$validate-code`; GET with query parameters or POST
//! with a Parameters body.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs, read_body, require_json_body};
use super::response::{fhir, format_of};
use super::AppState;
use crate::coding::ops::{self, OpParams};
use crate::coding::shared::terminology;
use crate::error::AppResult;
use crate::fhir::resource::parse_json;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

/// Which operation a route serves.
#[derive(Debug, Clone, Copy)]
pub enum Op {
    Lookup,
    ValidateCode,
    Subsumes,
    Expand,
    ValueSetValidateCode,
}

fn answer(op: Op, params: &OpParams) -> AppResult<serde_json::Value> {
    let terms = terminology()?;
    match op {
        Op::Lookup => ops::lookup(&terms, params),
        Op::ValidateCode => ops::validate_code(&terms, params),
        Op::Subsumes => ops::subsumes(&terms, params),
        Op::Expand => ops::expand(&terms, params),
        Op::ValueSetValidateCode => ops::vs_validate_code(&terms, params),
    }
}

/// `$lookup`, `$validate-code` and `$subsumes` on a code system are a few map look-ups in
/// tables loaded at start: they answer on the request's own thread, because the hand-off
/// to the blocking pool and back (two thread wake-ups) cost more than the work and set
/// the latency tail. Expansions and value-set checks can be large and go to the pool.
async fn run(req: &HttpRequest, op: Op, params: OpParams) -> AppResult<HttpResponse> {
    let format = format_of(req)?;
    let body = match op {
        Op::Lookup | Op::ValidateCode | Op::Subsumes => answer(op, &params)?,
        Op::Expand | Op::ValueSetValidateCode => blocking(move || answer(op, &params)).await?,
    };
    Ok(fhir(StatusCode::OK, &body, format))
}

/// `GET [base]/CodeSystem/$lookup?system=..&code=..` and the other operations by GET.
pub async fn get(req: HttpRequest, op: Op) -> AppResult<HttpResponse> {
    let params = OpParams::from_pairs(query_pairs(&req));
    run(&req, op, params).await
}

/// The operations by POST with a Parameters body.
pub async fn post(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    op: Op,
) -> AppResult<HttpResponse> {
    require_json_body(&req)?;
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let params = OpParams::from_parameters(&parse_json(&body)?)?;
    run(&req, op, params).await
}

/// Registers the five operations (before the generic `/{type}/{id}` routes).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    let ops = [
        ("/CodeSystem/$lookup", Op::Lookup),
        ("/CodeSystem/$validate-code", Op::ValidateCode),
        ("/CodeSystem/$subsumes", Op::Subsumes),
        ("/ValueSet/$expand", Op::Expand),
        ("/ValueSet/$validate-code", Op::ValueSetValidateCode),
    ];
    ops.into_iter().fold(scope, |scope, (path, op)| {
        scope.service(
            super::resource(path)
                .route(web::get().to(move |req: HttpRequest| get(req, op)))
                .route(web::post().to(
                    move |req: HttpRequest, payload: web::Payload, state: web::Data<AppState>| {
                        post(req, payload, state, op)
                    },
                )),
        )
    })
}

const TERMINOLOGY_SCOPES: &[&str] = &[
    "user/CodeSystem.r",
    "system/CodeSystem.r",
    "patient/CodeSystem.r",
];
const VALUESET_SCOPES: &[&str] = &["user/ValueSet.r", "system/ValueSet.r", "patient/ValueSet.r"];

const SYSTEM: ParamDoc = ParamDoc {
    name: "system",
    location: ParamIn::Query,
    required: false,
    kind: "string",
    description: "http://hl7.org/fhir/sid/icd-10-cm or http://www.cms.gov/Medicare/Coding/ICD10",
};
const CODE: ParamDoc = ParamDoc {
    name: "code",
    location: ParamIn::Query,
    required: false,
    kind: "string",
    description: "The code, dotted or not (E11.9, E119)",
};
const DATE: ParamDoc = ParamDoc {
    name: "date",
    location: ParamIn::Query,
    required: false,
    kind: "date",
    description: "The code set in force on this day (default today)",
};
const DISPLAY: ParamDoc = ParamDoc {
    name: "display",
    location: ParamIn::Query,
    required: false,
    kind: "string",
    description: "A display to check against the code's",
};
const URL: ParamDoc = ParamDoc {
    name: "url",
    location: ParamIn::Query,
    required: false,
    kind: "string",
    description: "Implicit value set: [system]?fhir_vs, [system]?fhir_vs=isa/[code], or \
                  http://hl7.org/fhir/sid/icd-10-cm?fhir_vs=range/C00-C96",
};

const PARAMETERS_OK: &[ResponseDoc] = &[ResponseDoc {
    status: 200,
    body: "Parameters",
    description: "The operation's out parameters",
}];

/// GET and POST forms of one operation (POST takes the same parameters as a Parameters body).
macro_rules! terminology_op {
    ($path:expr, $summary:expr, $description:expr, $scopes:expr, $params:expr, $ok:expr) => {
        [
            OperationDoc {
                method: "get",
                path: $path,
                summary: $summary,
                description: $description,
                tag: "terminology",
                scopes: $scopes,
                params: $params,
                body: None,
                responses: $ok,
            },
            OperationDoc {
                method: "post",
                path: $path,
                summary: $summary,
                description: $description,
                tag: "terminology",
                scopes: $scopes,
                params: &[],
                body: Some("Parameters"),
                responses: $ok,
            },
        ]
    };
}

const LOOKUP: [OperationDoc; 2] = terminology_op!(
    "/fhir/CodeSystem/$lookup",
    "Look up an ICD-10-CM/PCS code",
    "Display, fiscal-year version, abstract (non-billable), designations and properties \
     (parent, child, billable, chapter, block, tabular notes; PCS axes). Unknown code → 404.",
    TERMINOLOGY_SCOPES,
    &[
        SYSTEM,
        CODE,
        DATE,
        ParamDoc {
            name: "property",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "Only these properties",
        }
    ],
    &[
        ResponseDoc {
            status: 200,
            body: "Parameters",
            description: "The code's display, version and properties",
        },
        ResponseDoc {
            status: 404,
            body: "OperationOutcome",
            description: "Unknown code or code system",
        }
    ]
);
const VALIDATE: [OperationDoc; 2] = terminology_op!(
    "/fhir/CodeSystem/$validate-code",
    "Validate an ICD-10-CM/PCS code",
    "result=true/false with a message; header codes and codes missing their 7th character \
     are valid with a message naming what to use.",
    TERMINOLOGY_SCOPES,
    &[SYSTEM, CODE, DATE, DISPLAY],
    PARAMETERS_OK
);
const SUBSUMES: [OperationDoc; 2] = terminology_op!(
    "/fhir/CodeSystem/$subsumes",
    "Subsumption between two codes",
    "outcome = equivalent, subsumes, subsumed-by or not-subsumed.",
    TERMINOLOGY_SCOPES,
    &[
        SYSTEM,
        ParamDoc {
            name: "codeA",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "First code",
        },
        ParamDoc {
            name: "codeB",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "Second code",
        }
    ],
    PARAMETERS_OK
);
const EXPAND: [OperationDoc; 2] = terminology_op!(
    "/fhir/ValueSet/$expand",
    "Expand an implicit ICD-10 value set",
    "All codes, a code and its descendants, or a range, filtered and paged.",
    VALUESET_SCOPES,
    &[
        URL,
        ParamDoc {
            name: "filter",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "Every word must occur in the display or code",
        },
        ParamDoc {
            name: "count",
            location: ParamIn::Query,
            required: false,
            kind: "integer",
            description: "Page size (default 100, at most 1000)",
        },
        ParamDoc {
            name: "offset",
            location: ParamIn::Query,
            required: false,
            kind: "integer",
            description: "Codes to skip",
        },
        DATE
    ],
    &[ResponseDoc {
        status: 200,
        body: "ValueSet",
        description: "The expansion",
    }]
);
const VS_VALIDATE: [OperationDoc; 2] = terminology_op!(
    "/fhir/ValueSet/$validate-code",
    "Is a code in an implicit ICD-10 value set",
    "result=true/false with a message.",
    VALUESET_SCOPES,
    &[URL, SYSTEM, CODE, DATE, DISPLAY],
    PARAMETERS_OK
);

pub const OPERATIONS: &[OperationDoc] = &[
    LOOKUP[0],
    LOOKUP[1],
    VALIDATE[0],
    VALIDATE[1],
    SUBSUMES[0],
    SUBSUMES[1],
    EXPAND[0],
    EXPAND[1],
    VS_VALIDATE[0],
    VS_VALIDATE[1],
];
