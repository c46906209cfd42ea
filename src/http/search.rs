//! Search — FHIR search.html: `GET [type]?`, `POST [type]/_search`, `GET [base]?` (system),
//! compartment search `GET Patient/[id]/[type]?`, and `Patient/[id]/$everything`.

use super::op_doc::{OperationDoc, ParamDoc, ParamIn, ResponseDoc};
use super::request::{blocking, header, query_pairs, read_body};
use super::response::{fhir, format_of};
use super::{known_type, AppState};
use crate::auth::Action;
use crate::error::{AppError, AppResult};
use crate::search::bundle::searchset;
use crate::search::parse::{parse, Clause, ClauseKind, Limits, SearchRequest};
use crate::store::access::{restrict_nested, restrict_search};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

fn limits(req: &HttpRequest, state: &AppState) -> Limits {
    let strict = header(req, "Prefer").is_some_and(|p| p.contains("handling=strict"));
    let config = &state.store.config;
    Limits {
        default_count: config.default_count,
        max_count: config.max_count,
        strict,
        max_chain_depth: config.max_chain_depth,
        max_includes: config.max_includes,
        max_included: config.max_included,
    }
}

async fn run(
    req: &HttpRequest,
    state: &web::Data<AppState>,
    search: SearchRequest,
    self_path: &str,
) -> AppResult<HttpResponse> {
    let format = format_of(req)?;
    let base = state.base_url(req);
    let store = state.store.clone();
    let mut request = search.clone();
    let searched = request
        .types
        .first()
        .cloned()
        .unwrap_or_else(|| "Resource".into());
    let access = super::auth::access(req, &searched, Action::Search);
    restrict_search(&mut request, &access)?;
    let principal = super::auth::principal(req);
    let result = blocking(move || {
        store.restrict_by_consent(&mut request, &access)?;
        let consents = store.consents_of(&principal)?;
        restrict_nested(&mut request, &principal, &consents);
        // every round of includes is filtered, so :iterate never walks on from a hidden row
        let filter = |conn: &mut crate::db::Conn, rows| {
            crate::store::access::visible_in(conn, &principal, &consents, rows)
        };
        store.search_filtered(&request, &filter)
    })
    .await?;
    let bundle = searchset(&search, &result, &base, &format!("{base}{self_path}"));
    Ok(fhir(StatusCode::OK, &bundle, format))
}

/// `GET [type]?...`
pub async fn type_search(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let res_type = path.into_inner();
    known_type(&res_type)?;
    let search = parse(
        std::slice::from_ref(&res_type),
        &query_pairs(&req),
        &limits(&req, &state),
    )?;
    run(&req, &state, search, &format!("/{res_type}")).await
}

/// `POST [type]/_search` with an `application/x-www-form-urlencoded` body (and/or a query).
pub async fn post_search(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let res_type = path.into_inner();
    known_type(&res_type)?;
    if let Some(content_type) = header(&req, "Content-Type") {
        if !content_type.starts_with("application/x-www-form-urlencoded") {
            return Err(AppError::UnsupportedMediaType(format!(
                "POST _search takes application/x-www-form-urlencoded, not {content_type}"
            )));
        }
    }
    let body = read_body(payload, state.store.config.max_body_bytes).await?;
    let mut pairs = query_pairs(&req);
    pairs.extend(url::form_urlencoded::parse(&body).into_owned());
    let search = parse(
        std::slice::from_ref(&res_type),
        &pairs,
        &limits(&req, &state),
    )?;
    run(&req, &state, search, &format!("/{res_type}")).await
}

/// `GET [base]?_type=...&...` — common parameters across types.
pub async fn system_search(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let search = parse(&[], &query_pairs(&req), &limits(&req, &state))?;
    run(&req, &state, search, "").await
}

/// `GET Patient/[id]/[type]?...` (compartment search) and `GET Patient/[id]/$everything`.
pub async fn compartment(
    req: HttpRequest,
    path: web::Path<(String, String, String)>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (compartment, id, target) = path.into_inner();
    if compartment != "Patient" {
        return Err(AppError::NotFound(format!(
            "no compartment search for {compartment} (only Patient)"
        )));
    }
    if target == "$everything" {
        return everything(req, id, state).await;
    }
    known_type(&target)?;
    let mut search = parse(
        std::slice::from_ref(&target),
        &query_pairs(&req),
        &limits(&req, &state),
    )?;
    search.clauses.push(Clause {
        res_type: target.clone(),
        kind: ClauseKind::PatientCompartment {
            patient_id: id.clone(),
        },
    });
    run(&req, &state, search, &format!("/Patient/{id}/{target}")).await
}

async fn everything(
    req: HttpRequest,
    id: String,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let base = state.base_url(&req);
    let config = state.store.config.clone();
    let pairs = query_pairs(&req);
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    let count = match get("_count") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| AppError::invalid(format!("_count={v} is not a whole number")))?,
        None => config.default_count,
    }
    .min(config.max_count);
    let after: i64 = match get("_cursor") {
        Some(v) => v
            .parse()
            .map_err(|_| AppError::invalid("_cursor is not valid"))?,
        None => 0,
    };
    let types: Vec<String> = get("_type")
        .map(|t| t.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let access = super::auth::access(&req, "Patient", Action::Read);
    if access.patient.as_ref().is_some_and(|p| *p != id) {
        return Err(AppError::NotFound(
            "not found, or not visible with this token".into(),
        ));
    }
    let store = state.store.clone();
    let patient_id = id.clone();
    let principal = super::auth::principal(&req);
    let (rows, next) = blocking(move || {
        let (rows, next) = store.everything(&patient_id, &types, after, count)?;
        Ok((store.visible_to(&principal, rows)?, next))
    })
    .await?;
    let mut bundle = crate::fhir::bundle::BundleBuilder::new("searchset");
    let self_url = format!("{base}/Patient/{id}/$everything");
    bundle.link("self", self_url.clone());
    if let Some(next) = next {
        let mut next_pairs: Vec<(String, String)> = pairs
            .iter()
            .filter(|(k, _)| k != "_cursor")
            .cloned()
            .collect();
        next_pairs.push(("_cursor".into(), next.to_string()));
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(next_pairs)
            .finish();
        bundle.link("next", format!("{self_url}?{query}"));
    }
    for row in &rows {
        if let Some(resource) = row
            .content
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        {
            bundle.entry(serde_json::json!({
                "fullUrl": format!("{base}/{}/{}", row.res_type, row.res_id),
                "resource": resource,
                "search": { "mode": "match" }
            }));
        }
    }
    Ok(fhir(StatusCode::OK, &bundle.build(), format))
}

pub const OPERATIONS: &[OperationDoc] = &[OperationDoc {
    method: "get",
    path: "/fhir/Patient/{id}/$everything",
    summary: "Everything in a patient's record",
    description: "The Patient and every resource in its compartment, paged (`next` links).",
    tag: "Patient",
    scopes: &["user/*.rs", "system/*.rs", "patient/*.rs"],
    params: &[
        ParamDoc {
            name: "id",
            location: ParamIn::Path,
            required: true,
            kind: "string",
            description: "Patient id",
        },
        ParamDoc {
            name: "_count",
            location: ParamIn::Query,
            required: false,
            kind: "integer",
            description: "Resources per page",
        },
        ParamDoc {
            name: "_type",
            location: ParamIn::Query,
            required: false,
            kind: "string",
            description: "Only these resource types (comma-separated)",
        },
    ],
    body: None,
    responses: &[ResponseDoc {
        status: 200,
        body: "Bundle",
        description: "searchset",
    }],
}];
