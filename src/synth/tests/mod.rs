//! Tests of the generator: determinism, code validity against the shipped tables,
//! clinical plausibility, reference integrity and exactness of the ground truth.

mod codes;
mod integrity;
mod truth_recount;

use std::sync::OnceLock;

use serde_json::Value;

use super::{patients, PatientBundle, SynthConfig};

/// A 1,000-patient population shared by the tests (generated once).
pub(super) fn population() -> &'static [PatientBundle] {
    static POPULATION: OnceLock<Vec<PatientBundle>> = OnceLock::new();
    POPULATION.get_or_init(|| {
        let mut cfg = SynthConfig::new(1000, 20_260_401);
        cfg.error_rate = 0.05;
        patients(&cfg).collect()
    })
}

/// Resources of a bundle with their fullUrl.
pub(super) fn resources(bundle: &Value) -> impl Iterator<Item = (&str, &Value)> {
    bundle["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| (e["fullUrl"].as_str().unwrap_or_default(), &e["resource"]))
}

/// Whole years between two `YYYY-MM-DD…` strings.
pub(super) fn years_between(birth: &str, at: &str) -> i64 {
    let parse = |s: &str| {
        chrono::NaiveDate::parse_from_str(s.get(..10).unwrap_or_default(), "%Y-%m-%d").ok()
    };
    match (parse(birth), parse(at)) {
        (Some(b), Some(a)) => a.years_since(b).map_or(-1, i64::from),
        _ => -1,
    }
}
