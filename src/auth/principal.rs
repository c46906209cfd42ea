//! Who is asking, and what they may do.

use super::scopes::{Action, Context, Scope};

/// The caller of one request.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub scopes: Vec<Scope>,
    /// The patient a `patient/` scope confines the caller to.
    pub patient: Option<String>,
    pub roles: Vec<String>,
    /// Sensitivity codes the caller may see (`*` for all).
    pub clearances: Vec<String>,
    pub may_break_glass: bool,
    pub purpose_of_use: String,
    /// The `fhirUser` claim (e.g. `Practitioner/123`).
    pub fhir_user: Option<String>,
    /// True only when authentication is switched off: every check passes.
    pub unrestricted: bool,
    /// The stated reason when this request breaks the glass.
    pub break_glass_reason: Option<String>,
}

impl Principal {
    /// The caller when `CHARTROOM_AUTH=off`.
    pub fn unrestricted() -> Principal {
        Principal {
            subject: "anonymous (auth off)".into(),
            scopes: Vec::new(),
            patient: None,
            roles: Vec::new(),
            clearances: vec!["*".into()],
            may_break_glass: false,
            purpose_of_use: "TREAT".into(),
            fhir_user: None,
            unrestricted: true,
            break_glass_reason: None,
        }
    }

    /// Breaks the glass for this request: every sealed record becomes visible, and the
    /// purpose of use becomes BTG. Refused unless the token carries `chartroom_btg` and a
    /// reason is given.
    pub fn break_glass(&mut self, reason: &str) -> Result<(), String> {
        if !self.may_break_glass {
            return Err("this token may not break the glass".into());
        }
        if reason.trim().is_empty() {
            return Err("breaking the glass needs a reason (X-Break-Glass-Reason)".into());
        }
        self.clearances = vec!["*".into()];
        self.purpose_of_use = "BTG".into();
        self.break_glass_reason = Some(reason.trim().to_string());
        Ok(())
    }

    /// References naming the caller, for Consent actors: the `fhirUser` claim and the subject.
    pub fn actors(&self) -> Vec<String> {
        self.fhir_user
            .iter()
            .cloned()
            .chain(std::iter::once(self.subject.clone()))
            .collect()
    }

    /// True when some scope grants `action` on `res_type`.
    pub fn may(&self, res_type: &str, action: Action) -> bool {
        self.unrestricted || self.scopes.iter().any(|s| s.grants(res_type, action))
    }

    /// True when the only scopes granting `action` on `res_type` are `patient/` scopes, so the
    /// caller is confined to the compartment of `self.patient`.
    pub fn confined_to_patient(&self, res_type: &str, action: Action) -> bool {
        !self.unrestricted
            && !self
                .scopes
                .iter()
                .any(|s| s.context != Context::Patient && s.grants(res_type, action))
    }

    /// True when the caller may see records labelled with `code`.
    pub fn cleared_for(&self, code: &str) -> bool {
        self.unrestricted || self.clearances.iter().any(|c| c == "*" || c == code)
    }
}
