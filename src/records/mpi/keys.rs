//! Blocking keys: a few coarse keys per Patient, stored in `mpi_key` with the patient
//! projection (same transaction), so that finding candidates is an index lookup and the
//! duplicate report a self-join on equal keys instead of a comparison of every pair.
//!
//! Keys (each a short string with a kind prefix):
//! - `b:YYYY:lohi` birth year with day and month sorted (a transposed day/month still meets);
//! - `n:S1:S2` the Soundex codes of family and first given name (each formal form of a
//!   nickname), sorted, so swapped family/given names still meet;
//! - `f:S:YYYY` Soundex of the family name and birth year (given name or day differ);
//! - `i:system|value` every identifier; `p:digits` every phone number.
//!
//! A merged-away patient (a `replaced-by` link) gets no keys: it is no longer a candidate.

use super::demographics::Demographics;
use super::nicknames::formal_forms;
use super::phonetic::soundex;
use crate::db::projections::Row;
use serde_json::Value;

/// The blocking keys of a patient's demographics, deduplicated, in a stable order.
pub fn match_keys(d: &Demographics) -> Vec<String> {
    let mut keys: Vec<String> = Vec::new();
    let year = d.birth.as_deref().map(|b| &b[..4]);
    if let Some(b) = d.birth.as_deref().filter(|b| b.len() == 8) {
        let (mm, dd) = (&b[4..6], &b[6..8]);
        let (lo, hi) = if mm <= dd { (mm, dd) } else { (dd, mm) };
        keys.push(format!("b:{}:{lo}{hi}", &b[..4]));
    }
    for name in &d.names {
        let family = soundex(&name.family);
        if let (Some(given), false) = (name.given.first(), family.is_empty()) {
            for form in formal_forms(given) {
                let g = soundex(form);
                let (a, b) = if family <= g {
                    (&family, &g)
                } else {
                    (&g, &family)
                };
                keys.push(format!("n:{a}:{b}"));
            }
        }
        if let (Some(year), false) = (year, family.is_empty()) {
            keys.push(format!("f:{family}:{year}"));
        }
    }
    keys.extend(
        d.identifiers
            .iter()
            .map(|i| format!("i:{}|{}", i.system, i.value)),
    );
    keys.extend(d.phones.iter().map(|p| format!("p:{p}")));
    let mut seen = std::collections::HashSet::new();
    keys.retain(|k| seen.insert(k.clone()));
    keys
}

/// True when the patient was merged into another (it has a `replaced-by` link).
pub fn is_merged_away(patient: &Value) -> bool {
    patient["link"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|l| l["type"] == "replaced-by")
}

/// The `mpi_key` rows of one Patient version (called by the patient projection writer).
pub fn key_rows(rk: i64, id: &str, patient: &Value) -> Vec<Row> {
    if is_merged_away(patient) {
        return Vec::new();
    }
    let keys = match_keys(&Demographics::of(patient));
    if keys.is_empty() {
        return Vec::new();
    }
    keys.into_iter()
        .map(|key| {
            (
                "mpi_key",
                vec![
                    ("rk", rk.into()),
                    ("res_id", id.into()),
                    ("match_key", key.into()),
                ],
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn keys(p: serde_json::Value) -> Vec<String> {
        match_keys(&Demographics::of(&p))
    }

    #[test]
    fn swapped_names_nicknames_and_transposed_dates_share_keys() {
        let original = keys(
            json!({"name": [{"family": "Walker", "given": ["William"]}], "birthDate": "1980-03-07"}),
        );
        let swapped = keys(
            json!({"name": [{"family": "William", "given": ["Walker"]}], "birthDate": "1980-07-03"}),
        );
        let nickname = keys(
            json!({"name": [{"family": "Walker", "given": ["Bill"]}], "birthDate": "1981-03-07"}),
        );
        assert!(original.contains(&"b:1980:0307".to_string()));
        assert!(swapped.contains(&"b:1980:0307".to_string()));
        assert!(swapped
            .iter()
            .any(|k| k.starts_with("n:") && original.contains(k)));
        assert!(nickname
            .iter()
            .any(|k| k.starts_with("n:") && original.contains(k)));
    }

    #[test]
    fn merged_patients_have_no_keys() {
        let p = json!({"name": [{"family": "X", "given": ["Y"]}],
            "link": [{"other": {"reference": "Patient/2"}, "type": "replaced-by"}]});
        assert!(key_rows(1, "1", &p).is_empty());
    }
}
