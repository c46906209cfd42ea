//! The records room's roles (`chartroom_roles` claim) and the scopes each gets when its
//! token carries no `scope` claim of its own; the `[roles]` table of the configuration
//! file replaces the built-in scopes of the roles it names (and may add roles).

/// Role name → default SMART scopes.
pub const ROLES: &[(&str, &str)] = &[
    ("clinician", "user/*.cruds"),
    ("coder", "user/*.rs user/Encounter.u user/Condition.cu user/Procedure.cu user/Claim.cu"),
    ("records-technician", "user/*.rs user/*.cu"),
    ("billing", "user/Patient.rs user/Encounter.rs user/Condition.rs user/Procedure.rs user/Coverage.rs user/Claim.crus"),
    ("registrar", "user/Patient.crus user/Encounter.crus user/Coverage.crus user/RelatedPerson.crus"),
    ("auditor", "user/AuditEvent.rs user/*.rs"),
    ("privacy-officer", "user/AuditEvent.rs user/Consent.cruds user/*.rs"),
    ("integration", "system/*.cruds"),
];

/// The default scopes of `role`: from `configured` when it names the role, else built in.
pub fn default_scopes<'a>(
    role: &str,
    configured: &'a std::collections::BTreeMap<String, String>,
) -> Option<&'a str> {
    configured.get(role).map(String::as_str).or_else(|| {
        ROLES
            .iter()
            .find(|(name, _)| *name == role)
            .map(|(_, scopes)| *scopes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configured_roles_replace_built_in_ones() {
        let mut configured = std::collections::BTreeMap::new();
        configured.insert("coder".to_string(), "user/Condition.rs".to_string());
        assert_eq!(
            default_scopes("coder", &configured),
            Some("user/Condition.rs")
        );
        assert_eq!(
            default_scopes("clinician", &configured),
            Some("user/*.cruds")
        );
        assert_eq!(default_scopes("nobody", &configured), None);
    }
}
