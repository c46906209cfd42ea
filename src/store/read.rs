//! Read, vread and history.

use super::Store;
use crate::db::resources::{self, HistoryFilter, HistoryScope};
use crate::db::rows::VersionRow;
use crate::error::{AppError, AppResult};

impl Store {
    /// The current version; 404 when unknown, 410 when deleted.
    pub fn read(&self, res_type: &str, id: &str) -> AppResult<VersionRow> {
        let mut conn = self.db.read()?;
        match resources::read_current(&mut conn, res_type, id)? {
            None => Err(AppError::NotFound(format!("{res_type}/{id} is not known"))),
            Some(row) if row.deleted != 0 => Err(AppError::Gone(format!(
                "{res_type}/{id} was deleted (version {})",
                row.version
            ))),
            Some(row) => Ok(row),
        }
    }

    /// The current row whether deleted or not; 404 when unknown.
    pub fn read_any(&self, res_type: &str, id: &str) -> AppResult<VersionRow> {
        let mut conn = self.db.read()?;
        resources::read_current(&mut conn, res_type, id)?
            .ok_or_else(|| AppError::NotFound(format!("{res_type}/{id} is not known")))
    }

    /// One version; 404 when that version does not exist, 410 when it records a deletion.
    pub fn vread(&self, res_type: &str, id: &str, version: i64) -> AppResult<VersionRow> {
        let mut conn = self.db.read()?;
        match resources::read_version(&mut conn, res_type, id, version)? {
            None => Err(AppError::NotFound(format!(
                "{res_type}/{id} has no version {version}"
            ))),
            Some(row) if row.deleted != 0 => Err(AppError::Gone(format!(
                "version {version} of {res_type}/{id} records its deletion"
            ))),
            Some(row) => Ok(row),
        }
    }

    /// A page of history (newest first) and the total count.
    pub fn history(
        &self,
        scope: &HistoryScope,
        filter: &HistoryFilter,
        count: usize,
    ) -> AppResult<(Vec<VersionRow>, i64)> {
        let mut conn = self.db.read()?;
        if let HistoryScope::Instance(t, id) = scope {
            if resources::read_current(&mut conn, t, id)?.is_none() {
                return Err(AppError::NotFound(format!("{t}/{id} is not known")));
            }
        }
        resources::history(&mut conn, scope, filter, count)
    }
}
