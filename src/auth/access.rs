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
    /// The scopes granting the action, as (resource type or `*`, v2 query); None when
    /// auth is off (everything granted).
    pub grants: Option<Vec<Grant>>,
}

/// One scope granting an action: the resource type it names (or `*`) and its v2 query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub resource: String,
    pub query: Option<String>,
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
        let grants = (!principal.unrestricted).then(|| {
            principal
                .scopes
                .iter()
                .filter(|s| s.actions.contains(action.letter()))
                .map(|s| Grant {
                    resource: s.resource.clone(),
                    query: s.query.clone(),
                })
                .collect()
        });
        Access {
            patient,
            hidden_labels,
            requester,
            grants,
        }
    }

    /// True when some scope grants the action on `res_type` (with or without a query).
    pub fn type_allowed(&self, res_type: &str) -> bool {
        match &self.grants {
            None => true,
            Some(grants) => grants
                .iter()
                .any(|g| g.resource == "*" || g.resource == res_type),
        }
    }

    /// The v2 scope queries a `res_type` resource must match one of; None when some
    /// granting scope has no query (or auth is off), so nothing limits the type.
    pub fn queries_for(&self, res_type: &str) -> Option<Vec<String>> {
        let grants = self.grants.as_ref()?;
        let mut queries = Vec::new();
        for g in grants
            .iter()
            .filter(|g| g.resource == "*" || g.resource == res_type)
        {
            match &g.query {
                None => return None,
                Some(q) => queries.push(q.clone()),
            }
        }
        // no granting scope at all: `type_allowed` refuses the type before this matters
        (!queries.is_empty()).then_some(queries)
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
