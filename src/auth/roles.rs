//! The records room's roles (`chartroom_roles` claim) and the scopes each gets when its
//! token carries no `scope` claim of its own.

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

/// The default scopes of `role`.
pub fn default_scopes(role: &str) -> Option<&'static str> {
    ROLES
        .iter()
        .find(|(name, _)| *name == role)
        .map(|(_, scopes)| *scopes)
}
