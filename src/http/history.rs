//! History at instance, type and system level — FHIR http.html#history.
//! Newest first; `_count`, `_since`, `_at`; `next` links carry a keyset cursor
//! (`_cursor`: versions older than it), so pages stay stable while others write.

use super::request::{blocking, query_pairs};
use super::response::{fhir, format_of};
use super::{known_type, AppState};
use crate::auth::Action;
use crate::db::resources::{HistoryFilter, HistoryScope};
use crate::db::rows::VersionRow;
use crate::error::{AppError, AppResult};
use crate::fhir::bundle::BundleBuilder;
use crate::fhir::json::{epoch_ms, instant};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

pub async fn system(req: HttpRequest, state: web::Data<AppState>) -> AppResult<HttpResponse> {
    history(req, state, HistoryScope::System).await
}

pub async fn type_level(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let res_type = path.into_inner();
    known_type(&res_type)?;
    history(req, state, HistoryScope::Type(res_type)).await
}

pub async fn instance(
    req: HttpRequest,
    path: web::Path<(String, String)>,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let (res_type, id) = path.into_inner();
    known_type(&res_type)?;
    history(req, state, HistoryScope::Instance(res_type, id)).await
}

struct HistoryParams {
    filter: HistoryFilter,
    count: usize,
}

fn parse_params(req: &HttpRequest, state: &AppState) -> AppResult<HistoryParams> {
    let config = &state.store.config;
    let mut params = HistoryParams {
        filter: HistoryFilter::default(),
        count: config.default_count,
    };
    let instant_param = |name: &str, value: &str| {
        epoch_ms(value).ok_or_else(|| {
            AppError::invalid(format!("{name}={value} is not a FHIR instant or date"))
        })
    };
    for (name, value) in query_pairs(req) {
        match name.as_str() {
            "_count" => {
                let n: usize = value.parse().map_err(|_| {
                    AppError::invalid(format!("_count={value} is not a whole number"))
                })?;
                params.count = n.min(config.max_count);
            }
            "_since" => params.filter.since = Some(instant_param("_since", &value)?),
            "_at" => params.filter.at = Some(instant_param("_at", &value)?),
            "_cursor" => {
                params.filter.before_seq = Some(
                    value
                        .parse()
                        .map_err(|_| AppError::invalid(format!("_cursor={value} is not valid")))?,
                )
            }
            _ => {}
        }
    }
    Ok(params)
}

async fn history(
    req: HttpRequest,
    state: web::Data<AppState>,
    scope: HistoryScope,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let params = parse_params(&req, &state)?;
    let base = state.base_url(&req);
    let store = state.store.clone();
    let (filter, count) = (params.filter.clone(), params.count);
    let scope_for_query = scope.clone();
    let res_type = match &scope {
        HistoryScope::Instance(t, _) | HistoryScope::Type(t) => t.clone(),
        HistoryScope::System => "Resource".into(),
    };
    let access = super::auth::access(&req, &res_type, Action::Read);
    let query_limited = match &scope {
        HistoryScope::System => access
            .grants
            .as_ref()
            .is_some_and(|g| g.iter().any(|g| g.query.is_some())),
        _ => access.queries_for(&res_type).is_some(),
    };
    if (access.patient.is_some() || query_limited) && !matches!(scope, HistoryScope::Instance(..)) {
        return Err(AppError::Forbidden(
            "a patient-scoped or query-limited token can read the history of single resources only"
                .into(),
        ));
    }
    // a limited caller's total would count versions it may not see
    let show_total = access.is_unlimited();
    let (mut rows, total) = blocking(move || {
        if let HistoryScope::Instance(t, id) = &scope_for_query {
            // a resource whose current version is hidden has no history for this caller
            store.check_visible(&access, &store.read_any(t, id)?)?;
        }
        let (rows, total) = store.history(&scope_for_query, &filter, count.max(1) + 1)?;
        let visible = store.visible_rows(
            &crate::auth::Access {
                patient: None,
                ..access
            },
            rows,
        )?;
        Ok((visible, total))
    })
    .await?;
    let more = rows.len() > count;
    rows.truncate(count);

    let mut bundle = BundleBuilder::new("history");
    if show_total {
        bundle.total(total);
    }
    let self_url = format!("{base}{}", req.uri().path().trim_start_matches("/fhir"));
    let query = req.query_string();
    bundle.link(
        "self",
        if query.is_empty() {
            self_url.clone()
        } else {
            format!("{self_url}?{query}")
        },
    );
    if more {
        if let Some(last) = rows.last() {
            let mut next: Vec<(String, String)> = query_pairs(&req)
                .into_iter()
                .filter(|(n, _)| n != "_cursor")
                .collect();
            next.push(("_cursor".into(), last.seq.to_string()));
            let encoded = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(next)
                .finish();
            bundle.link("next", format!("{self_url}?{encoded}"));
        }
    }
    for row in &rows {
        bundle.entry(history_entry(row, &base));
    }
    Ok(fhir(StatusCode::OK, &bundle.build(), format))
}

fn history_entry(row: &VersionRow, base: &str) -> Value {
    let (url, status) = match row.method.as_str() {
        "POST" => (row.res_type.clone(), "201 Created"),
        "DELETE" => (format!("{}/{}", row.res_type, row.res_id), "204 No Content"),
        _ => (
            format!("{}/{}", row.res_type, row.res_id),
            if row.version == 1 {
                "201 Created"
            } else {
                "200 OK"
            },
        ),
    };
    let mut entry = json!({
        "fullUrl": format!("{base}/{}/{}", row.res_type, row.res_id),
        "request": { "method": row.method, "url": url },
        "response": {
            "status": status,
            "etag": format!("W/\"{}\"", row.version),
            "lastModified": instant(row.last_updated),
        },
    });
    if let Some(content) = &row.content {
        if let Ok(resource) = serde_json::from_str::<Value>(content) {
            entry["resource"] = resource;
        }
    }
    entry
}
