//! Per-entry authorization and audit of transaction and batch Bundles: each entry needs a
//! scope for its interaction; an entry that reads, updates, patches or deletes a resource
//! needs that resource to be visible to the caller (compartment, labels, Consent, scope
//! query: 404 otherwise); a written resource must stay in the caller's compartment and
//! match its scope queries (403). Each successful entry is recorded in the audit trail
//! inside the Bundle's transaction.

use super::access::{check_row, in_patient_compartment, matches_queries};
use super::bundle::plan::{Action as Planned, Step};
use super::consent::PatientConsent;
use crate::auth::audit::{AuditKind, AuditOutcome, AuditRecord, Who};
use crate::auth::{Access, Action, Principal};
use crate::db::{resources, Conn};
use crate::error::{AppError, AppResult};
use crate::fhir::json::{patient_of, patient_of_stored};
use crate::fhir::transaction::{EntryRequest, EntryResponse, Method};
use std::sync::Arc;

/// The caller of a Bundle, for the checks of its entries. `None` inside: no checks and no
/// per-entry audit (server-side work such as `chartroom import`).
pub struct EntryGuard {
    caller: Option<Caller>,
}

struct Caller {
    principal: Principal,
    who: Who,
    consents: Arc<Vec<PatientConsent>>,
}

/// What an entry was found to touch before it ran.
pub struct Checked {
    index: usize,
    res_type: String,
    kind: AuditKind,
    access: Option<Access>,
}

fn action_of(method: Method) -> Action {
    match method {
        Method::Get => Action::Read,
        Method::Post => Action::Create,
        Method::Put | Method::Patch => Action::Update,
        Method::Delete => Action::Delete,
    }
}

impl EntryGuard {
    /// No checks (the server's own work).
    pub fn unchecked() -> EntryGuard {
        EntryGuard { caller: None }
    }

    /// Checks for `principal`; `consents` are the active patient-privacy Consents.
    pub fn for_caller(
        principal: Principal,
        who: Who,
        consents: Arc<Vec<PatientConsent>>,
    ) -> EntryGuard {
        let caller = (!principal.unrestricted).then_some(Caller {
            principal,
            who,
            consents,
        });
        EntryGuard { caller }
    }

    /// Refuses (403, naming the entry) an entry no scope of the caller allows.
    pub fn check_request(&self, entry: &EntryRequest) -> AppResult<()> {
        let Some(caller) = &self.caller else {
            return Ok(());
        };
        let action = action_of(entry.method);
        if caller.principal.may(&entry.res_type, action) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!(
                "Bundle.entry[{}]: the token's scopes do not allow {:?} on {}",
                entry.index, action, entry.res_type
            )))
        }
    }

    /// Before a step runs (inside the transaction): the resource it reads or changes must
    /// be visible to the caller.
    pub fn before(&self, conn: &mut Conn, step: &Step) -> AppResult<Checked> {
        let (kind, action, target) = match &step.action {
            Planned::Write { id, method, .. } => (
                if *method == "POST" {
                    AuditKind::Create
                } else {
                    AuditKind::Update
                },
                if *method == "POST" {
                    Action::Create
                } else {
                    Action::Update
                },
                (*method != "POST").then(|| (id.clone(), None)),
            ),
            Planned::Patch { id, .. } => {
                (AuditKind::Update, Action::Update, Some((id.clone(), None)))
            }
            Planned::Delete { id } => (
                AuditKind::Delete,
                Action::Delete,
                id.clone().map(|id| (id, None)),
            ),
            Planned::Exists { id } => (AuditKind::Read, Action::Read, Some((id.clone(), None))),
            Planned::Read { id, version } => (
                if version.is_some() {
                    AuditKind::Vread
                } else {
                    AuditKind::Read
                },
                Action::Read,
                Some((id.clone(), *version)),
            ),
        };
        let Some(caller) = &self.caller else {
            return Ok(Checked {
                index: step.index,
                res_type: step.res_type.clone(),
                kind,
                access: None,
            });
        };
        let access = Access::for_request(&caller.principal, &step.res_type, action);
        if let Some((id, version)) = target {
            let row = match version {
                Some(v) => resources::read_version(conn, &step.res_type, &id, v)?,
                None => resources::read_current(conn, &step.res_type, &id)?,
            };
            if let Some(row) = row.filter(|r| r.deleted == 0) {
                check_row(conn, &access, &caller.consents, &row)?;
            }
        }
        Ok(Checked {
            index: step.index,
            res_type: step.res_type.clone(),
            kind,
            access: Some(access),
        })
    }

    /// After a step ran (inside the transaction): a written resource stays in the caller's
    /// compartment and matches its scope queries. Returns the entry's audit record, which
    /// the caller appends with the others' before the transaction commits.
    pub fn after(
        &self,
        conn: &mut Conn,
        checked: Checked,
        response: &EntryResponse,
    ) -> AppResult<Option<AuditRecord>> {
        let (Some(caller), Some(access)) = (&self.caller, &checked.access) else {
            return Ok(None);
        };
        let Some((_, id)) = response.target.as_deref().and_then(|t| t.split_once('/')) else {
            return Ok(None);
        };
        let t = checked.res_type.as_str();
        let wrote = matches!(checked.kind, AuditKind::Create | AuditKind::Update);
        if wrote {
            if let Some(patient) = access.patient.as_ref() {
                if !in_patient_compartment(conn, t, id, patient)? {
                    return Err(AppError::Forbidden(format!(
                        "Bundle.entry[{}]: a patient-scoped token may only write {t} data of its own patient",
                        checked.index
                    )));
                }
            }
            if let Some(queries) = access.queries_for(t) {
                if !matches_queries(conn, t, id, &queries)? {
                    return Err(AppError::Forbidden(format!(
                        "Bundle.entry[{}]: the {t} written does not match the query of the token's scope",
                        checked.index
                    )));
                }
            }
        }
        if checked.kind == AuditKind::Delete && response.version.is_none() {
            return Ok(None);
        }
        let patient = match &response.resource {
            Some(resource) => patient_of(resource),
            None => resources::read_current(conn, t, id)?
                .and_then(|r| r.content)
                .and_then(|c| patient_of_stored(t, id, &c)),
        };
        let entity = match response.version {
            Some(v) => format!("{t}/{id}/_history/{v}"),
            None => format!("{t}/{id}"),
        };
        Ok(Some(caller.who.record(
            checked.kind,
            AuditOutcome::Success,
            vec![entity],
            patient,
        )))
    }

    /// The audit record of a failed batch entry (written by the caller outside the entry's
    /// rolled-back transaction): denied for 403, failed otherwise; None for unchecked work.
    pub fn failure(&self, error: &AppError, entity: String) -> Option<AuditRecord> {
        let caller = self.caller.as_ref()?;
        let outcome = match error {
            AppError::Forbidden(_) => AuditOutcome::Denied,
            _ => AuditOutcome::Failed,
        };
        Some(
            caller
                .who
                .record(AuditKind::Operation, outcome, vec![entity], None),
        )
    }
}
