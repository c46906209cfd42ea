//! Deterministic synthetic patient population generator.
//!
//! Produces Synthea-style FHIR R4 transaction bundles (one per patient, plus a provider
//! bundle loaded first) with ICD-10-CM conditions, ICD-10-PCS procedures, LOINC
//! observations, RxNorm prescriptions and discharge summaries, deliberately seeded coding
//! errors, documentation gaps, sensitive records and duplicate registrations, and the exact
//! ground truth of what was emitted. Same seed, same bytes: all randomness comes from the
//! in-module PRNG, and each patient is generated from its own stream, one at a time.
//! Pure code apart from [`write_population`]; never reads the clock.

mod annotations;
mod care;
mod catalog;
mod diagnoses;
mod events;
mod fhir;
mod geo;
mod names;
mod person;
mod physio;
mod providers;
mod record;
mod resources;
mod rng;
mod seeding;
mod timeline;
mod truth;
mod write;

#[cfg(test)]
mod tests;

use chrono::NaiveDate;

pub use annotations::{DuplicatePair, PatientAnnotations, SeededIssue, SensitiveRecord};
pub use truth::{
    age_band, CategoryCell, CategoryTotals, GroundTruth, PopulationCell, Prevalence, Tally,
    AGE_BANDS,
};
pub use write::{write_population, PROVIDER_FILE};

/// Stable encounter identifier system used on every generated Encounter.
pub const ENCOUNTER_IDENTIFIER_SYSTEM: &str = fhir::ENCOUNTER_ID;

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct SynthConfig {
    /// Number of patient records (seeded duplicates included).
    pub patients: usize,
    /// Seed; equal seeds give byte-identical output.
    pub seed: u64,
    /// Probability per inpatient stay of a seeded coding error, and of a missing discharge
    /// summary; half of it per chronic condition of a missing onset.
    pub error_rate: f64,
    /// First year of activity (encounters start on 1 January).
    pub start_year: i32,
    /// Last year of activity (encounters end by 30 June, the `as_of` day for ages).
    pub end_year: i32,
}

impl SynthConfig {
    /// Defaults: 2% error rate, activity 2019-01-01 to 2026-06-30.
    pub fn new(patients: usize, seed: u64) -> Self {
        SynthConfig {
            patients,
            seed,
            error_rate: 0.02,
            start_year: 2019,
            end_year: 2026,
        }
    }

    /// First day of activity.
    pub fn window_start(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.start_year, 1, 1).unwrap_or_default()
    }

    /// Last day of activity; ages in the ground truth are measured on this day.
    pub fn as_of(&self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.end_year, 6, 30).unwrap_or_default()
    }
}

/// One patient's transaction bundle and what was planted in it.
#[derive(Clone, Debug)]
pub struct PatientBundle {
    /// Stable record key (`pt0000001` …), also the bundle's file stem.
    pub patient_key: String,
    /// The FHIR transaction Bundle.
    pub bundle: serde_json::Value,
    /// Seeded errors, gaps, sensitive records and duplicate link of this record.
    pub annotations: PatientAnnotations,
}

/// The provider bundle (Organizations, then Practitioners; conditional updates by NPI).
pub fn provider_bundle(cfg: &SynthConfig) -> serde_json::Value {
    providers::Providers::new(cfg.seed).bundle()
}

/// Patient bundles in order, generated lazily one at a time.
pub fn patients(cfg: &SynthConfig) -> impl Iterator<Item = PatientBundle> {
    let cfg = cfg.clone();
    let providers = providers::Providers::new(cfg.seed);
    (0..cfg.patients).map(move |index| {
        let ctx = record::RecordContext {
            cfg: &cfg,
            providers: &providers,
            window_start: cfg.window_start(),
            as_of: cfg.as_of(),
        };
        record::build_patient(&ctx, index)
    })
}

fn build_patients<'a>(
    cfg: &'a SynthConfig,
    providers: &'a providers::Providers,
) -> impl Iterator<Item = PatientBundle> + 'a {
    (0..cfg.patients).map(move |index| {
        let ctx = record::RecordContext {
            cfg,
            providers,
            window_start: cfg.window_start(),
            as_of: cfg.as_of(),
        };
        record::build_patient(&ctx, index)
    })
}
