//! Applying a request's `Access` limits to what the store returns.

use super::Store;
use crate::auth::Access;
use crate::db::rows::{CountRow, VersionRow};
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::json::security_codes;
use crate::fhir::search_params::registry;
use crate::search::parse::{Clause, ClauseKind, SearchRequest};

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

fn hidden() -> AppError {
    // 404, not 403: a sealed or out-of-compartment record must not reveal that it exists
    AppError::NotFound("not found, or not visible with this token".into())
}

impl Store {
    /// Patients whose privacy Consent denies this caller.
    pub fn denied_patients(&self, access: &Access) -> AppResult<Vec<String>> {
        match &access.requester {
            Some(requester) => {
                let mut conn = self.db.read()?;
                crate::store::consent::denying_patients(&mut conn, requester)
            }
            None => Ok(Vec::new()),
        }
    }

    /// Adds the Consent limits to a search (run where a connection is at hand).
    pub fn restrict_by_consent(
        &self,
        search: &mut SearchRequest,
        access: &Access,
    ) -> AppResult<()> {
        let denied = self.denied_patients(access)?;
        if !denied.is_empty() {
            search.clauses.push(Clause {
                res_type: "Resource".into(),
                kind: ClauseKind::ExcludePatients(denied),
            });
        }
        Ok(())
    }

    /// Refuses (as 404) a row the access limits do not let the caller see.
    pub fn check_visible(&self, access: &Access, row: &VersionRow) -> AppResult<()> {
        if access.is_unlimited() {
            return Ok(());
        }
        let denied = self.denied_patients(access)?;
        self.check_visible_with(access, row, &denied)
    }

    /// `check_visible` with the Consent-denied patients already known.
    fn check_visible_with(
        &self,
        access: &Access,
        row: &VersionRow,
        denied: &[String],
    ) -> AppResult<()> {
        if let Some(resource) = row
            .content
            .as_deref()
            .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok())
        {
            let patient = crate::fhir::json::patient_of(&resource);
            if patient.is_some_and(|p| denied.contains(&p))
                || !access.label_allows(&security_codes(&resource))
            {
                return Err(hidden());
            }
        }
        if let Some(patient) = &access.patient {
            let mut conn = self.db.read()?;
            if !in_patient_compartment(&mut conn, &row.res_type, &row.res_id, patient)? {
                return Err(hidden());
            }
        }
        Ok(())
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

    /// Keeps only the rows the caller may see (for includes and history).
    pub fn visible_rows(
        &self,
        access: &Access,
        rows: Vec<VersionRow>,
    ) -> AppResult<Vec<VersionRow>> {
        if access.is_unlimited() {
            return Ok(rows);
        }
        let denied = self.denied_patients(access)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let limits = if Access::is_shared_type(&row.res_type) {
                Access {
                    patient: None,
                    ..access.clone()
                }
            } else {
                access.clone()
            };
            match self.check_visible_with(&limits, &row, &denied) {
                Ok(()) => out.push(row),
                Err(AppError::NotFound(_)) => {}
                Err(other) => return Err(other),
            }
        }
        Ok(out)
    }
}

/// Adds the access limits to a search as clauses (so counts and paging respect them too).
/// A compartment limit needs a single searched type (callers confined to a patient cannot
/// search system-wide; the HTTP layer refuses that before).
pub fn restrict_search(search: &mut SearchRequest, access: &Access) -> AppResult<()> {
    if !access.hidden_labels.is_empty() {
        search.clauses.push(Clause {
            res_type: "Resource".into(),
            kind: ClauseKind::WithoutLabels(access.hidden_labels.clone()),
        });
    }
    if let Some(patient) = &access.patient {
        let [res_type] = search.types.as_slice() else {
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
    Ok(())
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
