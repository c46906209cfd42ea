//! What the generator did on purpose to one patient record (seeded coding errors,
//! documentation gaps, sensitive records, duplicate registration), carried next to the
//! bundle so ground truth never has to guess intent from the data.

use serde::{Deserialize, Serialize};

/// A seeded coding error or documentation gap.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SeededIssue {
    /// Expected edit id (e.g. `header-code`, `missing-discharge-summary`).
    pub edit_id: String,
    /// Patient record key.
    pub patient_key: String,
    /// Patient fullUrl in the bundle (`urn:uuid:...`).
    pub patient: String,
    /// Encounter fullUrl.
    pub encounter: String,
    /// `Encounter.identifier` value (system `urn:chartroom:synth:encounter`).
    pub encounter_identifier: String,
    /// Encounter class (`AMB` or `IMP`).
    pub encounter_class: String,
    /// The Condition concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The code concerned, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// Human-readable detail.
    pub detail: String,
}

/// A record carrying sensitivity labels.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SensitiveRecord {
    /// Patient record key.
    pub patient_key: String,
    /// Patient fullUrl.
    pub patient: String,
    /// Resource type.
    pub resource_type: String,
    /// Resource fullUrl.
    pub resource: String,
    /// Resource id.
    pub id: String,
    /// ICD-10-CM code.
    pub code: String,
    /// Labels (`meta.security` codes).
    pub labels: Vec<String>,
}

/// A true duplicate pair for the master patient index.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct DuplicatePair {
    /// Earlier record key.
    pub original_key: String,
    /// Later (duplicate) record key.
    pub duplicate_key: String,
    /// Earlier Patient fullUrl.
    pub original: String,
    /// Duplicate Patient fullUrl.
    pub duplicate: String,
    /// Earlier MRN.
    pub original_mrn: String,
    /// Duplicate MRN.
    pub duplicate_mrn: String,
    /// What differs (`typo-family`, `typo-given`, `swapped-names`, `nickname`, `moved-address`, `ssn-missing`).
    pub variations: Vec<String>,
}

/// Everything seeded into one patient record.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PatientAnnotations {
    /// Seeded coding errors.
    pub seeded_errors: Vec<SeededIssue>,
    /// Seeded documentation gaps.
    pub documentation_gaps: Vec<SeededIssue>,
    /// Sensitive records.
    pub sensitive_records: Vec<SensitiveRecord>,
    /// Set when this record duplicates an earlier one.
    pub duplicate_of: Option<DuplicatePair>,
}
