//! `GET [base]/$registry-extract` — a registry submission (cancer, diabetes, hypertension)
//! as a FHIR collection Bundle, NDJSON, CSV or NAACCR XML, optionally de-identified; each
//! patient sent is recorded as a PUBHLTH disclosure to the registry. The body is spooled
//! to an anonymous file while the extract runs and streamed from it afterwards.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, query_pairs};
use super::AppState;
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::reporting::registry::{self, anonymous_file, ExtractParams};
use actix_web::{web, HttpRequest, HttpResponse};
use std::io::{BufWriter, Read, Seek, SeekFrom};

const CHUNK: usize = 64 * 1024;

const fn query(
    name: &'static str,
    kind: &'static str,
    required: bool,
    description: &'static str,
) -> ParamDoc {
    ParamDoc {
        name,
        location: ParamIn::Query,
        required,
        kind,
        description,
    }
}

/// The endpoint, for the OpenAPI document.
pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "get",
    path: "/fhir/$registry-extract",
    summary: "Registry submission (cancer, diabetes, hypertension)",
    description: "Selects the registry's patients (ICD-10-CM ranges of the shipped definition, \
        diagnosed or active in the period), writes their records in the destination format, \
        optionally de-identified (HIPAA Safe Harbor or limited data set, stable per-registry \
        pseudonyms), and records one disclosure per patient (purpose PUBHLTH, recipient the \
        registry) in the audit trail. Sealed records are left out unless the token is cleared \
        for them. Headers X-Registry-Patients and X-Registry-Resources give the counts.",
    tag: "reporting",
    scopes: &["system/*.rs", "user/*.rs", "system/*.read", "user/*.read"],
    params: &[
        query(
            "registry",
            "string",
            true,
            "cancer, diabetes or hypertension",
        ),
        query(
            "period-start",
            "date",
            false,
            "first day of the reporting period",
        ),
        query(
            "period-end",
            "date",
            false,
            "last day of the reporting period",
        ),
        query(
            "_format",
            "string",
            false,
            "bundle (default), ndjson, csv, naaccr-xml (cancer only)",
        ),
        query(
            "deidentify",
            "string",
            false,
            "safe-harbor, limited or none (default: the registry's)",
        ),
        query(
            "recipient",
            "string",
            false,
            "recipient recorded in the disclosures (default: the registry's)",
        ),
    ],
    body: None,
    responses: &[
        ResponseDoc {
            status: 200,
            body: "Bundle",
            description: "_format=bundle: a collection Bundle",
        },
        ResponseDoc {
            status: 200,
            body: "application/fhir+ndjson",
            description: "_format=ndjson",
        },
        ResponseDoc {
            status: 200,
            body: "text/csv",
            description: "_format=csv",
        },
        ResponseDoc {
            status: 200,
            body: "application/xml",
            description: "_format=naaccr-xml: NAACCR XML v25",
        },
    ],
}];

fn io(e: std::io::Error) -> AppError {
    AppError::Internal(format!("extract spool: {e}"))
}

/// `GET [base]/$registry-extract?registry=...`
pub async fn extract(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    let params = ExtractParams::from_pairs(&query_pairs(&req), Some(state.base_url(&req)))?;
    let access = super::auth::access(&req, "Patient", Action::Read);
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let format = params.format;
    let (file, summary) = blocking(move || {
        let mut file = anonymous_file()?;
        let summary = {
            let mut out = BufWriter::new(&mut file);
            registry::extract(&store, &params, &access, &who, &mut out)?
        };
        file.seek(SeekFrom::Start(0)).map_err(io)?;
        Ok((file, summary))
    })
    .await?;
    let body = futures_util::stream::unfold(Some(file), |file| async move {
        let mut file = file?;
        let mut buf = vec![0u8; CHUNK];
        match file.read(&mut buf) {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(web::Bytes::from(buf)), Some(file)))
            }
            Err(e) => Some((Err(e), None)),
        }
    });
    Ok(HttpResponse::Ok()
        .content_type(format.media_type())
        .insert_header(("X-Registry-Patients", summary.patients.to_string()))
        .insert_header(("X-Registry-Resources", summary.resources.to_string()))
        .insert_header(("X-Registry-Deidentify", summary.mode))
        .streaming(body))
}

/// Registers the route (before the generic `/{type}` patterns).
pub fn routes(scope: actix_web::Scope) -> actix_web::Scope {
    scope.service(super::resource("/$registry-extract").route(web::get().to(extract)))
}
