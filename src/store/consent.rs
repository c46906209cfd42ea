//! Patient-privacy Consents: an active `Consent` (scope `patient-privacy`) whose provision
//! denies a purpose of use or an actor hides that patient's data from matching requests.
//! Only the top-level provision is read (nested permit/deny exceptions are not applied);
//! a request that breaks the glass is not stopped by a Consent.

use crate::db::resources::read_many;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{reference_parts, str_at};
use serde_json::Value;

/// Who is asking and why, as a Consent sees it.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    pub purpose: String,
    /// References that name the caller (`Practitioner/x`, the token subject).
    pub actors: Vec<String>,
    pub broke_glass: bool,
}

/// Ids of the patients whose active privacy Consent denies this requester.
pub fn denying_patients(conn: &mut Conn, requester: &Requester) -> AppResult<Vec<String>> {
    if requester.broke_glass {
        return Ok(Vec::new());
    }
    let sql = Sql::new(
        "SELECT r.rk AS rk FROM resources r WHERE r.res_type = 'Consent' AND r.deleted = 0 \
         AND r.rk IN (SELECT s.rk FROM idx_token s WHERE s.res_type = 'Consent' AND s.param = 'status' AND s.code = 'active') \
         AND r.rk IN (SELECT c.rk FROM idx_token c WHERE c.res_type = 'Consent' AND c.param = 'scope' AND c.code = 'patient-privacy')",
    );
    let keys: Vec<i64> = conn
        .load::<KeyRow>(&sql)?
        .into_iter()
        .map(|r| r.rk)
        .collect();
    let mut denied = Vec::new();
    for (_, row) in read_many(conn, &keys)? {
        let Some(consent) = row
            .content
            .and_then(|c| serde_json::from_str::<Value>(&c).ok())
        else {
            continue;
        };
        if denies(&consent, requester) {
            if let Some((_, id)) =
                str_at(&consent, &["patient", "reference"]).and_then(|r| reference_parts(&r))
            {
                denied.push(id);
            }
        }
    }
    Ok(denied)
}

fn denies(consent: &Value, requester: &Requester) -> bool {
    let provision = &consent["provision"];
    if provision["type"] != "deny" {
        return false;
    }
    let purposes: Vec<&str> = provision["purpose"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["code"].as_str())
        .collect();
    let actors: Vec<String> = provision["actor"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|a| a["reference"]["reference"].as_str().map(str::to_string))
        .collect();
    let purpose_matches = purposes.is_empty() || purposes.contains(&requester.purpose.as_str());
    let actor_matches = actors.is_empty() || actors.iter().any(|a| requester.actors.contains(a));
    (!purposes.is_empty() || !actors.is_empty()) && purpose_matches && actor_matches
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deny_by_purpose_or_actor() {
        let consent = json!({"provision": {"type": "deny", "purpose": [{"code": "HMARKT"}]}});
        let marketing = Requester {
            purpose: "HMARKT".into(),
            ..Requester::default()
        };
        let treatment = Requester {
            purpose: "TREAT".into(),
            ..Requester::default()
        };
        assert!(denies(&consent, &marketing));
        assert!(!denies(&consent, &treatment));
        let consent = json!({"provision": {"type": "deny", "actor": [{"reference": {"reference": "Practitioner/p9"}}]}});
        let p9 = Requester {
            purpose: "TREAT".into(),
            actors: vec!["Practitioner/p9".into()],
            broke_glass: false,
        };
        assert!(denies(&consent, &p9));
        assert!(!denies(&consent, &treatment));
        assert!(!denies(&json!({"provision": {"type": "permit"}}), &p9));
    }
}
