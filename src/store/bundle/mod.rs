//! Transaction and batch Bundles (http.html#transaction) as services. A transaction is
//! planned outside the database transaction (conditional matches looked up on a read
//! connection, ids assigned, references rewritten, every resource validated and indexed),
//! then written in one database transaction that first re-checks the conditional matches
//! and starts over (at most three times) if a concurrent writer changed them.

mod exec;
mod local;
pub mod plan;

use super::entry_access::EntryGuard;
use super::Store;
use crate::db::Conn;
use crate::error::{AppError, AppResult};
use crate::fhir::bundle::BundleBuilder;
use crate::fhir::transaction::{self, BundleKind, EntryRequest, EntryResponse};
use serde_json::Value;

/// How many times a transaction is re-planned when its conditional matches moved.
const ATTEMPTS: usize = 3;

/// Work run inside the same database transaction after the entries (import bookkeeping).
pub type Hook<'a> = &'a dyn Fn(&mut Conn) -> AppResult<()>;

impl Store {
    /// `POST [base]` with a transaction or batch Bundle; returns the response Bundle.
    /// `minimal` leaves the resources out of the response entries (`Prefer: return=minimal`).
    /// `guard` checks each entry against the caller's access and audits it.
    pub fn process_bundle(
        &self,
        bundle: Value,
        base: &str,
        minimal: bool,
        guard: &EntryGuard,
    ) -> AppResult<Value> {
        let kind = transaction::bundle_kind(&bundle)?;
        let parsed = transaction::entries(bundle, base);
        let responses = match kind {
            BundleKind::Transaction => {
                let entries = parsed.into_iter().collect::<AppResult<Vec<_>>>()?;
                for entry in &entries {
                    guard.check_request(entry)?;
                }
                let mut out = self.run_guarded(&entries, minimal, &|_| Ok(()), guard)?;
                out.sort_by_key(|(i, _)| *i);
                out.into_iter().map(|(_, r)| r).collect()
            }
            BundleKind::Batch => parsed
                .into_iter()
                .map(|entry| self.run_batch_entry(entry, minimal, guard))
                .collect::<Vec<_>>(),
        };
        let mut reply = BundleBuilder::new(match kind {
            BundleKind::Transaction => "transaction-response",
            BundleKind::Batch => "batch-response",
        });
        for response in &responses {
            reply.entry(response.to_entry(base));
        }
        Ok(reply.build())
    }

    /// Runs `entries` all-or-nothing; `hook` runs last inside the same transaction.
    /// Returns (entry index, response) in processing order.
    pub fn run_transaction(
        &self,
        entries: &[EntryRequest],
        minimal: bool,
        hook: Hook<'_>,
    ) -> AppResult<Vec<(usize, EntryResponse)>> {
        self.run_guarded(entries, minimal, hook, &EntryGuard::unchecked())
    }

    /// `run_transaction` with each step checked and audited by `guard`.
    fn run_guarded(
        &self,
        entries: &[EntryRequest],
        minimal: bool,
        hook: Hook<'_>,
        guard: &EntryGuard,
    ) -> AppResult<Vec<(usize, EntryResponse)>> {
        let questions = plan::questions(entries);
        for _ in 0..ATTEMPTS {
            let answers = if questions.is_empty() {
                plan::Answers::new()
            } else {
                plan::answer(&mut self.db.read()?, &questions)?
            };
            let steps = plan::plan(entries, &answers, self.coding_validation())?;
            let done = self.db.transaction(|conn| {
                if !questions.is_empty() && plan::answer(conn, &questions)? != answers {
                    return Ok(None);
                }
                let out = exec::execute(conn, steps, minimal, self.coding_validation(), guard)?;
                hook(conn)?;
                Ok(Some(out))
            })?;
            if let Some(out) = done {
                if entries.iter().any(|e| e.res_type == "Consent") {
                    self.written("Consent");
                }
                return Ok(out);
            }
        }
        Err(AppError::Conflict(
            "the resources matched by the Bundle's conditions kept changing; retry".into(),
        ))
    }

    /// One batch entry in its own transaction; failures become the entry's outcome.
    fn run_batch_entry(
        &self,
        entry: AppResult<EntryRequest>,
        minimal: bool,
        guard: &EntryGuard,
    ) -> EntryResponse {
        let entity = entry
            .as_ref()
            .map(|e| format!("Bundle.entry[{}] {}", e.index, e.res_type))
            .unwrap_or_else(|_| "Bundle.entry".into());
        let result = entry.and_then(|e| {
            guard.check_request(&e)?;
            self.run_guarded(&[e], minimal, &|_| Ok(()), guard)
        });
        match result {
            Ok(mut out) => out.pop().map(|(_, r)| r).unwrap_or_default(),
            Err(err) => {
                if let Some(record) = guard.failure(&err, entity) {
                    self.audit.record(record);
                }
                if let AppError::Internal(detail) = &err {
                    tracing::error!(%detail, "batch entry failed");
                }
                EntryResponse {
                    status: err.status(),
                    outcome: Some(err.to_operation_outcome()),
                    ..Default::default()
                }
            }
        }
    }
}
