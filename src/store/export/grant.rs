//! The requester of an export, kept with the job: its token's access, so a job resumed
//! after a restart runs with exactly the access it was started with.

use crate::auth::scopes::{Context, Scope};
use crate::auth::{Access, Action, Principal};
use serde::{Deserialize, Serialize};

/// What of the requester's principal the export needs, in storable form.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Grant {
    pub subject: String,
    /// Scopes in their SMART text form (`patient/*.rs`).
    pub scopes: Vec<String>,
    pub patient: Option<String>,
    pub clearances: Vec<String>,
    pub purpose_of_use: String,
    pub fhir_user: Option<String>,
    pub unrestricted: bool,
    pub break_glass_reason: Option<String>,
}

fn scope_text(scope: &Scope) -> String {
    let context = match scope.context {
        Context::Patient => "patient",
        Context::User => "user",
        Context::System => "system",
    };
    let mut text = format!("{context}/{}.{}", scope.resource, scope.actions);
    if let Some(query) = &scope.query {
        text.push('?');
        text.push_str(query);
    }
    text
}

impl Grant {
    /// The storable form of `principal`.
    pub fn of(principal: &Principal) -> Grant {
        Grant {
            subject: principal.subject.clone(),
            scopes: principal.scopes.iter().map(scope_text).collect(),
            patient: principal.patient.clone(),
            clearances: principal.clearances.clone(),
            purpose_of_use: principal.purpose_of_use.clone(),
            fhir_user: principal.fhir_user.clone(),
            unrestricted: principal.unrestricted,
            break_glass_reason: principal.break_glass_reason.clone(),
        }
    }

    /// The principal back (break-the-glass already applied, as when the job was started).
    pub fn principal(&self) -> Principal {
        Principal {
            subject: self.subject.clone(),
            scopes: self.scopes.iter().filter_map(|s| Scope::parse(s)).collect(),
            patient: self.patient.clone(),
            roles: Vec::new(),
            clearances: self.clearances.clone(),
            may_break_glass: false,
            purpose_of_use: self.purpose_of_use.clone(),
            fhir_user: self.fhir_user.clone(),
            unrestricted: self.unrestricted,
            break_glass_reason: self.break_glass_reason.clone(),
        }
    }

    /// The data limits of exporting `res_type` (those of searching it).
    pub fn access(&self, res_type: &str) -> Access {
        Access::for_request(&self.principal(), res_type, Action::Search)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_survive_the_round_trip() {
        let mut principal = Principal::unrestricted();
        principal.unrestricted = false;
        principal.scopes = crate::auth::scopes::parse_all(
            "patient/*.rs user/Observation.read system/Patient.cruds?active=true",
        );
        principal.patient = Some("p1".into());
        let back = Grant::of(&principal).principal();
        assert_eq!(back.scopes, principal.scopes);
        assert_eq!(back.patient.as_deref(), Some("p1"));
        assert!(back.confined_to_patient("Condition", Action::Search));
        assert!(!back.confined_to_patient("Observation", Action::Search));
    }
}
