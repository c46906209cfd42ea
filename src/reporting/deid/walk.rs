//! The element rules, applied by walking the JSON of any resource. Rules go by element
//! name (FHIR names mean the same thing wherever they occur) and by datatype shape.

use super::patterns::{date_year, looks_identifying};
use super::{zip3, Deidentifier, Mode, AGE_GROUP_EXTENSION};
use chrono::{Datelike, NaiveDate};
use serde_json::{json, Map, Value};

/// Removed in every de-identified mode: contact points, photos, relatives and employers
/// (`contact`), device serials and UDIs, health-plan subscriber ids, geolocation, network
/// addresses, signatures, attachments' content, and the datatypes that only carry identifiers.
const ALWAYS_DROP: &[&str] = &[
    "telecom",
    "photo",
    "contact",
    "udiCarrier",
    "serialNumber",
    "distinctIdentifier",
    "subscriberId",
    "position",
    "lotNumber",
    "network",
    "signature",
    "data",
    "hash",
    "presentedForm",
    "valueHumanName",
    "valueContactPoint",
    "valueAttachment",
    "valueSignature",
    "valueUri",
    "valueUrl",
    "valueUuid",
    "valueOid",
    "valueBase64Binary",
    "implicitRules",
];

/// Free text, which may hold any identifier: narrative, notes, displays, comments.
const FREE_TEXT: &[&str] = &[
    "text",
    "note",
    "display",
    "comment",
    "description",
    "patientInstruction",
    "valueString",
    "valueMarkdown",
    "title",
    "conclusion",
    "outcomeDesc",
    "alias",
    "div",
];

/// Instants cannot be shortened to a year (FHIR instants need a full timestamp): removed.
const INSTANT_KEYS: &[&str] = &["lastUpdated", "issued", "recorded", "when", "timestamp"];

/// Strings that are codes, systems or numbers, never dates or identifiers to scrub.
const CODE_KEYS: &[&str] = &[
    "code",
    "system",
    "version",
    "unit",
    "value",
    "status",
    "use",
    "gender",
    "resourceType",
];

/// Canonical URLs that define structure, not people.
const CANONICAL_KEYS: &[&str] = &[
    "system",
    "profile",
    "instantiatesCanonical",
    "valueCanonical",
];

struct Walker<'a> {
    d: &'a Deidentifier,
}

/// The de-identified copy of `resource`.
pub fn resource(d: &Deidentifier, resource: &Value) -> Value {
    let walker = Walker { d };
    let mut out = walker.resource(resource);
    prune(&mut out);
    out
}

impl Walker<'_> {
    fn safe_harbor(&self) -> bool {
        self.d.mode == Mode::SafeHarbor
    }

    fn resource(&self, resource: &Value) -> Value {
        let Some(object) = resource.as_object() else {
            return Value::Null;
        };
        let res_type = object
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        let over_89 = self.safe_harbor() && self.over_89(object);
        let mut out = Map::new();
        for (key, value) in object {
            match key.as_str() {
                "id" => {
                    if let Some(id) = value.as_str() {
                        out.insert(key.clone(), json!(self.d.pseudonyms.id(&res_type, id)));
                    }
                }
                "meta" => {
                    if let Some(meta) = self.meta(value) {
                        out.insert(key.clone(), meta);
                    }
                }
                "birthDate" if over_89 => {}
                _ => {
                    if let Some(v) = self.element(key, value, "") {
                        out.insert(key.clone(), v);
                    }
                }
            }
        }
        if over_89 {
            let group = json!({"url": AGE_GROUP_EXTENSION, "valueCode": "90+"});
            match out.get_mut("extension").and_then(Value::as_array_mut) {
                Some(extensions) => extensions.push(group),
                None => {
                    out.insert("extension".into(), json!([group]));
                }
            }
        }
        Value::Object(out)
    }

    /// True when the person is (or was at death) older than 89 — conservatively, when the
    /// birth date is partial.
    fn over_89(&self, patient: &Map<String, Value>) -> bool {
        let Some(birth) = patient.get("birthDate").and_then(Value::as_str) else {
            return false;
        };
        let end = patient
            .get("deceasedDateTime")
            .and_then(Value::as_str)
            .and_then(|d| d.get(..10))
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .unwrap_or(self.d.today);
        match NaiveDate::parse_from_str(birth, "%Y-%m-%d") {
            Ok(born) => end.years_since(born).unwrap_or(0) > 89,
            Err(_) => birth
                .get(..4)
                .and_then(|y| y.parse::<i32>().ok())
                .is_none_or(|y| end.year() - y > 89),
        }
    }

    /// meta keeps its security labels, tags and profiles only.
    fn meta(&self, meta: &Value) -> Option<Value> {
        let mut out = Map::new();
        for key in ["security", "tag", "profile"] {
            if let Some(v) = meta.get(key).and_then(|v| self.element(key, v, "meta")) {
                out.insert(key.into(), v);
            }
        }
        (!out.is_empty()).then_some(Value::Object(out))
    }

    /// One element value under `key` (inside an element named `parent`); None drops it.
    fn element(&self, key: &str, value: &Value, parent: &str) -> Option<Value> {
        if ALWAYS_DROP.contains(&key) || FREE_TEXT.contains(&key) {
            return None;
        }
        match key {
            "name" if parent != "parameter" && parent != "part" => return None,
            "url" if parent != "extension" && parent != "modifierExtension" => return None,
            "address" | "valueAddress" => return self.each(value, |a| self.address(a)),
            "identifier" | "valueIdentifier" => return self.each(value, |i| self.identifier(i)),
            "reference" => return value.as_str().and_then(|r| self.reference(r)),
            "resource" if value.get("resourceType").is_some() => return Some(self.resource(value)),
            "contained" => return self.each(value, |r| Some(self.resource(r))),
            _ => {}
        }
        match value {
            Value::String(text) => self.string(key, text),
            Value::Array(items) => Some(Value::Array(
                items
                    .iter()
                    .filter_map(|item| self.element(key, item, parent))
                    .collect(),
            )),
            Value::Object(object) => Some(self.object(key, object)),
            other => Some(other.clone()),
        }
    }

    fn each(&self, value: &Value, f: impl Fn(&Value) -> Option<Value>) -> Option<Value> {
        match value {
            Value::Array(items) => Some(Value::Array(items.iter().filter_map(f).collect())),
            other => f(other),
        }
    }

    fn object(&self, key: &str, object: &Map<String, Value>) -> Value {
        let mut out = Map::new();
        for (k, v) in object {
            if let Some(v) = self.element(k, v, key) {
                out.insert(k.clone(), v);
            }
        }
        if self.safe_harbor() {
            cap_age(&mut out);
        }
        if is_text_only_concept(object) && !out.contains_key("coding") {
            // a CodeableConcept with nothing but free text may be a required element
            // (e.g. Practitioner.qualification.code): keep it, with the text redacted
            out.insert("text".into(), json!(REDACTED));
        }
        Value::Object(out)
    }

    fn string(&self, key: &str, text: &str) -> Option<Value> {
        let canonical = CANONICAL_KEYS.contains(&key) || key == "url";
        if !canonical && looks_identifying(text) {
            return None;
        }
        if self.safe_harbor() && !CODE_KEYS.contains(&key) && !canonical {
            if let Some(year) = date_year(text) {
                if INSTANT_KEYS.contains(&key) {
                    return None;
                }
                return Some(json!(year));
            }
        }
        Some(json!(text))
    }

    /// Safe Harbor keeps the state, country and 3-digit ZIP; the limited data set also
    /// keeps city, county (district) and the full ZIP. Street lines and text never leave.
    fn address(&self, address: &Value) -> Option<Value> {
        let keep: &[&str] = if self.safe_harbor() {
            &["use", "type", "state", "country"]
        } else {
            &[
                "use",
                "type",
                "city",
                "district",
                "state",
                "postalCode",
                "country",
                "period",
            ]
        };
        let mut out = Map::new();
        for key in keep {
            if let Some(v) = address.get(*key) {
                if let Some(v) = self.element(key, v, "address") {
                    out.insert(key.to_string(), v);
                }
            }
        }
        if self.safe_harbor() {
            if let Some(zip) = address
                .get("postalCode")
                .and_then(Value::as_str)
                .and_then(zip3)
            {
                out.insert("postalCode".into(), json!(zip));
            }
        }
        Some(Value::Object(out))
    }

    /// An identifier becomes a pseudonym in the registry's own system.
    fn identifier(&self, identifier: &Value) -> Option<Value> {
        let value = identifier.get("value")?.as_str()?;
        let system = identifier
            .get("system")
            .and_then(Value::as_str)
            .unwrap_or("");
        Some(json!({
            "system": self.d.pseudonyms.system,
            "value": self.d.pseudonyms.identifier(system, value),
        }))
    }

    /// `Type/id` (relative, absolute or versioned) keeps its type with a pseudonymous id.
    fn reference(&self, reference: &str) -> Option<Value> {
        if reference.starts_with('#') {
            return Some(json!(reference));
        }
        if let Some(uuid) = reference.strip_prefix("urn:uuid:") {
            return Some(json!(format!("urn:uuid:{}", self.d.pseudonyms.uuid(uuid))));
        }
        let (res_type, id) = crate::fhir::json::reference_parts(reference)?;
        Some(json!(format!(
            "{res_type}/{}",
            self.d.pseudonyms.id(&res_type, &id)
        )))
    }
}

/// What stands in for free text that cannot simply be removed.
pub const REDACTED: &str = "redacted";

/// True for a CodeableConcept-shaped object holding free text (and perhaps codings).
fn is_text_only_concept(object: &Map<String, Value>) -> bool {
    object.get("text").is_some_and(Value::is_string)
        && object
            .keys()
            .all(|k| matches!(k.as_str(), "text" | "coding" | "id" | "extension"))
}

/// An Age (UCUM years) above 89 becomes `>= 90`.
fn cap_age(quantity: &mut Map<String, Value>) {
    let years = quantity.get("code").and_then(Value::as_str) == Some("a")
        && quantity
            .get("system")
            .and_then(Value::as_str)
            .is_some_and(|s| s == "http://unitsofmeasure.org");
    let value = quantity.get("value").and_then(Value::as_f64);
    if years && value.is_some_and(|v| v > 89.0) {
        quantity.insert("value".into(), json!(90));
        quantity.insert("comparator".into(), json!(">="));
    }
}

/// Removes what the rules emptied: empty objects, arrays and strings (FHIR forbids them),
/// and extensions left without a value.
fn prune(value: &mut Value) -> bool {
    match value {
        Value::Object(object) => {
            object.retain(|_, v| !prune(v));
            let is_extension = object.contains_key("url")
                && !object.contains_key("extension")
                && !object.keys().any(|k| k.starts_with("value"));
            object.is_empty() || (is_extension && object.len() == 1)
        }
        Value::Array(items) => {
            items.retain_mut(|v| !prune(v));
            items.is_empty()
        }
        Value::String(text) => text.is_empty(),
        Value::Null => true,
        _ => false,
    }
}
