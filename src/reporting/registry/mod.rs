//! Registry extracts: select a registry's patients page by page from the projections,
//! assemble each patient's record, de-identify it, write it in the destination format, and
//! record one disclosure (purpose PUBHLTH, recipient the registry) per patient in the
//! audit trail — only once the whole extract has been written, so a failed extract
//! records nothing. Memory stays flat: one page of patients at a time, disclosures
//! spooled to an unlinked temporary file.

pub mod definition;
pub mod elements;
pub mod output;
mod params;
pub mod record;
pub mod select;
mod spool;

pub use definition::{all as definitions, find as find_definition, Definition};
pub use output::Format;
pub use select::Period;
pub use spool::anonymous_file;

use crate::auth::audit::{AuditKind, AuditOutcome, Disclosure, Who};
use crate::auth::Access;
use crate::error::{AppError, AppResult};
use crate::fhir::json::{now_ms, patient_of, security_codes};
use crate::reporting::deid::{Deidentifier, Mode};
use crate::store::Store;
use std::io::Write;

/// Patients per page by default.
pub const PAGE: usize = 200;
/// Disclosure records per insert batch.
const DISCLOSURE_BATCH: usize = 500;

/// What to extract.
#[derive(Debug, Clone)]
pub struct ExtractParams {
    pub registry: String,
    pub period: Period,
    pub format: Format,
    /// None: the registry's default.
    pub deidentify: Option<Mode>,
    /// None: the registry's default recipient.
    pub recipient: Option<String>,
    /// FHIR base for Bundle `fullUrl`s.
    pub base_url: Option<String>,
    /// Patients read per page: the memory an extract holds is about one page.
    pub page_size: usize,
}

/// What an extract sent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExtractSummary {
    pub patients: u64,
    pub resources: u64,
    pub recipient: String,
    pub mode: &'static str,
}

/// Runs one extract into `out` and records the disclosures. `access` limits what is read
/// (sealed records without clearance, Consent); a patient-confined caller is refused.
pub fn extract(
    store: &Store,
    params: &ExtractParams,
    access: &Access,
    who: &Who,
    out: &mut dyn Write,
) -> AppResult<ExtractSummary> {
    let definition = definition::find(&params.registry)?;
    params.format.check(definition)?;
    if access.patient.is_some() {
        return Err(AppError::Forbidden(
            "a registry extract covers a population: a patient-scoped token cannot run it".into(),
        ));
    }
    let mode = params
        .deidentify
        .unwrap_or_else(|| definition.default_mode());
    let secret = match (mode, store.config.registry_secret.as_deref()) {
        (Mode::None, _) => "",
        (_, Some(secret)) => secret,
        (_, None) => {
            return Err(AppError::ServiceUnavailable(
                "de-identified extracts need a pseudonym secret: set registry_secret (CHARTROOM_REGISTRY_SECRET)".into(),
            ))
        }
    };
    let deid = Deidentifier::new(
        mode,
        secret.as_bytes(),
        &definition.name,
        chrono::Utc::now().date_naive(),
    );
    let recipient = params
        .recipient
        .clone()
        .unwrap_or_else(|| definition.recipient.clone());
    let denied = store.denied_patients(
        access,
        &[
            "Patient",
            "Condition",
            "Observation",
            "MedicationRequest",
            "Procedure",
        ],
    )?;
    let visible = |r: &serde_json::Value| {
        access.label_allows(&security_codes(r))
            && !patient_of(r).is_some_and(|p| denied.contains(&p))
    };
    let mut writer = output::Writer::new(params.format, definition, params.base_url.clone(), mode);
    let mut disclosures = spool::DisclosureSpool::new()?;
    let mut summary = ExtractSummary {
        recipient: recipient.clone(),
        mode: mode.code(),
        ..ExtractSummary::default()
    };
    writer.begin(out)?;
    let mut after = String::new();
    loop {
        let mut conn = store.db.read()?;
        let ids = select::patient_page(
            &mut conn,
            definition,
            &params.period,
            &after,
            params.page_size.max(1),
        )?;
        let Some(last) = ids.last() else { break };
        after = last.clone();
        let page = select::page_resources(&mut conn, definition, &params.period, &ids)?;
        drop(conn);
        for record in record::assemble(definition, page, visible) {
            let entities = record.entities();
            summary.patients += 1;
            summary.resources += entities.len() as u64;
            disclosures.push(&record.patient_id(), &entities)?;
            writer.record(out, &record.map(|r| deid.resource(r)), &record)?;
        }
    }
    writer.finish(out)?;
    let note = format!(
        "registry extract '{}' ({}, de-identification {})",
        definition.name,
        params.format.code(),
        mode.code()
    );
    let disclosure = Disclosure {
        recipient,
        purpose: "PUBHLTH".into(),
        note: Some(note),
    };
    let now = now_ms();
    let mut batches = disclosures.batches(DISCLOSURE_BATCH)?;
    store.db.transaction(|conn| {
        while let Some(batch) = batches.next_batch()? {
            let records: Vec<_> = batch
                .into_iter()
                .map(|(patient, entities)| {
                    let mut record = who.record(
                        AuditKind::Operation,
                        AuditOutcome::Success,
                        entities,
                        Some(patient),
                    );
                    record.disclosure = Some(disclosure.clone());
                    record
                })
                .collect();
            crate::db::audit::append(conn, records, now)?;
        }
        Ok(())
    })?;
    Ok(summary)
}
