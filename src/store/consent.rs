//! Patient-privacy Consents: an active `Consent` (scope `patient-privacy`) decides, for one
//! requester (purpose of use, actors) and one resource (type, reference), permit or deny,
//! following the R4 provision tree: a provision applies when all its criteria match; an
//! applicable nested provision overrides its parent (deny wins among applicable siblings);
//! the root's `type` is the base decision. Criteria read: `purpose`, `actor.reference`,
//! `period`, `class` (resource types), `data.reference` (every `meaning` read as instance).
//! A request that breaks the glass is not stopped by a Consent. The active Consents are
//! cached per process (see `ConsentCache`).

use crate::db::resources::read_many;
use crate::db::rows::KeyRow;
use crate::db::sql::Sql;
use crate::db::Conn;
use crate::error::AppResult;
use crate::fhir::json::{epoch_ms, now_ms, reference_parts, str_at};
use serde_json::Value;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Who is asking and why, as a Consent sees it.
#[derive(Debug, Clone, Default)]
pub struct Requester {
    pub purpose: String,
    /// References that name the caller (`Practitioner/x`, the token subject).
    pub actors: Vec<String>,
    pub broke_glass: bool,
}

/// One active patient-privacy Consent: the patient it is about and its root provision.
#[derive(Debug, Clone)]
pub struct PatientConsent {
    pub patient: String,
    pub provision: Value,
}

/// What a Consent decides for one access.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Permit,
    Deny,
}

/// The resource an access reaches: its type and, when known, `Type/id`.
struct Target<'a> {
    res_type: &'a str,
    reference: Option<&'a str>,
}

fn codes<'a>(list: &'a Value, code_at: &'a [&'a str]) -> impl Iterator<Item = &'a str> + 'a {
    list.as_array()
        .into_iter()
        .flatten()
        .filter_map(move |item| {
            code_at
                .iter()
                .try_fold(item, |v, key| v.get(*key))
                .and_then(Value::as_str)
        })
}

/// True when every criterion `provision` states holds for this requester and target.
/// Criteria about data (`class`, `data`) cannot hold for a target whose id is unknown
/// only when they name specific resources; a class test needs the type only.
fn criteria_hold(provision: &Value, requester: &Requester, target: &Target, now: i64) -> bool {
    let purposes: Vec<&str> = codes(&provision["purpose"], &["code"]).collect();
    if !purposes.is_empty() && !purposes.contains(&requester.purpose.as_str()) {
        return false;
    }
    let actors: Vec<&str> = codes(&provision["actor"], &["reference", "reference"]).collect();
    if !actors.is_empty()
        && !actors
            .iter()
            .any(|a| requester.actors.iter().any(|r| r == a))
    {
        return false;
    }
    let period = &provision["period"];
    if let Some(start) = period["start"].as_str().and_then(epoch_ms) {
        if now < start {
            return false;
        }
    }
    if let Some(end) = period["end"].as_str().and_then(epoch_ms) {
        if now > end {
            return false;
        }
    }
    let classes: Vec<&str> = codes(&provision["class"], &["code"]).collect();
    if !classes.is_empty() && !classes.contains(&target.res_type) {
        return false;
    }
    let data: Vec<&str> = codes(&provision["data"], &["reference", "reference"]).collect();
    if !data.is_empty() && !target.reference.is_some_and(|r| data.contains(&r)) {
        return false;
    }
    true
}

/// The decision of `provision` for the target, None when it does not apply.
fn evaluate(
    provision: &Value,
    requester: &Requester,
    target: &Target,
    now: i64,
) -> Option<Decision> {
    if !criteria_hold(provision, requester, target, now) {
        return None;
    }
    let nested: Vec<Decision> = provision["provision"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|child| evaluate(child, requester, target, now))
        .collect();
    if nested.contains(&Decision::Deny) {
        return Some(Decision::Deny);
    }
    if nested.contains(&Decision::Permit) {
        return Some(Decision::Permit);
    }
    match provision["type"].as_str() {
        Some("deny") => Some(Decision::Deny),
        Some("permit") => Some(Decision::Permit),
        _ => None,
    }
}

impl PatientConsent {
    /// The decision for `requester` reaching a `res_type` resource (`reference` = `Type/id`).
    pub fn decide(
        &self,
        requester: &Requester,
        res_type: &str,
        reference: Option<&str>,
    ) -> Decision {
        if requester.broke_glass {
            return Decision::Permit;
        }
        let target = Target {
            res_type,
            reference,
        };
        evaluate(&self.provision, requester, &target, now_ms()).unwrap_or(Decision::Permit)
    }

    /// `Type/id` references named by `data` criteria anywhere in the tree, of `res_type`.
    pub fn data_references(&self, res_type: &str) -> Vec<String> {
        let mut out = Vec::new();
        collect_data(&self.provision, res_type, &mut out);
        out
    }
}

fn collect_data(provision: &Value, res_type: &str, out: &mut Vec<String>) {
    for r in codes(&provision["data"], &["reference", "reference"]) {
        if reference_parts(r).is_some_and(|(t, _)| t == res_type) {
            out.push(r.to_string());
        }
    }
    for child in provision["provision"].as_array().into_iter().flatten() {
        collect_data(child, res_type, out);
    }
}

/// What the Consents hide from one search over `res_type`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchLimits {
    /// Patients whose whole compartment (of this type) is denied.
    pub patients: Vec<String>,
    /// Ids of single `res_type` resources denied by `data` provisions.
    pub ids: Vec<String>,
}

/// The limits the Consents put on a search of `res_type` by `requester`. A patient whose
/// Consent denies the type is left out entirely, even resources a nested `data` provision
/// would permit one by one (reads by id apply those exactly).
pub fn search_limits(
    consents: &[PatientConsent],
    requester: &Requester,
    res_type: &str,
) -> SearchLimits {
    let mut limits = SearchLimits::default();
    if requester.broke_glass {
        return limits;
    }
    for consent in consents {
        if consent.decide(requester, res_type, None) == Decision::Deny {
            limits.patients.push(consent.patient.clone());
            continue;
        }
        for reference in consent.data_references(res_type) {
            if consent.decide(requester, res_type, Some(&reference)) == Decision::Deny {
                if let Some((_, id)) = reference_parts(&reference) {
                    limits.ids.push(id);
                }
            }
        }
    }
    limits
}

/// Loads every active patient-privacy Consent.
pub fn load_active(conn: &mut Conn) -> AppResult<Vec<PatientConsent>> {
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
    let mut out = Vec::new();
    for (_, row) in read_many(conn, &keys)? {
        let Some(consent) = row
            .content
            .and_then(|c| serde_json::from_str::<Value>(&c).ok())
        else {
            continue;
        };
        if let Some((_, patient)) =
            str_at(&consent, &["patient", "reference"]).and_then(|r| reference_parts(&r))
        {
            out.push(PatientConsent {
                patient,
                provision: consent["provision"].clone(),
            });
        }
    }
    Ok(out)
}

/// The active Consents, cached per process. A Consent written through this process
/// invalidates the cache at once; one written through another replica (or directly in
/// the database) is seen after at most the TTL (`consent_cache_seconds`; 0 = no cache).
/// The trade-off: one query per request saved against up to TTL seconds of staleness
/// across replicas.
#[derive(Clone, Default)]
pub struct ConsentCache {
    inner: Arc<CacheInner>,
}

#[derive(Default)]
struct CacheInner {
    generation: AtomicU64,
    slot: Mutex<Option<Cached>>,
}

struct Cached {
    loaded: Instant,
    generation: u64,
    consents: Arc<Vec<PatientConsent>>,
}

impl ConsentCache {
    /// Forgets the cached Consents (after a Consent write).
    pub fn invalidate(&self) {
        self.inner.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// The active Consents: cached when fresh, else loaded with `load`.
    pub fn get(
        &self,
        ttl: Duration,
        load: impl FnOnce() -> AppResult<Vec<PatientConsent>>,
    ) -> AppResult<Arc<Vec<PatientConsent>>> {
        let generation = self.inner.generation.load(Ordering::SeqCst);
        if !ttl.is_zero() {
            let slot = self.inner.slot.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(cached) = slot.as_ref() {
                if cached.generation == generation && cached.loaded.elapsed() < ttl {
                    return Ok(cached.consents.clone());
                }
            }
        }
        let consents = Arc::new(load()?);
        if !ttl.is_zero() {
            let mut slot = self.inner.slot.lock().unwrap_or_else(|e| e.into_inner());
            *slot = Some(Cached {
                loaded: Instant::now(),
                generation,
                consents: consents.clone(),
            });
        }
        Ok(consents)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn requester(purpose: &str, actors: &[&str]) -> Requester {
        Requester {
            purpose: purpose.into(),
            actors: actors.iter().map(|a| a.to_string()).collect(),
            broke_glass: false,
        }
    }

    fn consent(provision: Value) -> PatientConsent {
        PatientConsent {
            patient: "p".into(),
            provision,
        }
    }

    #[test]
    fn deny_by_purpose_or_actor() {
        let c = consent(json!({"type": "deny", "purpose": [{"code": "HMARKT"}]}));
        assert_eq!(
            c.decide(&requester("HMARKT", &[]), "Observation", None),
            Decision::Deny
        );
        assert_eq!(
            c.decide(&requester("TREAT", &[]), "Observation", None),
            Decision::Permit
        );
        let c = consent(
            json!({"type": "deny", "actor": [{"reference": {"reference": "Practitioner/p9"}}]}),
        );
        assert_eq!(
            c.decide(&requester("TREAT", &["Practitioner/p9"]), "Patient", None),
            Decision::Deny
        );
        assert_eq!(
            c.decide(&requester("TREAT", &[]), "Patient", None),
            Decision::Permit
        );
        let mut glass = requester("TREAT", &["Practitioner/p9"]);
        glass.broke_glass = true;
        assert_eq!(c.decide(&glass, "Patient", None), Decision::Permit);
    }

    #[test]
    fn nested_provisions() {
        // deny everything, except treatment; but never the psychotherapy note, even for treatment
        let c = consent(json!({"type": "deny", "provision": [
            {"type": "permit", "purpose": [{"code": "TREAT"}], "provision": [
                {"type": "deny", "data": [{"meaning": "instance", "reference": {"reference": "DocumentReference/note"}}]}
            ]}
        ]}));
        let treat = requester("TREAT", &[]);
        assert_eq!(
            c.decide(&requester("HPAYMT", &[]), "Observation", None),
            Decision::Deny
        );
        assert_eq!(
            c.decide(&treat, "Observation", Some("Observation/1")),
            Decision::Permit
        );
        assert_eq!(
            c.decide(&treat, "DocumentReference", Some("DocumentReference/note")),
            Decision::Deny
        );
        assert_eq!(
            c.decide(&treat, "DocumentReference", Some("DocumentReference/other")),
            Decision::Permit
        );
        let limits = search_limits(std::slice::from_ref(&c), &treat, "DocumentReference");
        assert_eq!(limits.ids, vec!["note".to_string()]);
        assert!(limits.patients.is_empty());
        assert_eq!(
            search_limits(&[c], &requester("HPAYMT", &[]), "Observation").patients,
            vec!["p".to_string()]
        );
        // permit everything, deny a class for one actor within a period
        let c = consent(json!({"type": "permit", "provision": [
            {"type": "deny", "class": [{"code": "Observation"}], "actor": [{"reference": {"reference": "Practitioner/x"}}],
             "period": {"start": "2000-01-01", "end": "2999-01-01"}},
            {"type": "deny", "period": {"end": "2001-01-01"}}
        ]}));
        let x = requester("TREAT", &["Practitioner/x"]);
        assert_eq!(c.decide(&x, "Observation", None), Decision::Deny);
        assert_eq!(c.decide(&x, "Condition", None), Decision::Permit);
        assert_eq!(
            c.decide(&treat, "Observation", None),
            Decision::Permit,
            "the expired deny does not apply"
        );
    }

    #[test]
    fn cache_invalidates() {
        let cache = ConsentCache::default();
        let ttl = Duration::from_secs(60);
        let loads = std::cell::Cell::new(0);
        let load = || {
            loads.set(loads.get() + 1);
            Ok(Vec::new())
        };
        cache.get(ttl, load).unwrap();
        cache.get(ttl, load).unwrap();
        assert_eq!(loads.get(), 1);
        cache.invalidate();
        cache.get(ttl, load).unwrap();
        assert_eq!(loads.get(), 2);
        cache.get(Duration::ZERO, load).unwrap();
        assert_eq!(loads.get(), 3, "a zero TTL does not cache");
    }
}
