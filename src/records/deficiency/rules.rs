//! The deficiency rules, pure: a resource (and the few facts a rule needs from elsewhere,
//! asked for lazily so a complete record costs no extra lookup) in, one verdict per kind out.

use super::kind::Kind;
use crate::error::AppResult;
use crate::fhir::json::{codeable_first, str_at};
use serde_json::Value;

/// What a rule says about one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Something required is missing: the deficiency is open.
    Gap,
    /// The requirement is met: the deficiency closes.
    Met,
    /// The rule does not apply (yet or any more): an open deficiency is cancelled.
    NotApplicable,
}

impl Verdict {
    fn gap_if(missing: bool) -> Verdict {
        if missing {
            Verdict::Gap
        } else {
            Verdict::Met
        }
    }
}

/// LOINC 18842-5 Discharge summary.
pub const DISCHARGE_SUMMARY: &str = "18842-5";
/// LOINC codes that count as a procedure's note when filed for its encounter:
/// 11504-8 Surgical operation note, 28570-0 Procedure note.
pub const PROCEDURE_NOTES: &[&str] = &["11504-8", "28570-0"];
/// Encounter classes (v3 ActCode) whose finished stays need a discharge summary.
const INPATIENT: &[&str] = &["IMP", "ACUTE", "NONAC"];

fn present(resource: &Value, key: &str) -> bool {
    match resource.get(key) {
        None | Some(Value::Null) => false,
        Some(Value::Array(items)) => !items.is_empty(),
        Some(Value::String(s)) => !s.is_empty(),
        Some(_) => true,
    }
}

fn any_key_with_prefix(resource: &Value, prefix: &str) -> bool {
    resource
        .as_object()
        .is_some_and(|o| o.keys().any(|k| k.starts_with(prefix)))
}

fn array<'a>(resource: &'a Value, key: &str) -> &'a [Value] {
    resource
        .get(key)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// True for a finished inpatient stay (the discharge-summary rules apply).
pub fn is_finished_inpatient(encounter: &Value) -> bool {
    str_at(encounter, &["status"]).as_deref() == Some("finished")
        && str_at(encounter, &["class", "code"]).is_some_and(|c| INPATIENT.contains(&c.as_str()))
}

/// A discharge summary is signed when it names an `authenticator` and its `docStatus` is
/// `final` or `amended`; only `current` documents count.
pub fn is_signed(document: &Value) -> bool {
    present(document, "authenticator")
        && matches!(
            str_at(document, &["docStatus"]).as_deref(),
            Some("final" | "amended")
        )
}

/// Encounter rules. `summaries` yields the encounter's discharge-summary DocumentReferences;
/// it is only asked for a finished inpatient stay.
pub fn encounter(
    encounter: &Value,
    summaries: impl FnOnce() -> AppResult<Vec<Value>>,
) -> AppResult<Vec<(Kind, Verdict)>> {
    let finished = str_at(encounter, &["status"]).as_deref() == Some("finished");
    let principal = if finished {
        let has_rank_one = array(encounter, "diagnosis")
            .iter()
            .any(|d| d.get("rank").and_then(Value::as_i64) == Some(1));
        Verdict::gap_if(!has_rank_one)
    } else {
        Verdict::NotApplicable
    };
    let (missing, unsigned) = if is_finished_inpatient(encounter) {
        let current: Vec<Value> = summaries()?
            .into_iter()
            .filter(|d| str_at(d, &["status"]).as_deref() == Some("current"))
            .collect();
        if current.is_empty() {
            (Verdict::Gap, Verdict::NotApplicable)
        } else {
            let signed = current.iter().any(is_signed);
            (Verdict::Met, Verdict::gap_if(!signed))
        }
    } else {
        (Verdict::NotApplicable, Verdict::NotApplicable)
    };
    Ok(vec![
        (Kind::MissingPrincipal, principal),
        (Kind::DischargeSummaryMissing, missing),
        (Kind::DischargeSummaryUnsigned, unsigned),
    ])
}

/// Procedure rules (completed procedures only). `note_filed` says whether a
/// DocumentReference ties a note to the procedure; asked only when `report` is empty.
pub fn procedure(
    procedure: &Value,
    note_filed: impl FnOnce() -> AppResult<bool>,
) -> AppResult<Vec<(Kind, Verdict)>> {
    if str_at(procedure, &["status"]).as_deref() != Some("completed") {
        return Ok(Kind::of_type("Procedure")
            .into_iter()
            .map(|k| (k, Verdict::NotApplicable))
            .collect());
    }
    let note = if present(procedure, "report") {
        Verdict::Met
    } else {
        Verdict::gap_if(!note_filed()?)
    };
    let performer = array(procedure, "performer")
        .iter()
        .any(|p| present(p, "actor"));
    Ok(vec![
        (Kind::ProcedureMissingNote, note),
        (Kind::ProcedureMissingPerformer, Verdict::gap_if(!performer)),
        (
            Kind::ProcedureMissingDate,
            Verdict::gap_if(!any_key_with_prefix(procedure, "performed")),
        ),
    ])
}

/// Condition rules (none for an entered-in-error condition). `documented` says whether a
/// DocumentReference is filed for the condition's encounter; asked only for a condition
/// tied to an encounter and without `evidence.detail`.
pub fn condition(
    condition: &Value,
    documented: impl FnOnce() -> AppResult<bool>,
) -> AppResult<Vec<(Kind, Verdict)>> {
    let verification = condition
        .get("verificationStatus")
        .and_then(|v| codeable_first(v, None))
        .map(|c| c.1);
    if verification.as_deref() == Some("entered-in-error") {
        return Ok(Kind::of_type("Condition")
            .into_iter()
            .map(|k| (k, Verdict::NotApplicable))
            .collect());
    }
    let undocumented = if !present(condition, "encounter") {
        Verdict::NotApplicable
    } else if array(condition, "evidence")
        .iter()
        .any(|e| present(e, "detail"))
    {
        Verdict::Met
    } else {
        Verdict::gap_if(!documented()?)
    };
    Ok(vec![
        (Kind::DiagnosisUndocumented, undocumented),
        (
            Kind::ConditionMissingOnset,
            Verdict::gap_if(!any_key_with_prefix(condition, "onset")),
        ),
        (
            Kind::ConditionMissingVerification,
            Verdict::gap_if(verification.is_none()),
        ),
    ])
}

/// Patient demographic rules (none for a patient merged away: `link.type = replaced-by`).
pub fn patient(patient: &Value) -> Vec<(Kind, Verdict)> {
    let merged = array(patient, "link")
        .iter()
        .any(|l| str_at(l, &["type"]).as_deref() == Some("replaced-by"));
    if merged {
        return Kind::of_type("Patient")
            .into_iter()
            .map(|k| (k, Verdict::NotApplicable))
            .collect();
    }
    let address = array(patient, "address").iter().any(|a| {
        ["line", "city", "postalCode", "text"]
            .iter()
            .any(|k| present(a, k))
    });
    let identifier = array(patient, "identifier")
        .iter()
        .any(|i| present(i, "value"));
    vec![
        (
            Kind::PatientMissingBirthdate,
            Verdict::gap_if(!present(patient, "birthDate")),
        ),
        (
            Kind::PatientMissingSex,
            Verdict::gap_if(!present(patient, "gender")),
        ),
        (Kind::PatientMissingAddress, Verdict::gap_if(!address)),
        (Kind::PatientMissingIdentifier, Verdict::gap_if(!identifier)),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn verdict(list: &[(Kind, Verdict)], kind: Kind) -> Verdict {
        list.iter().find(|(k, _)| *k == kind).unwrap().1
    }

    #[test]
    fn principal_only_for_finished_encounters() {
        let open = json!({"status": "in-progress", "class": {"code": "IMP"}});
        let out = encounter(&open, || panic!("not asked")).unwrap();
        assert_eq!(
            verdict(&out, Kind::MissingPrincipal),
            Verdict::NotApplicable
        );
        let done = json!({"status": "finished", "class": {"code": "AMB"},
            "diagnosis": [{"condition": {"reference": "Condition/1"}, "rank": 2}]});
        let out = encounter(&done, || panic!("not asked for outpatients")).unwrap();
        assert_eq!(verdict(&out, Kind::MissingPrincipal), Verdict::Gap);
        assert_eq!(
            verdict(&out, Kind::DischargeSummaryMissing),
            Verdict::NotApplicable
        );
    }

    #[test]
    fn discharge_summary_missing_then_unsigned_then_signed() {
        let stay = json!({"status": "finished", "class": {"code": "IMP"},
            "diagnosis": [{"condition": {"reference": "Condition/1"}, "rank": 1}]});
        let out = encounter(&stay, || Ok(vec![])).unwrap();
        assert_eq!(verdict(&out, Kind::MissingPrincipal), Verdict::Met);
        assert_eq!(verdict(&out, Kind::DischargeSummaryMissing), Verdict::Gap);
        let draft = json!({"status": "current", "docStatus": "preliminary"});
        let out = encounter(&stay, || Ok(vec![draft])).unwrap();
        assert_eq!(verdict(&out, Kind::DischargeSummaryMissing), Verdict::Met);
        assert_eq!(verdict(&out, Kind::DischargeSummaryUnsigned), Verdict::Gap);
        let signed = json!({"status": "current", "docStatus": "final",
            "authenticator": {"reference": "Practitioner/1"}});
        let out = encounter(&stay, || Ok(vec![signed])).unwrap();
        assert_eq!(verdict(&out, Kind::DischargeSummaryUnsigned), Verdict::Met);
        let withdrawn = json!({"status": "entered-in-error", "docStatus": "final",
            "authenticator": {"reference": "Practitioner/1"}});
        let out = encounter(&stay, || Ok(vec![withdrawn])).unwrap();
        assert_eq!(verdict(&out, Kind::DischargeSummaryMissing), Verdict::Gap);
    }

    #[test]
    fn procedure_rules() {
        let bare = json!({"status": "completed"});
        let out = procedure(&bare, || Ok(false)).unwrap();
        assert!(out.iter().all(|(_, v)| *v == Verdict::Gap));
        let full = json!({"status": "completed", "performedDateTime": "2026-01-02",
            "performer": [{"actor": {"reference": "Practitioner/1"}}],
            "report": [{"reference": "DiagnosticReport/1"}]});
        let out = procedure(&full, || panic!("report is enough")).unwrap();
        assert!(out.iter().all(|(_, v)| *v == Verdict::Met));
        let filed = procedure(&bare, || Ok(true)).unwrap();
        assert_eq!(verdict(&filed, Kind::ProcedureMissingNote), Verdict::Met);
        let planned = procedure(&json!({"status": "preparation"}), || Ok(false)).unwrap();
        assert!(planned.iter().all(|(_, v)| *v == Verdict::NotApplicable));
    }

    #[test]
    fn condition_rules() {
        let bare = json!({"encounter": {"reference": "Encounter/1"}});
        let out = condition(&bare, || Ok(false)).unwrap();
        assert!(out.iter().all(|(_, v)| *v == Verdict::Gap));
        let full = json!({"encounter": {"reference": "Encounter/1"},
            "onsetDateTime": "2026-01-01",
            "verificationStatus": {"coding": [{"code": "confirmed"}]},
            "evidence": [{"detail": [{"reference": "DocumentReference/1"}]}]});
        let out = condition(&full, || panic!("evidence is enough")).unwrap();
        assert!(out.iter().all(|(_, v)| *v == Verdict::Met));
        let problem = condition(&json!({"onsetAge": {"value": 3}}), || {
            panic!("no encounter")
        })
        .unwrap();
        assert_eq!(
            verdict(&problem, Kind::DiagnosisUndocumented),
            Verdict::NotApplicable
        );
        assert_eq!(verdict(&problem, Kind::ConditionMissingOnset), Verdict::Met);
        let error = json!({"verificationStatus": {"coding": [{"code": "entered-in-error"}]}});
        let out = condition(&error, || Ok(false)).unwrap();
        assert!(out.iter().all(|(_, v)| *v == Verdict::NotApplicable));
    }

    #[test]
    fn patient_rules() {
        let out = patient(&json!({"address": [{"use": "home"}], "identifier": [{"system": "x"}]}));
        assert!(out.iter().all(|(_, v)| *v == Verdict::Gap));
        let full = json!({"birthDate": "1970-01-01", "gender": "female",
            "address": [{"city": "Springfield"}], "identifier": [{"value": "MRN1"}]});
        assert!(patient(&full).iter().all(|(_, v)| *v == Verdict::Met));
        let merged =
            json!({"link": [{"type": "replaced-by", "other": {"reference": "Patient/2"}}]});
        assert!(patient(&merged)
            .iter()
            .all(|(_, v)| *v == Verdict::NotApplicable));
    }
}
