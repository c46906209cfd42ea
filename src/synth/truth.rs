//! Ground truth of a generated population, counted from the emitted bundles themselves
//! (not from the generator's probabilities): resources, encounters, condition counts by
//! ICD-10-CM category x sex x age band x state, prevalence, plus the seeded errors,
//! documentation gaps, duplicate pairs and sensitive records the generator planted.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::annotations::{DuplicatePair, SeededIssue, SensitiveRecord};
use super::fhir::ICD10CM;
use super::{PatientBundle, SynthConfig};

/// Age bands used for stratification (age in whole years at `as_of`).
pub const AGE_BANDS: [&str; 4] = ["0-17", "18-44", "45-64", "65-"];

/// The band of an age in whole years.
pub fn age_band(age: u32) -> &'static str {
    match age {
        0..=17 => AGE_BANDS[0],
        18..=44 => AGE_BANDS[1],
        45..=64 => AGE_BANDS[2],
        _ => AGE_BANDS[3],
    }
}

/// Patients in one stratum.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PopulationCell {
    /// `female` or `male`.
    pub sex: String,
    /// Age band.
    pub age_band: String,
    /// USPS state code of the home address.
    pub state: String,
    /// Patient records.
    pub patients: usize,
}

/// Counts for one category in one stratum.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CategoryCell {
    /// ICD-10-CM category (first three characters).
    pub category: String,
    /// Sex.
    pub sex: String,
    /// Age band.
    pub age_band: String,
    /// State.
    pub state: String,
    /// Patients with at least one Condition in the category.
    pub patients: usize,
    /// Encounters listing such a Condition in Encounter.diagnosis.
    pub encounters: usize,
    /// Condition resources in the category.
    pub conditions: usize,
}

/// Totals for one category.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct CategoryTotals {
    /// Patients with at least one Condition in the category.
    pub patients: usize,
    /// Encounters listing such a Condition in Encounter.diagnosis.
    pub encounters: usize,
    /// Encounters whose rank-1 diagnosis is in the category.
    pub principal_encounters: usize,
    /// Condition resources.
    pub conditions: usize,
}

/// Prevalence over patient records.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Prevalence {
    /// Patients with the category.
    pub numerator: usize,
    /// All patient records.
    pub denominator: usize,
}

/// Everything a benchmark or report test needs to know about a generated population.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct GroundTruth {
    /// Seed.
    pub seed: u64,
    /// Patient records (duplicates included).
    pub patients: usize,
    /// Configured error rate.
    pub error_rate: f64,
    /// First day of activity.
    pub window_start: String,
    /// Last day of activity; ages are measured on this day.
    pub as_of: String,
    /// Resources by type, provider bundle included.
    pub resources: BTreeMap<String, usize>,
    /// Encounters by class code.
    pub encounters: BTreeMap<String, usize>,
    /// Patient records by stratum.
    pub population: Vec<PopulationCell>,
    /// Totals by ICD-10-CM category.
    pub categories: BTreeMap<String, CategoryTotals>,
    /// Counts by category x sex x age band x state.
    pub category_cells: Vec<CategoryCell>,
    /// Prevalence by category.
    pub prevalence: BTreeMap<String, Prevalence>,
    /// Seeded coding errors.
    pub seeded_errors: Vec<SeededIssue>,
    /// Seeded documentation gaps.
    pub documentation_gaps: Vec<SeededIssue>,
    /// True duplicate pairs.
    pub duplicate_pairs: Vec<DuplicatePair>,
    /// Records with sensitivity labels.
    pub sensitive_records: Vec<SensitiveRecord>,
}

type Stratum = (String, String, String);

/// Accumulates ground truth one bundle at a time (memory grows with strata, not patients,
/// apart from the planted-item lists).
pub struct Tally {
    as_of: NaiveDate,
    truth: GroundTruth,
    population: BTreeMap<Stratum, usize>,
    cells: BTreeMap<(String, Stratum), (usize, usize, usize)>,
}

fn str_at<'a>(v: &'a Value, path: &[&str]) -> &'a str {
    path.iter()
        .fold(v, |acc, key| &acc[*key])
        .as_str()
        .unwrap_or_default()
}

impl Tally {
    /// An empty tally.
    pub fn new(cfg: &SynthConfig) -> Self {
        Tally {
            as_of: cfg.as_of(),
            truth: GroundTruth {
                seed: cfg.seed,
                patients: 0,
                error_rate: cfg.error_rate,
                window_start: cfg.window_start().to_string(),
                as_of: cfg.as_of().to_string(),
                resources: BTreeMap::new(),
                encounters: BTreeMap::new(),
                population: Vec::new(),
                categories: BTreeMap::new(),
                category_cells: Vec::new(),
                prevalence: BTreeMap::new(),
                seeded_errors: Vec::new(),
                documentation_gaps: Vec::new(),
                duplicate_pairs: Vec::new(),
                sensitive_records: Vec::new(),
            },
            population: BTreeMap::new(),
            cells: BTreeMap::new(),
        }
    }

    /// Counts the resources of the provider bundle.
    pub fn add_providers(&mut self, bundle: &Value) {
        for entry in bundle["entry"].as_array().into_iter().flatten() {
            *self
                .truth
                .resources
                .entry(str_at(entry, &["resource", "resourceType"]).to_string())
                .or_default() += 1;
        }
    }

    /// Counts one patient bundle and takes over its annotations.
    pub fn add(&mut self, pb: &PatientBundle) {
        let entries = pb.bundle["entry"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut stratum: Stratum = Default::default();
        let mut category_of: BTreeMap<&str, String> = BTreeMap::new();
        for entry in entries {
            let resource = &entry["resource"];
            let kind = str_at(resource, &["resourceType"]);
            *self.truth.resources.entry(kind.to_string()).or_default() += 1;
            match kind {
                "Patient" => stratum = self.stratum_of(resource),
                "Condition" => {
                    let coding = &resource["code"]["coding"][0];
                    if str_at(coding, &["system"]) == ICD10CM {
                        let category: String = str_at(coding, &["code"]).chars().take(3).collect();
                        category_of.insert(str_at(entry, &["fullUrl"]), category);
                    }
                }
                _ => {}
            }
        }
        self.truth.patients += 1;
        *self.population.entry(stratum.clone()).or_default() += 1;
        let mut patient_categories = BTreeSet::new();
        let mut conditions: BTreeMap<&String, usize> = BTreeMap::new();
        for category in category_of.values() {
            patient_categories.insert(category);
            *conditions.entry(category).or_default() += 1;
        }
        let mut encounters: BTreeMap<&String, usize> = BTreeMap::new();
        for entry in entries
            .iter()
            .filter(|e| str_at(e, &["resource", "resourceType"]) == "Encounter")
        {
            let encounter = &entry["resource"];
            *self
                .truth
                .encounters
                .entry(str_at(encounter, &["class", "code"]).to_string())
                .or_default() += 1;
            let mut listed = BTreeSet::new();
            for d in encounter["diagnosis"].as_array().into_iter().flatten() {
                if let Some(category) = category_of.get(str_at(d, &["condition", "reference"])) {
                    listed.insert(category);
                    if d["rank"].as_u64() == Some(1) {
                        self.truth
                            .categories
                            .entry(category.clone())
                            .or_default()
                            .principal_encounters += 1;
                    }
                }
            }
            for category in listed {
                *encounters.entry(category).or_default() += 1;
            }
        }
        for category in patient_categories {
            let totals = self.truth.categories.entry(category.clone()).or_default();
            let n_conditions = conditions.get(category).copied().unwrap_or(0);
            let n_encounters = encounters.get(category).copied().unwrap_or(0);
            totals.patients += 1;
            totals.conditions += n_conditions;
            totals.encounters += n_encounters;
            let cell = self
                .cells
                .entry((category.clone(), stratum.clone()))
                .or_default();
            cell.0 += 1;
            cell.1 += n_encounters;
            cell.2 += n_conditions;
        }
        let ann = &pb.annotations;
        self.truth
            .seeded_errors
            .extend(ann.seeded_errors.iter().cloned());
        self.truth
            .documentation_gaps
            .extend(ann.documentation_gaps.iter().cloned());
        self.truth
            .sensitive_records
            .extend(ann.sensitive_records.iter().cloned());
        self.truth
            .duplicate_pairs
            .extend(ann.duplicate_of.iter().cloned());
    }

    fn stratum_of(&self, patient: &Value) -> Stratum {
        let sex = str_at(patient, &["gender"]).to_string();
        let birth = NaiveDate::parse_from_str(str_at(patient, &["birthDate"]), "%Y-%m-%d")
            .unwrap_or(self.as_of);
        let age = self.as_of.years_since(birth).unwrap_or(0);
        let state = str_at(&patient["address"][0], &["state"]).to_string();
        (sex, age_band(age).to_string(), state)
    }

    /// The finished ground truth.
    pub fn finish(mut self) -> GroundTruth {
        let denominator = self.truth.patients;
        self.truth.population = self
            .population
            .into_iter()
            .map(|((sex, age_band, state), patients)| PopulationCell {
                sex,
                age_band,
                state,
                patients,
            })
            .collect();
        self.truth.category_cells = self
            .cells
            .into_iter()
            .map(
                |((category, (sex, age_band, state)), (patients, encounters, conditions))| {
                    CategoryCell {
                        category,
                        sex,
                        age_band,
                        state,
                        patients,
                        encounters,
                        conditions,
                    }
                },
            )
            .collect();
        self.truth.prevalence = self
            .truth
            .categories
            .iter()
            .map(|(category, totals)| {
                (
                    category.clone(),
                    Prevalence {
                        numerator: totals.patients,
                        denominator,
                    },
                )
            })
            .collect();
        self.truth
    }
}
