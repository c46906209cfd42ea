//! Small readers over FHIR JSON shared by projections, records and reporting, and the
//! server's instant format.

use chrono::{DateTime, NaiveDate, SecondsFormat, TimeZone, Utc};
use serde_json::Value;

pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub const ICD10PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
/// Extension on `Encounter.diagnosis` carrying the present-on-admission indicator
/// (a CodeableConcept from `http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission`).
pub const POA_EXTENSION: &str =
    "http://chartroom.dev/fhir/StructureDefinition/present-on-admission";

/// The string at a path of object keys.
pub fn str_at(value: &Value, path: &[&str]) -> Option<String> {
    let mut node = value;
    for key in path {
        node = node.get(key)?;
    }
    node.as_str().map(str::to_string)
}

/// (system, code, display) of the first coding, preferring `system` when given.
pub fn codeable_first(
    concept: &Value,
    system: Option<&str>,
) -> Option<(String, String, Option<String>)> {
    let codings = concept.get("coding").and_then(Value::as_array);
    let pick = |c: &Value| {
        Some((
            str_at(c, &["system"]).unwrap_or_default(),
            str_at(c, &["code"])?,
            str_at(c, &["display"]),
        ))
    };
    let codings = codings?;
    if let Some(system) = system {
        if let Some(found) = codings
            .iter()
            .find(|c| c.get("system").and_then(Value::as_str) == Some(system))
            .and_then(pick)
        {
            return Some(found);
        }
    }
    // plain `code` elements (e.g. Encounter.class is a Coding) have no `coding` array
    codings.iter().find_map(pick)
}

/// The logical id a Reference points at (`Patient/123`, `http://x/fhir/Patient/123`,
/// `Patient/123/_history/2` all give `123`); None for contained or urn references.
pub fn reference_id(reference: &Value) -> Option<String> {
    let text = reference.get("reference")?.as_str()?;
    reference_parts(text).map(|(_, id)| id)
}

/// (type, id) of a literal reference string, when it names a resource by type and id.
pub fn reference_parts(text: &str) -> Option<(String, String)> {
    if text.starts_with('#') || text.starts_with("urn:") {
        return None;
    }
    let path = text.split('?').next()?;
    let mut segments: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    if segments.len() >= 4 && segments[segments.len() - 2] == "_history" {
        segments.truncate(segments.len() - 2);
    }
    let n = segments.len();
    if n < 2 {
        return None;
    }
    let (ty, id) = (segments[n - 2], segments[n - 1]);
    let is_type = ty.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    (is_type && !id.is_empty()).then(|| (ty.to_string(), id.to_string()))
}

/// `YYYY-MM-DD` of a FHIR date or dateTime with at least day precision.
pub fn date_part(text: &str) -> Option<String> {
    let day = text.get(..10)?;
    NaiveDate::parse_from_str(day, "%Y-%m-%d")
        .ok()
        .map(|_| day.to_string())
}

/// Epoch milliseconds of a FHIR date/dateTime/instant (its earliest instant; no zone = UTC).
pub fn epoch_ms(text: &str) -> Option<i64> {
    if let Ok(dt) = DateTime::parse_from_rfc3339(text) {
        return Some(dt.timestamp_millis());
    }
    if let Ok(naive) = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(Utc.from_utc_datetime(&naive).timestamp_millis());
    }
    let padded = match text.len() {
        4 => format!("{text}-01-01"),
        7 => format!("{text}-01"),
        _ => text.to_string(),
    };
    let date = NaiveDate::parse_from_str(&padded, "%Y-%m-%d").ok()?;
    Some(
        Utc.from_utc_datetime(&date.and_hms_opt(0, 0, 0)?)
            .timestamp_millis(),
    )
}

/// The patient a resource is about: itself for a Patient, else the Patient its `subject`,
/// `patient` or `beneficiary` reference names.
pub fn patient_of(resource: &Value) -> Option<String> {
    if resource.get("resourceType").and_then(Value::as_str) == Some("Patient") {
        return str_at(resource, &["id"]);
    }
    ["subject", "patient", "beneficiary"]
        .iter()
        .find_map(|key| {
            let text = resource.get(*key)?.get("reference")?.as_str()?;
            reference_parts(text)
                .filter(|(t, _)| t == "Patient")
                .map(|(_, id)| id)
        })
}

/// [`patient_of`] for a stored resource `res_type/id` with JSON `content`: a Patient is its
/// own, others are read from the text keeping only the references needed (the rest is
/// skipped unparsed), since the audit trail asks this of every read.
pub fn patient_of_stored(res_type: &str, id: &str, content: &str) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct Reference {
        reference: Option<String>,
    }
    #[derive(serde::Deserialize)]
    struct About {
        subject: Option<Reference>,
        patient: Option<Reference>,
        beneficiary: Option<Reference>,
    }
    if res_type == "Patient" {
        return Some(id.to_string());
    }
    let about: About = serde_json::from_str(content).ok()?;
    [about.subject, about.patient, about.beneficiary]
        .into_iter()
        .find_map(|r| {
            reference_parts(&r?.reference?)
                .filter(|(t, _)| t == "Patient")
                .map(|(_, id)| id)
        })
}

/// Codes of `meta.security` labels.
pub fn security_codes(resource: &Value) -> Vec<String> {
    resource
        .pointer("/meta/security")
        .and_then(Value::as_array)
        .map(|labels| labels.iter().filter_map(|l| str_at(l, &["code"])).collect())
        .unwrap_or_default()
}

/// The present-on-admission indicator of an `Encounter.diagnosis` entry (Y, N, U, W or 1).
pub fn poa_indicator(diagnosis: &Value) -> Option<String> {
    let ext = diagnosis
        .get("extension")?
        .as_array()?
        .iter()
        .find(|e| e.get("url").and_then(Value::as_str) == Some(POA_EXTENSION))?;
    let code = ext
        .get("valueCodeableConcept")
        .and_then(|c| codeable_first(c, None))
        .map(|c| c.1)
        .or_else(|| str_at(ext, &["valueCode"]))?;
    Some(code.to_uppercase())
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// FHIR instant text of epoch milliseconds (`2026-11-25T20:22:59.123Z`).
pub fn instant(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.to_rfc3339_opts(SecondsFormat::Millis, true))
        .unwrap_or_default()
}

/// HTTP-date text of epoch milliseconds (for `Last-Modified`).
pub fn http_date(ms: i64) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .map(|t| t.format("%a, %d %b %Y %H:%M:%S GMT").to_string())
        .unwrap_or_default()
}

/// Epoch milliseconds of an HTTP-date (`If-Modified-Since`).
pub fn parse_http_date(text: &str) -> Option<i64> {
    DateTime::parse_from_rfc2822(text)
        .ok()
        .map(|t| t.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_forms() {
        assert_eq!(
            reference_parts("Patient/1"),
            Some(("Patient".into(), "1".into()))
        );
        assert_eq!(
            reference_parts("http://x/fhir/Patient/1/_history/3"),
            Some(("Patient".into(), "1".into()))
        );
        assert_eq!(reference_parts("#c1"), None);
        assert_eq!(reference_parts("urn:uuid:abc"), None);
    }

    #[test]
    fn patient_from_text_agrees_with_the_tree() {
        let cases = [
            json!({"resourceType": "Patient", "id": "p1", "name": [{"family": "X"}]}),
            json!({"resourceType": "Observation", "subject": {"reference": "Patient/p2"}}),
            json!({"resourceType": "Observation", "subject": {"reference": "Group/g"}}),
            json!({"resourceType": "Coverage", "beneficiary": {"reference": "http://h/fhir/Patient/p3"}}),
            json!({"resourceType": "AllergyIntolerance", "patient": {"reference": "Patient/p4", "display": "d"}}),
            json!({"resourceType": "Condition", "subject": {"identifier": {"value": "v"}}}),
        ];
        for case in cases {
            let (t, id) = (str_at(&case, &["resourceType"]), str_at(&case, &["id"]));
            assert_eq!(
                patient_of_stored(&t.unwrap(), &id.unwrap_or_default(), &case.to_string()),
                patient_of(&case),
                "{case}"
            );
        }
        assert_eq!(patient_of_stored("Observation", "o", "not json"), None);
    }

    #[test]
    fn dates() {
        assert_eq!(epoch_ms("1970-01-01T00:00:01Z"), Some(1000));
        assert_eq!(epoch_ms("1970-01-02"), Some(86_400_000));
        assert_eq!(epoch_ms("1970"), Some(0));
        assert_eq!(
            date_part("2020-02-03T10:00:00Z").as_deref(),
            Some("2020-02-03")
        );
        assert_eq!(instant(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            parse_http_date(&http_date(1_000_000_000_000)),
            Some(1_000_000_000_000)
        );
    }

    #[test]
    fn coding_preference() {
        let cc = json!({"coding": [{"system": "a", "code": "1"}, {"system": "b", "code": "2", "display": "two"}]});
        assert_eq!(
            codeable_first(&cc, Some("b")),
            Some(("b".into(), "2".into(), Some("two".into())))
        );
        assert_eq!(
            codeable_first(&cc, Some("z")).map(|c| c.1),
            Some("1".into())
        );
    }
}
