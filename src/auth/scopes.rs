//! SMART App Launch scopes, v2 (`patient/Observation.rs`, `user/*.cruds`,
//! `patient/Observation.rs?category=laboratory`) and v1 (`patient/*.read`, `user/Patient.write`).

/// What an interaction does to a resource type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Create,
    Read,
    Update,
    Delete,
    Search,
}

impl Action {
    /// The SMART v2 permission letter (`c`, `r`, `u`, `d`, `s`).
    pub fn letter(self) -> char {
        match self {
            Action::Create => 'c',
            Action::Read => 'r',
            Action::Update => 'u',
            Action::Delete => 'd',
            Action::Search => 's',
        }
    }
}

/// Whose data a scope reaches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Context {
    Patient,
    User,
    System,
}

/// One resource scope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub context: Context,
    /// A resource type or `*`.
    pub resource: String,
    /// Permitted actions as SMART v2 letters (`cruds`).
    pub actions: String,
    /// v2 query restriction (`category=laboratory`), when present.
    pub query: Option<String>,
}

impl Scope {
    /// Parses one scope token; None for non-resource scopes (`openid`, `launch`, ...).
    pub fn parse(text: &str) -> Option<Scope> {
        let (context, rest) = text.split_once('/')?;
        let context = match context {
            "patient" => Context::Patient,
            "user" => Context::User,
            "system" => Context::System,
            _ => return None,
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q.to_string())),
            None => (rest, None),
        };
        let (resource, permission) = rest.rsplit_once('.')?;
        let actions = match permission {
            "read" => "rs".to_string(),
            "write" => "cud".to_string(),
            "*" => "cruds".to_string(),
            letters if !letters.is_empty() && letters.chars().all(|c| "cruds".contains(c)) => {
                letters.to_string()
            }
            _ => return None,
        };
        if resource != "*" && !crate::fhir::search_params::is_resource_type(resource) {
            return None;
        }
        Some(Scope {
            context,
            resource: resource.to_string(),
            actions,
            query,
        })
    }

    /// True when this scope grants `action` on `res_type`.
    pub fn grants(&self, res_type: &str, action: Action) -> bool {
        (self.resource == "*" || self.resource == res_type)
            && self.actions.contains(action.letter())
    }
}

/// Parses a space-separated `scope` claim.
pub fn parse_all(text: &str) -> Vec<Scope> {
    text.split_whitespace().filter_map(Scope::parse).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v1_and_v2_forms() {
        let s = Scope::parse("patient/Observation.rs").unwrap();
        assert!(s.grants("Observation", Action::Read) && s.grants("Observation", Action::Search));
        assert!(!s.grants("Observation", Action::Create) && !s.grants("Patient", Action::Read));
        let s = Scope::parse("user/*.write").unwrap();
        assert!(s.grants("Encounter", Action::Update) && !s.grants("Encounter", Action::Read));
        let s = Scope::parse("patient/Observation.rs?category=laboratory").unwrap();
        assert_eq!(s.query.as_deref(), Some("category=laboratory"));
        assert!(Scope::parse("openid").is_none());
        assert!(Scope::parse("patient/Nonsense.read").is_none());
        assert!(Scope::parse("patient/Patient.xyz").is_none());
    }
}
