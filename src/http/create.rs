//! `POST [type]` (create, and conditional create with `If-None-Exist`) — FHIR http.html#create.

use super::request::{blocking, header, resource_body};
use super::response::{format_of, return_pref, version_response};
use super::{known_type, update::write_response, AppState};
use crate::error::AppResult;
use crate::store::conditional::ConditionalCreate;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};

pub async fn create(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> AppResult<HttpResponse> {
    let format = format_of(&req)?;
    let res_type = path.into_inner();
    known_type(&res_type)?;
    let resource = resource_body(&req, payload, state.store.config.max_body_bytes).await?;
    let access = super::auth::access(&req, &res_type, crate::auth::Action::Create);
    crate::store::access::check_write(&access, &res_type, None, &resource)?;
    let who = super::auth::who(&req);
    let store = state.store.clone();
    let base = state.base_url(&req);
    let Some(criteria) = header(&req, "If-None-Exist").map(str::to_string) else {
        let saved = blocking(move || store.create(&who, &access, &res_type, resource)).await?;
        return Ok(write_response(
            &saved,
            StatusCode::CREATED,
            &base,
            return_pref(&req),
            format,
        ));
    };
    let outcome = blocking(move || {
        match store.create_if_none_exist(&who, &access, &res_type, resource, &criteria)? {
            ConditionalCreate::Created(saved) => Ok(Err(saved)),
            ConditionalCreate::Exists(id) => {
                let row = store.read(&res_type, &id)?;
                // the match is only shown when the token may see it
                store.check_visible(&access, &row)?;
                Ok(Ok(row))
            }
        }
    })
    .await?;
    Ok(match outcome {
        Err(saved) => write_response(
            &saved,
            StatusCode::CREATED,
            &base,
            return_pref(&req),
            format,
        ),
        Ok(existing) => version_response(StatusCode::OK, &existing, format),
    })
}
