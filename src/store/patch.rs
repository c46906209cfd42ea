//! PATCH as a service: the current version, patched (JSON Patch or FHIRPath Patch),
//! validated like an update and written as a new version.

use super::write::{checked_audit, prepare, put_in};
use super::{Saved, Store};
use crate::auth::audit::{AuditKind, Who};
use crate::auth::Access;
use crate::coding::on_write::CodingValidation;
use crate::db::{resources, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::patch::Patch;
use serde_json::Value;

/// A check of the patched resource before it is written (access rules).
pub type PatchCheck<'a> = &'a dyn Fn(&Value) -> AppResult<()>;

/// Patches `res_type/id` inside a caller's transaction; `check` sees the patched resource.
pub fn patch_in(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    patch: &Patch,
    if_match: Option<i64>,
    check: PatchCheck<'_>,
    coding: CodingValidation,
) -> AppResult<Saved> {
    let what = format!("{res_type}/{id}");
    // lock first so no other writer patches the same version concurrently
    resources::lock_current(conn, res_type, id)?;
    let row = match resources::read_current(conn, res_type, id)? {
        None => return Err(AppError::NotFound(format!("{what} is not known"))),
        Some(row) if row.deleted != 0 => return Err(AppError::Gone(format!("{what} was deleted"))),
        Some(row) => row,
    };
    if let Some(expected) = if_match.filter(|v| *v != row.version) {
        return Err(AppError::PreconditionFailed(format!(
            "{what} is at version {}, not {expected} (If-Match)",
            row.version
        )));
    }
    let current: Value = serde_json::from_str(row.content.as_deref().unwrap_or("null"))
        .map_err(AppError::internal)?;
    let patched = patch.apply(&current)?;
    check(&patched)?;
    let prepared = prepare(res_type, Some(id), patched, coding)?;
    put_in(conn, prepared, id, if_match, "PATCH")
}

impl Store {
    /// `PATCH [type]/[id]`, recorded in the audit trail inside its transaction.
    #[allow(clippy::too_many_arguments)]
    pub fn patch(
        &self,
        who: &Who,
        access: &Access,
        res_type: &str,
        id: &str,
        patch: &Patch,
        if_match: Option<i64>,
        check: PatchCheck<'_>,
    ) -> AppResult<Saved> {
        let saved = self.db.transaction(|conn| {
            let saved = patch_in(
                conn,
                res_type,
                id,
                patch,
                if_match,
                check,
                self.coding_validation(),
            )?;
            checked_audit(conn, who, access, AuditKind::Update, &saved)?;
            Ok(saved)
        })?;
        self.written(res_type);
        Ok(saved)
    }
}
