//! FHIR Bulk Data Access v2 export: kick-off (`GET` or `POST` with a Parameters body on
//! `[base]/$export`, `Patient/$export`, `Group/{id}/$export`, with `Prefer: respond-async`),
//! the status URL (`GET` to poll, `DELETE` to cancel) and the output files (streamed, only
//! to the requester).

use super::auth::{principal, who};
use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, header, query_pairs, read_body, require_json_body};
use super::AppState;
use crate::error::{AppError, AppResult};
use crate::fhir::outcome::{operation_outcome, Issue, Severity};
use crate::fhir::resource::parse_json;
use crate::store::export::{manifest, parameters, Kickoff, Status, Target};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use std::io::Read;

/// Seconds a client should wait between status polls.
const RETRY_AFTER: &str = "2";

fn job_param(req: &HttpRequest, name: &str) -> AppResult<String> {
    query_pairs(req)
        .into_iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v)
        .ok_or_else(|| AppError::invalid(format!("the '{name}' parameter is required")))
}

async fn kickoff(
    req: HttpRequest,
    state: web::Data<AppState>,
    target: Target,
    body: web::Payload,
) -> AppResult<HttpResponse> {
    let prefer = header(&req, "Prefer").unwrap_or("");
    if !prefer
        .split([',', ';'])
        .any(|p| p.trim() == "respond-async")
    {
        return Err(AppError::invalid(
            "a Bulk Data export needs the header Prefer: respond-async",
        ));
    }
    let mut pairs = query_pairs(&req);
    let post = req.method() == actix_web::http::Method::POST;
    if post {
        require_json_body(&req)?;
        let body = read_body(body, state.store.config.max_body_bytes).await?;
        pairs.extend(parameters::pairs(&parse_json(&body)?)?);
    }
    let base = state.base_url(&req);
    let path = req.path().strip_prefix("/fhir").unwrap_or(req.path());
    let query = req.query_string();
    let request_url = if query.is_empty() {
        format!("{base}{path}")
    } else {
        format!("{base}{path}?{query}")
    };
    let kick = Kickoff {
        target,
        pairs,
        post,
        lenient: prefer.contains("handling=lenient"),
        request_url,
    };
    let (principal, who) = (principal(&req), who(&req));
    let store = state.store.clone();
    let accepted = blocking(move || store.export_kickoff(&kick, &principal, &who)).await?;
    let mut issues = vec![Issue::new(
        Severity::Information,
        "informational",
        format!("export job {} accepted", accepted.id),
    )];
    if !accepted.ignored.is_empty() {
        issues.push(Issue::new(
            Severity::Warning,
            "not-supported",
            format!(
                "ignored (Prefer: handling=lenient): {}",
                accepted.ignored.join(", ")
            ),
        ));
    }
    Ok(HttpResponse::Accepted()
        .insert_header((
            "Content-Location",
            format!("{base}/$export-status?job={}", accepted.id),
        ))
        .content_type("application/fhir+json")
        .body(operation_outcome(&issues).to_string()))
}

/// `GET` and `POST` of a kick-off without a path parameter (`$export`, `Patient/$export`).
fn kickoff_route(target: Target) -> actix_web::Route {
    use actix_web::guard::{Any, Get, Post};
    web::route().guard(Any(Get()).or(Post())).to(
        move |req: HttpRequest, body: web::Payload, state: web::Data<AppState>| {
            kickoff(req, state, target.clone(), body)
        },
    )
}

/// `GET` or `POST [base]/Group/{id}/$export`
pub async fn group(
    req: HttpRequest,
    path: web::Path<String>,
    body: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    kickoff(req, state, Target::Group(path.into_inner()), body).await
}

/// `GET [base]/$export-status?job=ID`: 202 with `X-Progress` while running, 200 with the
/// manifest when complete, 500 with an OperationOutcome when the job failed.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let id = job_param(&req, "job")?;
    let base = state.base_url(&req);
    let (principal, store) = (principal(&req), state.store.clone());
    let job = id.clone();
    let found = blocking(move || store.export_status(&job, &principal)).await?;
    Ok(match found {
        Status::Working(progress) => HttpResponse::Accepted()
            .insert_header(("X-Progress", progress))
            .insert_header(("Retry-After", RETRY_AFTER))
            .finish(),
        Status::Complete {
            transaction_time,
            request_url,
            files,
            expires,
        } => {
            let body = manifest::build(transaction_time, &request_url, true, &files, |f| {
                format!("{base}/$export-file?job={id}&file={}", f.name)
            });
            HttpResponse::Ok()
                .insert_header(("Expires", http_date(expires)))
                .content_type("application/json")
                .body(body.to_string())
        }
        Status::Failed(message) => HttpResponse::InternalServerError()
            .content_type("application/fhir+json")
            .body(operation_outcome(&[Issue::error("exception", message)]).to_string()),
    })
}

/// An HTTP-date (RFC 9110: `Tue, 01 Dec 2026 12:00:00 GMT`) of epoch milliseconds.
fn http_date(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string()
}

/// `DELETE [base]/$export-status?job=ID`: cancels the job and deletes its files (202).
pub async fn cancel(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let id = job_param(&req, "job")?;
    let (principal, store) = (principal(&req), state.store.clone());
    blocking(move || store.export_cancel(&id, &principal)).await?;
    Ok(HttpResponse::Accepted().finish())
}

/// Reads the next block of a file on the blocking pool.
async fn next_block(
    file: std::fs::File,
) -> Option<(Result<web::Bytes, actix_web::Error>, Option<std::fs::File>)> {
    let read = web::block(move || {
        let mut file = file;
        let mut block = vec![0u8; 64 * 1024];
        let n = file.read(&mut block)?;
        block.truncate(n);
        Ok::<_, std::io::Error>((file, block))
    })
    .await;
    match read {
        Ok(Ok((_, block))) if block.is_empty() => None,
        Ok(Ok((file, block))) => Some((Ok(web::Bytes::from(block)), Some(file))),
        Ok(Err(e)) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
        Err(e) => Some((Err(actix_web::error::ErrorInternalServerError(e)), None)),
    }
}

/// `GET [base]/$export-file?job=ID&file=NAME`: one output file, streamed as NDJSON.
pub async fn file(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let id = job_param(&req, "job")?;
    let name = job_param(&req, "file")?;
    let (principal, store) = (principal(&req), state.store.clone());
    let opened = blocking(move || {
        let path = store.export_file(&id, &name, &principal)?;
        std::fs::File::open(&path)
            .map_err(|e| AppError::internal(format!("{}: {e}", path.display())))
    })
    .await?;
    let stream =
        futures_util::stream::unfold(
            Some(opened),
            |state| async move { next_block(state?).await },
        );
    Ok(HttpResponse::build(StatusCode::OK)
        .content_type("application/fhir+ndjson")
        .streaming(stream))
}

/// Registers the export routes (before the generic `{type}` patterns).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    use web::{delete, get, post};
    scope
        .service(super::resource("/$export").route(kickoff_route(Target::System)))
        .service(super::resource("/Patient/$export").route(kickoff_route(Target::AllPatients)))
        .service(
            super::resource("/Group/{id}/$export")
                .route(get().to(group))
                .route(post().to(group)),
        )
        .service(
            super::resource("/$export-status")
                .route(get().to(status))
                .route(delete().to(cancel)),
        )
        .service(super::resource("/$export-file").route(get().to(file)))
}

const KICKOFF_PARAMS: &[ParamDoc] = &[
    ParamDoc {
        name: "Prefer",
        location: ParamIn::Header,
        required: true,
        kind: "string",
        description: "must be `respond-async`; `handling=lenient` ignores unsupported parameters",
    },
    ParamDoc {
        name: "_type",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description: "comma-separated resource types (default: every type the token may search)",
    },
    ParamDoc {
        name: "_since",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description: "FHIR instant: only resources updated after it",
    },
    ParamDoc {
        name: "_typeFilter",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description:
            "FHIR search queries per type (`Condition?code=E11`); several for one type are OR-ed",
    },
    ParamDoc {
        name: "_outputFormat",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description: "`application/fhir+ndjson` (default), `application/ndjson` or `ndjson`",
    },
    ParamDoc {
        name: "_elements",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description: "top-level elements to keep, `element` or `Type.element` (plus id, meta and mandatory elements); subsetted resources carry the SUBSETTED tag",
    },
    ParamDoc {
        name: "includeAssociatedData",
        location: ParamIn::Query,
        required: false,
        kind: "string",
        description: "`LatestProvenanceResources` or `RelevantProvenanceResources`: add the Provenance of the exported resources",
    },
];

const PREFER: &[ParamDoc] = &[KICKOFF_PARAMS[0]];

const POST_BODY: &str = "A Parameters resource with the kick-off parameters: `_type`, `_typeFilter`, \
    `_elements`, `_outputFormat` (valueString), `_since` (valueInstant), `includeAssociatedData` \
    (valueCode), and at Patient and Group level `patient` (valueReference, repeatable: only \
    these patients' compartments; a patient unknown, not visible or not a Group member answers 400).";

const JOB_PARAM: ParamDoc = ParamDoc {
    name: "job",
    location: ParamIn::Query,
    required: true,
    kind: "string",
    description: "the export job id from the kick-off's Content-Location",
};

const ACCEPTED: &[ResponseDoc] = &[ResponseDoc {
    status: 202,
    body: "OperationOutcome",
    description: "job accepted; Content-Location names the status URL",
}];

const READ_SCOPES: &[&str] = &["system/Patient.rs", "user/Patient.rs", "patient/Patient.rs"];
const GROUP_SCOPES: &[&str] = &["system/Group.rs", "user/Group.rs"];

/// A kick-off by POST: the parameters come in a Parameters body.
const fn post_kickoff(
    path: &'static str,
    summary: &'static str,
    scopes: &'static [&'static str],
) -> OperationDoc {
    OperationDoc {
        method: "post",
        path,
        summary,
        description: POST_BODY,
        tag: "export",
        scopes,
        params: PREFER,
        body: Some("Parameters"),
        responses: ACCEPTED,
    }
}

/// The export endpoints, for the OpenAPI document.
pub const OPERATIONS: &[OperationDoc] = &[
    OperationDoc {
        method: "get",
        path: "/fhir/$export",
        summary: "Bulk Data system-level export kick-off",
        description: "Starts an asynchronous export of every resource the token may search (or `_type`), as NDJSON files.",
        tag: "export",
        scopes: READ_SCOPES,
        params: KICKOFF_PARAMS,
        body: None,
        responses: ACCEPTED,
    },
    OperationDoc {
        method: "get",
        path: "/fhir/Patient/$export",
        summary: "Bulk Data Patient-level export kick-off",
        description: "Exports the Patient compartment of every patient.",
        tag: "export",
        scopes: READ_SCOPES,
        params: KICKOFF_PARAMS,
        body: None,
        responses: ACCEPTED,
    },
    OperationDoc {
        method: "get",
        path: "/fhir/Group/{id}/$export",
        summary: "Bulk Data Group-level export kick-off",
        description: "Exports the Patient compartments of the Group's active Patient members.",
        tag: "export",
        scopes: GROUP_SCOPES,
        params: KICKOFF_PARAMS,
        body: None,
        responses: ACCEPTED,
    },
    post_kickoff(
        "/fhir/$export",
        "Bulk Data system-level export kick-off (POST)",
        READ_SCOPES,
    ),
    post_kickoff(
        "/fhir/Patient/$export",
        "Bulk Data Patient-level export kick-off (POST)",
        READ_SCOPES,
    ),
    post_kickoff(
        "/fhir/Group/{id}/$export",
        "Bulk Data Group-level export kick-off (POST)",
        GROUP_SCOPES,
    ),
    OperationDoc {
        method: "get",
        path: "/fhir/$export-status",
        summary: "Bulk Data export status",
        description: "202 with X-Progress and Retry-After while running; 200 with the manifest and Expires (when the job and its files are deleted) when complete; 500 OperationOutcome when failed; 404 when unknown, cancelled or expired.",
        tag: "export",
        scopes: READ_SCOPES,
        params: &[JOB_PARAM],
        body: None,
        responses: &[
            ResponseDoc {
                status: 200,
                body: "application/json",
                description: "the manifest (transactionTime, request, requiresAccessToken, output, error); Expires header",
            },
            ResponseDoc {
                status: 202,
                body: "none",
                description: "still running (X-Progress, Retry-After)",
            },
        ],
    },
    OperationDoc {
        method: "delete",
        path: "/fhir/$export-status",
        summary: "Cancel a Bulk Data export",
        description: "Cancels the job and deletes its files.",
        tag: "export",
        scopes: READ_SCOPES,
        params: &[JOB_PARAM],
        body: None,
        responses: &[ResponseDoc {
            status: 202,
            body: "none",
            description: "cancelled",
        }],
    },
    OperationDoc {
        method: "get",
        path: "/fhir/$export-file",
        summary: "Download one Bulk Data output file",
        description: "Only for the token subject that started the job.",
        tag: "export",
        scopes: READ_SCOPES,
        params: &[
            JOB_PARAM,
            ParamDoc {
                name: "file",
                location: ParamIn::Query,
                required: true,
                kind: "string",
                description: "the file name from the manifest's url",
            },
        ],
        body: None,
        responses: &[ResponseDoc {
            status: 200,
            body: "application/fhir+ndjson",
            description: "one resource per line",
        }],
    },
];
