//! Small builders for FHIR R4 JSON fragments shared by the resource emitters
//! (codings, references, transaction entries, instants) and a base64 encoder for
//! attachment data.

use chrono::NaiveDateTime;
use serde_json::{json, Value};

/// ICD-10-CM code system.
pub const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
/// ICD-10-PCS code system.
pub const ICD10PCS: &str = "http://www.cms.gov/Medicare/Coding/ICD10";
/// LOINC.
pub const LOINC: &str = "http://loinc.org";
/// RxNorm.
pub const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
/// UCUM.
pub const UCUM: &str = "http://unitsofmeasure.org";
/// NPI identifier system.
pub const NPI: &str = "http://hl7.org/fhir/sid/us-npi";
/// MRN identifier system.
pub const MRN: &str = "urn:oid:2.16.840.1.113883.19.5";
/// SSN identifier system.
pub const SSN: &str = "http://hl7.org/fhir/sid/us-ssn";
/// Stable encounter identifier system of the generator.
pub const ENCOUNTER_ID: &str = "urn:chartroom:synth:encounter";
/// Present-on-admission extension on Encounter.diagnosis.
pub const POA_EXTENSION: &str =
    "http://chartroom.dev/fhir/StructureDefinition/present-on-admission";
/// Present-on-admission code system.
pub const POA_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/ex-diagnosis-on-admission";
/// Security labels (sensitivity).
pub const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
/// Confidentiality labels.
pub const CONFIDENTIALITY: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// `{system, code, display}`.
pub fn coding(system: &str, code: &str, display: &str) -> Value {
    json!({"system": system, "code": code, "display": display})
}

/// A CodeableConcept with one coding and text.
pub fn concept(system: &str, code: &str, display: &str) -> Value {
    json!({"coding": [coding(system, code, display)], "text": display})
}

/// A CodeableConcept with one coding and no text.
pub fn concept_bare(system: &str, code: &str) -> Value {
    json!({"coding": [{"system": system, "code": code}]})
}

/// The `urn:uuid:` full URL of an entry.
pub fn urn(uuid: &str) -> String {
    format!("urn:uuid:{uuid}")
}

/// A reference to an entry of the same bundle.
pub fn local_ref(uuid: &str) -> Value {
    json!({"reference": urn(uuid)})
}

/// A conditional reference by NPI, resolved against the provider bundle.
pub fn npi_ref(resource_type: &str, npi: &str, display: &str) -> Value {
    json!({"reference": format!("{resource_type}?identifier={NPI}|{npi}"), "display": display})
}

/// A transaction entry that creates the resource.
pub fn post_entry(uuid: &str, resource: Value) -> Value {
    let resource_type = resource["resourceType"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    json!({"fullUrl": urn(uuid), "resource": resource, "request": {"method": "POST", "url": resource_type}})
}

/// FHIR dateTime with seconds, in UTC.
pub fn instant(at: NaiveDateTime) -> String {
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Standard base64 with padding.
pub fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Rounds to `places` decimals and renders as a JSON number.
pub fn decimal(value: f64, places: i32) -> Value {
    let factor = 10f64.powi(places);
    let rounded = (value * factor).round() / factor;
    serde_json::from_str(&format!("{rounded:.prec$}", prec = places as usize))
        .unwrap_or(Value::Null)
}
