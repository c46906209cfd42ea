//! Per-request data limits derived from the principal: the patient compartment a
//! `patient/`-scoped caller is confined to, and the sensitivity labels it may not see.

use super::{Action, Principal};

/// Sensitivity labels (v3-ActCode and v3-Confidentiality codes) that seal a record.
pub const SENSITIVE_LABELS: &[&str] = &[
    "SDV", "PSY", "ETH", "HIV", "SEX", "STD", "SICKLE", "SUD", "GDIS", "R", "V",
];

/// Resource types that hold no patient data, readable by any caller allowed the type.
const SHARED_TYPES: &[&str] = &[
    "Practitioner",
    "PractitionerRole",
    "Organization",
    "Location",
    "Medication",
    "Substance",
    "Device",
    "HealthcareService",
    "Endpoint",
    "CodeSystem",
    "ValueSet",
    "ConceptMap",
    "StructureDefinition",
    "SearchParameter",
    "OperationDefinition",
    "CapabilityStatement",
    "NamingSystem",
    "Questionnaire",
    "PlanDefinition",
    "ActivityDefinition",
    "Library",
    "Measure",
];

/// What one request may see of one resource type.
#[derive(Debug, Clone, Default)]
pub struct Access {
    /// Only resources in this patient's compartment (and the Patient itself).
    pub patient: Option<String>,
    /// Records carrying any of these labels are hidden.
    pub hidden_labels: Vec<String>,
    /// Who asks and why, for patient-privacy Consents (None when auth is off).
    pub requester: Option<crate::store::consent::Requester>,
}

impl Access {
    /// The limits for `principal` doing `action` on `res_type`.
    pub fn for_request(principal: &Principal, res_type: &str, action: Action) -> Access {
        let patient = if principal.confined_to_patient(res_type, action)
            && !SHARED_TYPES.contains(&res_type)
        {
            // a patient/ scope without a patient claim confines to nothing at all
            Some(principal.patient.clone().unwrap_or_default())
        } else {
            None
        };
        let hidden_labels = SENSITIVE_LABELS
            .iter()
            .filter(|l| !principal.cleared_for(l))
            .map(|l| l.to_string())
            .collect();
        let requester = (!principal.unrestricted).then(|| crate::store::consent::Requester {
            purpose: principal.purpose_of_use.clone(),
            actors: principal.actors(),
            broke_glass: principal.break_glass_reason.is_some(),
        });
        Access {
            patient,
            hidden_labels,
            requester,
        }
    }

    /// True when a resource with these security label codes may be shown.
    pub fn label_allows(&self, labels: &[String]) -> bool {
        !labels.iter().any(|l| self.hidden_labels.contains(l))
    }

    /// True when nothing is limited (no compartment, no hidden labels).
    pub fn is_unlimited(&self) -> bool {
        self.patient.is_none() && self.hidden_labels.is_empty() && self.requester.is_none()
    }

    pub fn is_shared_type(res_type: &str) -> bool {
        SHARED_TYPES.contains(&res_type)
    }
}
