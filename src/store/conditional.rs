//! Conditional create, update and delete (http.html#ccreate, #cond-update, #cdelete):
//! the criteria are a search on the type, run inside the write transaction.

use super::write::{audit_write, checked_audit, delete_in, prepare, put_in, put_kind};
use super::{Saved, Store};
use crate::auth::audit::{AuditKind, Who};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::resource::new_id;
use crate::fhir::search_params::{registry, ParamKind};
use crate::search::parse::{parse, Limits};
use diesel::sql_types::{Nullable, Text};
use diesel::QueryableByName;
use serde_json::Value;
use std::collections::HashMap;

/// What a conditional create did.
pub enum ConditionalCreate {
    Created(Saved),
    /// One resource already matched; nothing was written.
    Exists(String),
}

/// Ids of `res_type` resources matching the query string `criteria` (unknown parameters refused).
pub fn matches(conn: &mut Conn, res_type: &str, criteria: &str) -> AppResult<Vec<String>> {
    let pairs: Vec<(String, String)> =
        url::form_urlencoded::parse(criteria.trim_start_matches('?').as_bytes())
            .into_owned()
            .collect();
    if pairs.is_empty() {
        return Err(AppError::invalid(
            "conditional interactions need search criteria",
        ));
    }
    let req = parse(
        &[res_type.to_string()],
        &pairs,
        &Limits {
            default_count: 2,
            max_count: 2,
            strict: true,
            ..Limits::default()
        },
    )?;
    Store::matching_ids(conn, &req, 2)
}

/// The `(system, value)` of criteria that are exactly one `identifier=system|value` token
/// search (no modifier, no list, no escapes) on a type that has the `identifier`
/// parameter: these are answered many at a time by [`identifier_matches`].
pub fn identifier_criteria(res_type: &str, criteria: &str) -> Option<(String, String)> {
    let mut pairs = url::form_urlencoded::parse(criteria.trim_start_matches('?').as_bytes());
    let (key, value) = pairs.next()?;
    if pairs.next().is_some() || key != "identifier" || value.contains([',', '\\']) {
        return None;
    }
    let def = registry().get(res_type, "identifier")?;
    let (system, code) = value.split_once('|')?;
    (def.kind == ParamKind::Token && !system.is_empty() && !code.is_empty())
        .then(|| (system.to_string(), code.to_string()))
}

/// Ids of the live `res_type` resources carrying each identifier, in one query per 512
/// identifiers (the same rows a search `identifier=system|value` reads).
pub fn identifier_matches(
    conn: &mut Conn,
    res_type: &str,
    identifiers: &[(String, String)],
) -> AppResult<HashMap<(String, String), Vec<String>>> {
    #[derive(QueryableByName)]
    struct Carrier {
        #[diesel(sql_type = Nullable<Text>)]
        system: Option<String>,
        #[diesel(sql_type = Nullable<Text>)]
        code: Option<String>,
        #[diesel(sql_type = Text)]
        res_id: String,
    }
    let mut out: HashMap<(String, String), Vec<String>> = HashMap::new();
    for chunk in identifiers.chunks(512) {
        let codes: Vec<&str> = chunk.iter().map(|(_, code)| code.as_str()).collect();
        let mut sql = Sql::new(
            "SELECT t.system AS system, t.code AS code, r.res_id AS res_id FROM idx_token t \
             JOIN resources r ON r.rk = t.rk WHERE r.deleted = 0 AND t.param = 'identifier' \
             AND t.res_type = ",
        );
        sql.bind(res_type)
            .push(" AND t.code IN ")
            .bind_padded_list(&codes);
        for row in conn.load::<Carrier>(sql.keep_prepared())? {
            let key = (row.system.unwrap_or_default(), row.code.unwrap_or_default());
            if chunk.contains(&key) {
                let ids = out.entry(key).or_default();
                if !ids.contains(&row.res_id) {
                    ids.push(row.res_id);
                }
            }
        }
    }
    Ok(out)
}

fn too_many(res_type: &str, criteria: &str) -> AppError {
    AppError::PreconditionFailed(format!("more than one {res_type} matches '{criteria}'"))
}

impl Store {
    /// `POST [type]` with `If-None-Exist`.
    pub fn create_if_none_exist(
        &self,
        who: &Who,
        access: &crate::auth::Access,
        res_type: &str,
        body: Value,
        criteria: &str,
    ) -> AppResult<ConditionalCreate> {
        let prepared = prepare(res_type, None, body, self.coding_validation())?;
        let outcome = self.db.transaction(|conn| {
            let found = matches(conn, res_type, criteria)?;
            match found.as_slice() {
                [] => {
                    let saved = put_in(conn, prepared, &new_id(), None, "POST")?;
                    checked_audit(conn, who, access, AuditKind::Create, &saved)?;
                    Ok(ConditionalCreate::Created(saved))
                }
                [id] => Ok(ConditionalCreate::Exists(id.clone())),
                _ => Err(too_many(res_type, criteria)),
            }
        })?;
        self.written(res_type);
        Ok(outcome)
    }

    /// `PUT [type]?criteria`.
    pub fn update_conditional(
        &self,
        who: &Who,
        res_type: &str,
        mut body: Value,
        criteria: &str,
        if_match: Option<i64>,
    ) -> AppResult<Saved> {
        let body_id = body.get("id").and_then(Value::as_str).map(str::to_string);
        let saved = self.db.transaction(|conn| {
            let found = matches(conn, res_type, criteria)?;
            let id = match (found.as_slice(), &body_id) {
                ([], Some(id)) => id.clone(),
                ([], None) => new_id(),
                ([existing], Some(id)) if existing != id => {
                    return Err(AppError::invalid_at(
                        format!(
                            "the body id '{id}' differs from the matching resource '{existing}'"
                        ),
                        format!("{res_type}.id"),
                    ))
                }
                ([existing], _) => existing.clone(),
                _ => return Err(too_many(res_type, criteria)),
            };
            body["id"] = Value::String(id.clone());
            let prepared = prepare(
                res_type,
                Some(&id),
                std::mem::take(&mut body),
                self.coding_validation(),
            )?;
            let saved = put_in(conn, prepared, &id, if_match, "PUT")?;
            audit_write(conn, who, put_kind(&saved), &saved)?;
            Ok(saved)
        })?;
        self.written(res_type);
        Ok(saved)
    }

    /// `DELETE [type]?criteria` (one match at most); Ok(None) when nothing matched.
    pub fn delete_conditional(
        &self,
        who: &Who,
        res_type: &str,
        criteria: &str,
    ) -> AppResult<Option<Saved>> {
        let saved = self.db.transaction(|conn| {
            let found = matches(conn, res_type, criteria)?;
            match found.as_slice() {
                [] => Ok(None),
                [id] => {
                    let saved = delete_in(conn, res_type, id, None)?;
                    if let Some(saved) = &saved {
                        audit_write(conn, who, AuditKind::Delete, saved)?;
                    }
                    Ok(saved)
                }
                _ => Err(too_many(res_type, criteria)),
            }
        })?;
        self.written(res_type);
        Ok(saved)
    }
}
