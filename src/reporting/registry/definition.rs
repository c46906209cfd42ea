//! Registry definitions: which patients (ICD-10-CM code ranges, period rule), which data
//! elements, which formats. Shipped as TOML under `data/registries/`, embedded at build.

use crate::coding::CodeSpec;
use crate::error::{AppError, AppResult};
use crate::reporting::deid::Mode;
use once_cell::sync::Lazy;
use serde::Deserialize;

const SHIPPED: &[&str] = &[
    include_str!("../../../data/registries/cancer.toml"),
    include_str!("../../../data/registries/diabetes.toml"),
    include_str!("../../../data/registries/hypertension.toml"),
];

/// When a qualifying Condition counts for the period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum PeriodRule {
    /// Diagnosis date (onset, else recorded date) in the period.
    Diagnosed,
    /// Onset on or before the period end and not abated before its start.
    Active,
}

/// A series of Observations sent with each record.
#[derive(Debug, Clone, Deserialize)]
pub struct ObservationSet {
    pub label: String,
    /// LOINC codes (the Observation's own code or a component's).
    pub codes: Vec<String>,
}

/// Treatments sent with each record.
#[derive(Debug, Clone, Deserialize, Default)]
pub struct Treatment {
    #[serde(default)]
    pub procedures: bool,
    #[serde(default)]
    pub medications: bool,
    /// RxNorm codes included even without a reason link.
    #[serde(default)]
    pub medication_codes: Vec<String>,
}

/// One registry.
#[derive(Debug, Clone, Deserialize)]
pub struct Definition {
    pub name: String,
    pub title: String,
    /// Default recipient recorded in the disclosure.
    pub recipient: String,
    /// ICD-10-CM code spec (`C00-D49`, `E08-E13`, `E10,E11`).
    pub codes: String,
    pub period_rule: PeriodRule,
    pub formats: Vec<String>,
    pub default_deidentify: String,
    /// One CSV row / NAACCR Tumor per qualifying Condition (else one row per patient).
    #[serde(default)]
    pub per_condition: bool,
    /// List the qualifying codes other than "without complications" as complications.
    #[serde(default)]
    pub complications: bool,
    #[serde(default)]
    pub observations: Vec<ObservationSet>,
    #[serde(default)]
    pub treatment: Treatment,
    #[serde(skip)]
    spec: Option<CodeSpec>,
}

impl Definition {
    fn parse(text: &str) -> Result<Definition, String> {
        let mut definition: Definition = toml::from_str(text).map_err(|e| e.to_string())?;
        definition.spec = Some(CodeSpec::parse(&definition.codes).ok_or_else(|| {
            format!(
                "{}: codes '{}' is not a code spec",
                definition.name, definition.codes
            )
        })?);
        if Mode::parse(&definition.default_deidentify).is_none() {
            return Err(format!("{}: unknown default_deidentify", definition.name));
        }
        Ok(definition)
    }

    /// True when an ICD-10-CM code (any spelling) qualifies.
    pub fn qualifies(&self, code: &str) -> bool {
        self.spec.as_ref().is_some_and(|s| s.contains(code))
    }

    /// The 3-character category bounds of the code spec, for the SQL pre-filter
    /// (the exact test is [`Definition::qualifies`]).
    pub fn category_bounds(&self) -> Vec<(String, String)> {
        self.codes
            .split(',')
            .filter_map(|item| {
                let item = item.trim().replace('.', "").to_uppercase();
                let (lo, hi) = item.split_once('-').unwrap_or((&item, &item));
                let lo = lo.get(..3)?.to_string();
                let hi = hi.get(..3)?.to_string();
                Some((lo, hi))
            })
            .collect()
    }

    pub fn default_mode(&self) -> Mode {
        Mode::parse(&self.default_deidentify).unwrap_or(Mode::SafeHarbor)
    }

    /// Every LOINC code of the observation sets.
    pub fn observation_codes(&self) -> Vec<&str> {
        self.observations
            .iter()
            .flat_map(|o| o.codes.iter().map(String::as_str))
            .collect()
    }
}

static DEFINITIONS: Lazy<Vec<Definition>> = Lazy::new(|| {
    SHIPPED
        .iter()
        .map(|text| Definition::parse(text).expect("shipped registry definitions parse"))
        .collect()
});

/// The shipped registries.
pub fn all() -> &'static [Definition] {
    &DEFINITIONS
}

/// The registry named `name` (404 when none is).
pub fn find(name: &str) -> AppResult<&'static Definition> {
    all().iter().find(|d| d.name == name).ok_or_else(|| {
        AppError::NotFound(format!(
            "no registry '{name}'; registries: {}",
            all()
                .iter()
                .map(|d| d.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_definitions_parse_and_select_their_ranges() {
        let cancer = find("cancer").unwrap();
        assert!(cancer.qualifies("C50.911"));
        assert!(cancer.qualifies("D49.9"));
        assert!(!cancer.qualifies("E11.9"));
        let diabetes = find("diabetes").unwrap();
        assert!(diabetes.qualifies("E11.65") && diabetes.qualifies("E08.9"));
        assert!(!diabetes.qualifies("E14") && !diabetes.qualifies("E07.9"));
        let hypertension = find("hypertension").unwrap();
        assert!(hypertension.qualifies("I10") && hypertension.qualifies("I1A.0"));
        assert!(hypertension.qualifies("I16.9") && !hypertension.qualifies("I20.9"));
        assert_eq!(
            hypertension.category_bounds(),
            vec![("I10".to_string(), "I1A".to_string())]
        );
        assert!(find("dental").is_err());
    }
}
