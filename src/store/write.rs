//! Create, update and delete. The `*_in` functions run inside a caller's transaction
//! (single interactions and transaction Bundles share them).

use super::{Saved, Store};
use crate::auth::audit::{AuditKind, AuditOutcome, Who};
use crate::coding::on_write::{self, CodingValidation};
use crate::db::resources::{self, NewVersion};
use crate::db::{audit, indexes, projections, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::index::{self, IndexEntry};
use crate::fhir::json::{now_ms, patient_of_stored};
use crate::fhir::resource::{self, stamp};
use crate::records::deficiency;
use serde_json::Value;

/// A checked resource with its index values, ready to write.
pub struct Prepared {
    pub res_type: String,
    pub resource: Value,
    pub entries: Vec<IndexEntry>,
    /// Coding warnings to report with the write (validation on write, `warn` mode).
    pub warnings: Vec<crate::fhir::outcome::Issue>,
}

/// Validates (FHIR rules, then ICD-10 codes per `coding`) and extracts index values
/// (CPU work kept outside the transaction).
pub fn prepare(
    res_type: &str,
    url_id: Option<&str>,
    body: Value,
    coding: CodingValidation,
) -> AppResult<Prepared> {
    let resource = resource::prepare(
        body,
        &resource::Expect {
            res_type,
            id: url_id,
        },
    )?;
    let warnings = on_write::check(coding, res_type, &resource)?;
    let entries = index::extract(&resource)
        .map_err(|e| AppError::internal(format!("index extraction failed for {res_type}: {e}")))?;
    Ok(Prepared {
        res_type: res_type.to_string(),
        resource,
        entries,
        warnings,
    })
}

/// Rejects a write whose `If-Match` version is not the current one.
fn check_if_match(if_match: Option<i64>, current: Option<i64>, what: &str) -> AppResult<()> {
    match (if_match, current) {
        (Some(expected), Some(actual)) if expected != actual => Err(AppError::PreconditionFailed(
            format!("{what} is at version {actual}, not {expected} (If-Match)"),
        )),
        (Some(expected), None) => Err(AppError::PreconditionFailed(format!(
            "{what} does not exist, so it is not at version {expected}"
        ))),
        _ => Ok(()),
    }
}

/// Where a new version goes: its row key and number, when it is written, and whether the
/// write brings the resource into being.
pub struct Slot {
    pub rk: i64,
    pub version: i64,
    pub last_updated: i64,
    pub created: bool,
}

impl Slot {
    /// The slot of a first version whose id [`resources::claim_id`] (or `claim_ids`)
    /// claimed at `now`.
    pub fn claimed(rk: i64, now: i64) -> Slot {
        Slot {
            rk,
            version: 1,
            last_updated: now,
            created: true,
        }
    }
}

/// Writes a new version of `res_type/id` (creating it when absent) inside a transaction.
pub fn put_in(
    conn: &mut Conn,
    prepared: Prepared,
    id: &str,
    if_match: Option<i64>,
    method: &str,
) -> AppResult<Saved> {
    let slot = claim_or_lock(conn, &prepared.res_type, id, if_match, method)?;
    write_in(conn, prepared, id, slot, method)
}

/// The slot of the next version of `res_type/id`: a new id claimed, or the current row
/// locked and `if_match` checked against it.
fn claim_or_lock(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    if_match: Option<i64>,
    method: &str,
) -> AppResult<Slot> {
    let now = now_ms();
    let what = format!("{res_type}/{id}");
    // a POST's id is new (server-assigned): claiming it is the look-up
    let mut current = if method == "POST" {
        None
    } else {
        resources::lock_current(conn, res_type, id)?
    };
    if current.is_none() {
        check_if_match(if_match, None, &what)?;
        if let Some(rk) = resources::claim_id(conn, res_type, id, now)? {
            return Ok(Slot::claimed(rk, now));
        }
        // another writer created it between our look and our insert
        current = resources::lock_current(conn, res_type, id)?;
    }
    let Some(row) = current else {
        return Err(AppError::Conflict(format!(
            "{what} was being written concurrently; retry"
        )));
    };
    let live = (row.deleted == 0).then_some(row.version);
    if if_match.is_some() {
        check_if_match(if_match, live, &what)?;
    }
    Ok(Slot {
        rk: row.rk,
        version: row.version + 1,
        last_updated: now.max(row.last_updated + 1),
        created: row.deleted != 0,
    })
}

/// Writes `prepared` as `res_type/id` into `slot`: the version, its index rows and
/// projections, and the deficiency rules' note of the write.
pub fn write_in(
    conn: &mut Conn,
    prepared: Prepared,
    id: &str,
    slot: Slot,
    method: &str,
) -> AppResult<Saved> {
    let Prepared {
        res_type,
        mut resource,
        mut entries,
        warnings,
    } = prepared;
    let Slot {
        rk,
        version,
        last_updated,
        created,
    } = slot;
    if res_type == "Encounter" {
        // the coding-status extension is server-owned: it follows the coding Task
        let fresh = method == "POST" && version == 1;
        crate::records::coding_status::carry_over(conn, id, fresh, &mut resource, &mut entries)?;
    }
    stamp(&mut resource, id, version, last_updated);
    let content = serde_json::to_string(&resource).map_err(AppError::internal)?;
    resources::append_version(
        conn,
        NewVersion {
            rk,
            res_type: &res_type,
            res_id: id,
            version,
            last_updated,
            method,
            content: Some(content.clone()),
        },
    )?;
    indexes::replace(conn, rk, &res_type, &entries, version == 1)?;
    projections::write(conn, &res_type, rk, &resource, version == 1)?;
    deficiency::touched(conn, &res_type, id, version, Some(&resource))?;
    Ok(Saved {
        res_type,
        id: id.to_string(),
        version,
        last_updated,
        content: Some(content),
        created,
        warnings,
    })
}

/// Logically deletes `res_type/id`; Ok(None) when it was already deleted.
pub fn delete_in(
    conn: &mut Conn,
    res_type: &str,
    id: &str,
    if_match: Option<i64>,
) -> AppResult<Option<Saved>> {
    let what = format!("{res_type}/{id}");
    let Some(row) = resources::lock_current(conn, res_type, id)? else {
        return Err(AppError::NotFound(format!("{what} is not known")));
    };
    if row.deleted != 0 {
        return Ok(None);
    }
    check_if_match(if_match, Some(row.version), &what)?;
    let version = row.version + 1;
    let last_updated = now_ms().max(row.last_updated + 1);
    resources::append_version(
        conn,
        NewVersion {
            rk: row.rk,
            res_type,
            res_id: id,
            version,
            last_updated,
            method: "DELETE",
            content: None,
        },
    )?;
    indexes::clear(conn, row.rk)?;
    projections::clear(conn, res_type, row.rk)?;
    deficiency::touched(conn, res_type, id, version, None)?;
    Ok(Some(Saved {
        res_type: res_type.to_string(),
        id: id.to_string(),
        version,
        last_updated,
        content: None,
        created: false,
        warnings: Vec::new(),
    }))
}

/// Records a successful write in the audit trail, inside the write's transaction.
pub fn audit_write(conn: &mut Conn, who: &Who, kind: AuditKind, saved: &Saved) -> AppResult<()> {
    let patient = saved
        .content
        .as_deref()
        .and_then(|content| patient_of_stored(&saved.res_type, &saved.id, content));
    let entity = format!("{}/{}/_history/{}", saved.res_type, saved.id, saved.version);
    let record = who.record(kind, AuditOutcome::Success, vec![entity], patient);
    audit::append(conn, vec![record], now_ms())
}

/// Create, or update when the write brought the resource into being.
pub fn put_kind(saved: &Saved) -> AuditKind {
    if saved.created {
        AuditKind::Create
    } else {
        AuditKind::Update
    }
}

/// Checks a write against the caller's scope queries and records it in the audit trail,
/// inside the write's transaction.
pub fn checked_audit(
    conn: &mut Conn,
    who: &Who,
    access: &crate::auth::Access,
    kind: AuditKind,
    saved: &Saved,
) -> AppResult<()> {
    super::access::check_written(conn, access, &saved.res_type, &saved.id)?;
    audit_write(conn, who, kind, saved)
}

impl Store {
    /// Forgets cached Consents after a committed write of `res_type` (a Consent).
    pub fn written(&self, res_type: &str) {
        if res_type == "Consent" {
            self.consents.invalidate();
        }
    }

    /// The `coding_validation` setting.
    pub fn coding_validation(&self) -> CodingValidation {
        CodingValidation::from_setting(&self.config.coding_validation)
    }

    /// `POST [type]`: stores the body under a new server-assigned id.
    pub fn create(
        &self,
        who: &Who,
        access: &crate::auth::Access,
        res_type: &str,
        body: Value,
    ) -> AppResult<Saved> {
        let prepared = prepare(res_type, None, body, self.coding_validation())?;
        let id = resource::new_id();
        let saved = self.db.transaction(|conn| {
            let saved = put_in(conn, prepared, &id, None, "POST")?;
            checked_audit(conn, who, access, AuditKind::Create, &saved)?;
            Ok(saved)
        })?;
        self.written(res_type);
        Ok(saved)
    }

    /// `PUT [type]/[id]`: a new version, or the first one (update-as-create).
    pub fn update(
        &self,
        who: &Who,
        access: &crate::auth::Access,
        res_type: &str,
        id: &str,
        body: Value,
        if_match: Option<i64>,
    ) -> AppResult<Saved> {
        if !resource::is_valid_id(id) {
            return Err(AppError::invalid_at(
                format!("'{id}' is not a valid FHIR id"),
                format!("{res_type}.id"),
            ));
        }
        let prepared = prepare(res_type, Some(id), body, self.coding_validation())?;
        let saved = self.db.transaction(|conn| {
            let saved = put_in(conn, prepared, id, if_match, "PUT")?;
            checked_audit(conn, who, access, put_kind(&saved), &saved)?;
            Ok(saved)
        })?;
        self.written(res_type);
        Ok(saved)
    }

    /// `DELETE [type]/[id]`.
    pub fn delete(
        &self,
        who: &Who,
        res_type: &str,
        id: &str,
        if_match: Option<i64>,
    ) -> AppResult<Option<Saved>> {
        let saved = self.db.transaction(|conn| {
            let saved = delete_in(conn, res_type, id, if_match)?;
            if let Some(saved) = &saved {
                audit_write(conn, who, AuditKind::Delete, saved)?;
            }
            Ok(saved)
        })?;
        self.written(res_type);
        Ok(saved)
    }
}
