//! Applying a request's `Access` limits to what the store returns and accepts: scopes per
//! resource type, the queries of SMART v2 query-limited scopes (matched through the search
//! engine against the index of the current version), patient compartments, sensitivity
//! labels and patient-privacy Consents.

use super::consent::{search_limits, Decision, PatientConsent};
use super::Store;
use crate::auth::Access;
use crate::db::rows::{CountRow, VersionRow};
use crate::db::search_page;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{patient_of, security_codes};
use crate::fhir::search_params::registry;
use crate::search::parse::{parse, Clause, ClauseKind, Limits, SearchRequest};
use std::sync::Arc;
use std::time::Duration;

/// True when `res_type/id` references `Patient/patient` through a compartment parameter.
pub fn in_patient_compartment(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    patient: &str,
) -> AppResult<bool> {
    if res_type == "Patient" {
        return Ok(id == patient);
    }
    let params = registry().patient_compartment_params(res_type);
    if params.is_empty() {
        return Ok(false);
    }
    let mut sql = Sql::new("SELECT COUNT(*) AS n FROM idx_reference f JOIN resources r ON r.rk = f.rk WHERE r.res_type = ");
    sql.bind(res_type).push(" AND r.res_id = ").bind(id);
    sql.push(" AND f.target_type = 'Patient' AND f.target_id = ")
        .bind(patient);
    sql.push(" AND f.param IN ")
        .bind_list(params.iter().map(String::as_str));
    Ok(conn.first::<CountRow>(&sql)?.is_some_and(|r| r.n > 0))
}

/// The refusal of a record the caller may not see.
pub fn hidden() -> AppError {
    // 404, not 403: a sealed or out-of-compartment record must not reveal that it exists
    AppError::NotFound("not found, or not visible with this token".into())
}

fn strict() -> Limits {
    Limits {
        default_count: 1,
        max_count: 1,
        strict: true,
        ..Limits::default()
    }
}

/// The clauses of one scope query on `res_type`; None when the query does not parse (such
/// a scope then grants nothing).
fn scope_clauses(res_type: &str, query: &str) -> Option<Vec<Clause>> {
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    parse(&[res_type.to_string()], &pairs, &strict())
        .ok()
        .map(|req| req.clauses)
}

/// A clause matching resources that satisfy at least one of `queries`.
pub fn scope_clause(res_type: &str, queries: &[String]) -> Clause {
    Clause {
        res_type: res_type.to_string(),
        kind: ClauseKind::AnyOf(
            queries
                .iter()
                .filter_map(|q| scope_clauses(res_type, q))
                .collect(),
        ),
    }
}

/// True when the current version of `res_type/id` matches one of `queries`.
pub fn matches_queries(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    queries: &[String],
) -> AppResult<bool> {
    let mut req = parse(&[res_type.to_string()], &[], &strict())?;
    req.clauses.push(Clause {
        res_type: res_type.to_string(),
        kind: ClauseKind::Id(vec![id.to_string()]),
    });
    req.clauses.push(scope_clause(res_type, queries));
    Ok(search_page::count(conn, &req)? > 0)
}

/// Refuses (as 404) a row `access` does not let the caller see; `consents` are the active
/// patient-privacy Consents. Runs on the caller's connection (also inside transactions).
pub fn check_row(
    conn: &mut Conn,
    access: &Access,
    consents: &[PatientConsent],
    row: &VersionRow,
) -> AppResult<()> {
    if access.is_unlimited() {
        return Ok(());
    }
    let t = row.res_type.as_str();
    if !access.type_allowed(t) {
        return Err(hidden());
    }
    if let Some(resource) = row
        .content
        .as_deref()
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
    {
        if let (Some(patient), Some(requester)) = (patient_of(&resource), &access.requester) {
            let reference = format!("{t}/{}", row.res_id);
            let denied = consents.iter().any(|c| {
                c.patient == patient && c.decide(requester, t, Some(&reference)) == Decision::Deny
            });
            if denied {
                return Err(hidden());
            }
        }
        if !access.label_allows(&security_codes(&resource)) {
            return Err(hidden());
        }
    }
    if let Some(patient) = access
        .patient
        .as_ref()
        .filter(|_| !Access::is_shared_type(t))
    {
        if !in_patient_compartment(conn, t, &row.res_id, patient)? {
            return Err(hidden());
        }
    }
    if let Some(queries) = access.queries_for(t) {
        if !matches_queries(conn, t, &row.res_id, &queries)? {
            return Err(hidden());
        }
    }
    Ok(())
}

/// Refuses (403) a written resource that does not match the caller's scope queries. Runs
/// inside the write's transaction, after the new version and its index rows are written.
pub fn check_written(conn: &mut Conn, access: &Access, res_type: &str, id: &str) -> AppResult<()> {
    match access.queries_for(res_type) {
        Some(queries) if !matches_queries(conn, res_type, id, &queries)? => {
            Err(AppError::Forbidden(format!(
                "the {res_type} written does not match the query of the token's scope ({})",
                queries.join(" or ")
            )))
        }
        _ => Ok(()),
    }
}

impl Store {
    /// The active patient-privacy Consents (cached; see `ConsentCache`).
    pub fn active_consents(&self) -> AppResult<Arc<Vec<PatientConsent>>> {
        let ttl = Duration::from_secs(self.config.consent_cache_seconds);
        self.consents.get(ttl, || {
            let mut conn = self.db.read()?;
            super::consent::load_active(&mut conn)
        })
    }

    /// The Consents a check for `access` needs (none for unrestricted callers).
    fn consents_for(&self, access: &Access) -> AppResult<Arc<Vec<PatientConsent>>> {
        if access.requester.as_ref().is_some_and(|r| !r.broke_glass) {
            self.active_consents()
        } else {
            Ok(Arc::new(Vec::new()))
        }
    }

    /// Patients whose Consent denies `access`'s requester any of `res_types` (for SQL over
    /// the projections, which filters by patient).
    pub fn denied_patients(&self, access: &Access, res_types: &[&str]) -> AppResult<Vec<String>> {
        let Some(requester) = &access.requester else {
            return Ok(Vec::new());
        };
        let consents = self.consents_for(access)?;
        let mut patients: Vec<String> = res_types
            .iter()
            .flat_map(|t| search_limits(&consents, requester, t).patients)
            .collect();
        patients.sort();
        patients.dedup();
        Ok(patients)
    }

    /// Adds the Consent limits to a search.
    pub fn restrict_by_consent(
        &self,
        search: &mut SearchRequest,
        access: &Access,
    ) -> AppResult<()> {
        let Some(requester) = &access.requester else {
            return Ok(());
        };
        let consents = self.consents_for(access)?;
        if consents.is_empty() {
            return Ok(());
        }
        let types = if search.types.is_empty() {
            vec!["Resource".to_string()]
        } else {
            search.types.clone()
        };
        let mut patients: Vec<String> = Vec::new();
        for t in &types {
            let limits = search_limits(&consents, requester, t);
            patients.extend(limits.patients);
            if !limits.ids.is_empty() {
                search.clauses.push(Clause {
                    res_type: t.clone(),
                    kind: ClauseKind::ExcludeIds(limits.ids),
                });
            }
        }
        patients.sort();
        patients.dedup();
        if !patients.is_empty() {
            search.clauses.push(Clause {
                res_type: "Resource".into(),
                kind: ClauseKind::ExcludePatients(patients),
            });
        }
        Ok(())
    }

    /// Refuses (as 404) a row the access limits do not let the caller see.
    pub fn check_visible(&self, access: &Access, row: &VersionRow) -> AppResult<()> {
        if access.is_unlimited() {
            return Ok(());
        }
        let consents = self.consents_for(access)?;
        let mut conn = self.db.read()?;
        check_row(&mut conn, access, &consents, row)
    }

    /// Refuses (as 404) a write to an existing resource the caller may not see.
    pub fn check_current_visible(
        &self,
        access: &Access,
        res_type: &str,
        id: &str,
    ) -> AppResult<()> {
        match self.read(res_type, id) {
            Ok(current) => self.check_visible(access, &current),
            Err(_) => Ok(()),
        }
    }

    /// Keeps only the rows the caller may see (for includes, history and `$everything`).
    pub fn visible_rows(
        &self,
        access: &Access,
        rows: Vec<VersionRow>,
    ) -> AppResult<Vec<VersionRow>> {
        if access.is_unlimited() {
            return Ok(rows);
        }
        let consents = self.consents_for(access)?;
        let mut conn = self.db.read()?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            match check_row(&mut conn, access, &consents, &row) {
                Ok(()) => out.push(row),
                Err(AppError::NotFound(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }
}

impl Store {
    /// Keeps only the rows `principal` may read, each judged with the access of its own
    /// type (includes and `$everything` mix types: a search of a shared type such as
    /// Practitioner must not include another patient's Observations).
    pub fn visible_to(
        &self,
        principal: &crate::auth::Principal,
        rows: Vec<VersionRow>,
    ) -> AppResult<Vec<VersionRow>> {
        if principal.unrestricted {
            return Ok(rows);
        }
        let consents = self.consents_of(principal)?;
        let mut conn = self.db.read()?;
        visible_in(&mut conn, principal, &consents, rows)
    }

    /// The active Consents `principal`'s checks need (none when it broke the glass).
    pub fn consents_of(
        &self,
        principal: &crate::auth::Principal,
    ) -> AppResult<Arc<Vec<PatientConsent>>> {
        if principal.unrestricted || principal.break_glass_reason.is_some() {
            Ok(Arc::new(Vec::new()))
        } else {
            self.active_consents()
        }
    }
}

/// `Store::visible_to` on the caller's connection, with the Consents already loaded.
pub fn visible_in(
    conn: &mut Conn,
    principal: &crate::auth::Principal,
    consents: &[PatientConsent],
    rows: Vec<VersionRow>,
) -> AppResult<Vec<VersionRow>> {
    if principal.unrestricted {
        return Ok(rows);
    }
    let mut per_type: std::collections::HashMap<String, Access> = Default::default();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let access = per_type.entry(row.res_type.clone()).or_insert_with(|| {
            Access::for_request(principal, &row.res_type, crate::auth::Action::Read)
        });
        match check_row(conn, access, consents, &row) {
            Ok(()) => out.push(row),
            Err(AppError::NotFound(_)) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(out)
}

/// Adds the access limits to a search as clauses (so counts and paging respect them too).
/// A compartment limit or a scope query needs a single searched type (the HTTP layer
/// refuses system-wide searches for such callers).
pub fn restrict_search(search: &mut SearchRequest, access: &Access) -> AppResult<()> {
    if !access.hidden_labels.is_empty() {
        search.clauses.push(Clause {
            res_type: "Resource".into(),
            kind: ClauseKind::WithoutLabels(access.hidden_labels.clone()),
        });
    }
    let single = match search.types.as_slice() {
        [t] => Some(t.clone()),
        _ => None,
    };
    if let Some(patient) = &access.patient {
        let Some(res_type) = &single else {
            return Err(AppError::Forbidden(
                "a patient-scoped token can only search one resource type at a time".into(),
            ));
        };
        search.clauses.push(Clause {
            res_type: res_type.clone(),
            kind: ClauseKind::PatientCompartment {
                patient_id: patient.clone(),
            },
        });
    }
    match &single {
        Some(t) => {
            if let Some(queries) = access.queries_for(t) {
                search.clauses.push(scope_clause(t, &queries));
            }
        }
        None => {
            let limited = access
                .grants
                .as_ref()
                .is_some_and(|g| g.iter().any(|g| g.query.is_some()));
            if limited {
                return Err(AppError::Forbidden(
                    "a token with query-limited scopes can only search one resource type at a time"
                        .into(),
                ));
            }
        }
    }
    Ok(())
}

/// Applies `principal`'s limits to the resources the chains and `_has` of a search look
/// at, each with the access of its own type, so a search cannot tell whether a hidden
/// resource exists (`Patient?_has:Condition:subject:code=...` matching a sealed Condition,
/// `Practitioner?_has:Observation:performer:subject=...` through another patient's record,
/// or through data a patient-privacy Consent denies).
pub fn restrict_nested(
    search: &mut SearchRequest,
    principal: &crate::auth::Principal,
    consents: &[PatientConsent],
) {
    if principal.unrestricted {
        return;
    }
    for clause in &mut search.clauses {
        limit_nested(clause, principal, consents);
    }
}

fn limit_nested(
    clause: &mut Clause,
    principal: &crate::auth::Principal,
    consents: &[PatientConsent],
) {
    let inner = match &mut clause.kind {
        ClauseKind::Chain { inner, .. } | ClauseKind::Has { inner, .. } => inner,
        _ => return,
    };
    limit_nested(inner, principal, consents);
    let t = inner.res_type.clone();
    let access = Access::for_request(principal, &t, crate::auth::Action::Search);
    let mut list = vec![(**inner).clone()];
    if !access.type_allowed(&t) {
        list.push(Clause {
            res_type: t.clone(),
            kind: ClauseKind::AnyOf(Vec::new()),
        });
    }
    if !access.hidden_labels.is_empty() {
        list.push(Clause {
            res_type: t.clone(),
            kind: ClauseKind::WithoutLabels(access.hidden_labels.clone()),
        });
    }
    if let Some(patient) = access
        .patient
        .as_ref()
        .filter(|_| !Access::is_shared_type(&t))
    {
        list.push(Clause {
            res_type: t.clone(),
            kind: ClauseKind::PatientCompartment {
                patient_id: patient.clone(),
            },
        });
    }
    if let Some(queries) = access.queries_for(&t) {
        list.push(scope_clause(&t, &queries));
    }
    if let Some(requester) = &access.requester {
        let denied = search_limits(consents, requester, &t);
        if !denied.patients.is_empty() {
            list.push(Clause {
                res_type: t.clone(),
                kind: ClauseKind::ExcludePatients(denied.patients),
            });
        }
        if !denied.ids.is_empty() {
            list.push(Clause {
                res_type: t.clone(),
                kind: ClauseKind::ExcludeIds(denied.ids),
            });
        }
    }
    if list.len() > 1 {
        **inner = Clause {
            res_type: t,
            kind: ClauseKind::AnyOf(vec![list]),
        };
    }
}

/// Refuses a write that would put data outside the caller's patient compartment.
pub fn check_write(
    access: &Access,
    res_type: &str,
    id: Option<&str>,
    resource: &serde_json::Value,
) -> AppResult<()> {
    let Some(patient) = &access.patient else {
        return Ok(());
    };
    let inside = if res_type == "Patient" {
        id == Some(patient.as_str())
    } else {
        let params = registry().patient_compartment_params(res_type);
        crate::fhir::index::extract(resource).map_err(AppError::internal)?.iter().any(|e| {
            params.contains(&e.param)
                && matches!(&e.value, crate::fhir::index::IndexValue::Reference { target_type: Some(t), target_id: Some(i), .. }
                    if t == "Patient" && i == patient)
        })
    };
    if inside {
        Ok(())
    } else {
        Err(AppError::Forbidden(format!(
            "a patient-scoped token may only write {res_type} data of its own patient"
        )))
    }
}
