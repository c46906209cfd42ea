//! Values flowing through evaluation: borrowed JSON nodes (with their FHIR
//! type when known) and values computed by the expression.

use serde_json::Value;

/// A borrowed element of the resource being evaluated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Node<'a> {
    /// The element's JSON value; `None` for a primitive that only has a `_name` sibling.
    pub value: Option<&'a Value>,
    /// The `_name` sibling of a primitive (id and extensions).
    pub extra: Option<&'a Value>,
    /// FHIR type name when known: declared type, choice-type suffix, resource
    /// type, or the path of a backbone element (`Patient.contact`).
    pub type_name: Option<&'a str>,
    /// Canonical URL of the element's required value set (for `code` elements).
    pub binding: Option<&'a str>,
}

/// One item of a FHIRPath collection.
#[derive(Debug, Clone, PartialEq)]
pub enum Item<'a> {
    /// A borrowed JSON element.
    Node(Node<'a>),
    Boolean(bool),
    Integer(i64),
    Decimal(f64),
    String(String),
    /// Date literal or computed date (FHIR date text, e.g. `2020-01`).
    Date(String),
    /// DateTime text.
    DateTime(String),
    /// Time text (without the leading `T`).
    Time(String),
    /// A quantity with its unit (UCUM code or calendar word).
    Quantity(f64, String),
    /// Result of `resolve()` on a reference we do not fetch: typed by the
    /// reference's target type; carries the Reference element itself.
    Resolved {
        type_name: &'a str,
        reference: &'a Value,
    },
}

/// Choice-type suffixes allowed after `value`, `onset`, ... with their FHIR type names.
const CHOICE_TYPES: [(&str, &str); 50] = [
    ("Base64Binary", "base64Binary"),
    ("Boolean", "boolean"),
    ("Canonical", "canonical"),
    ("Code", "code"),
    ("Date", "date"),
    ("DateTime", "dateTime"),
    ("Decimal", "decimal"),
    ("Id", "id"),
    ("Instant", "instant"),
    ("Integer", "integer"),
    ("Markdown", "markdown"),
    ("Oid", "oid"),
    ("PositiveInt", "positiveInt"),
    ("String", "string"),
    ("Time", "time"),
    ("UnsignedInt", "unsignedInt"),
    ("Uri", "uri"),
    ("Url", "url"),
    ("Uuid", "uuid"),
    ("Address", "Address"),
    ("Age", "Age"),
    ("Annotation", "Annotation"),
    ("Attachment", "Attachment"),
    ("CodeableConcept", "CodeableConcept"),
    ("Coding", "Coding"),
    ("ContactPoint", "ContactPoint"),
    ("Count", "Count"),
    ("Distance", "Distance"),
    ("Duration", "Duration"),
    ("HumanName", "HumanName"),
    ("Identifier", "Identifier"),
    ("Money", "Money"),
    ("Period", "Period"),
    ("Quantity", "Quantity"),
    ("Range", "Range"),
    ("Ratio", "Ratio"),
    ("Reference", "Reference"),
    ("SampledData", "SampledData"),
    ("Signature", "Signature"),
    ("Timing", "Timing"),
    ("ContactDetail", "ContactDetail"),
    ("Contributor", "Contributor"),
    ("DataRequirement", "DataRequirement"),
    ("Expression", "Expression"),
    ("ParameterDefinition", "ParameterDefinition"),
    ("RelatedArtifact", "RelatedArtifact"),
    ("TriggerDefinition", "TriggerDefinition"),
    ("UsageContext", "UsageContext"),
    ("Dosage", "Dosage"),
    ("Meta", "Meta"),
];

/// FHIR type name for a choice-element suffix (`Quantity` in `valueQuantity`).
pub fn choice_type(suffix: &str) -> Option<&'static str> {
    CHOICE_TYPES
        .iter()
        .find(|(s, _)| *s == suffix)
        .map(|(_, name)| *name)
}

/// Whether a value of type `actual` satisfies a test for type `wanted`
/// (exact match or FHIR specialisation such as `code` of `string`, `Age` of `Quantity`).
pub fn type_matches(actual: &str, wanted: &str) -> bool {
    if actual.eq_ignore_ascii_case(wanted) {
        return true;
    }
    let parent = match actual {
        // Backbone elements are typed by their path (`Patient.contact`).
        t if t.contains('.') => "BackboneElement",
        "BackboneElement" => "Element",
        "code" | "id" | "markdown" => "string",
        "canonical" | "url" | "uuid" | "oid" => "uri",
        "positiveInt" | "unsignedInt" => "integer",
        "Age" | "Count" | "Distance" | "Duration" | "MoneyQuantity" | "SimpleQuantity" => {
            "Quantity"
        }
        "Resource" => return false,
        "DomainResource" => "Resource",
        "Bundle" | "Binary" | "Parameters" => "Resource",
        t if t.starts_with(|c: char| c.is_ascii_uppercase()) && is_resource_name(t) => {
            "DomainResource"
        }
        _ => return false,
    };
    type_matches(parent, wanted)
}

fn is_resource_name(name: &str) -> bool {
    crate::fhir::search_params::is_resource_type(name)
}

/// Guess the FHIR type of an untyped JSON element from its shape.
/// Used when the element's declared type is not known (no structure model).
pub fn infer_type(value: &Value) -> Option<&'static str> {
    match value {
        Value::Bool(_) => Some("boolean"),
        Value::Number(n) => Some(if n.is_i64() || n.is_u64() {
            "integer"
        } else {
            "decimal"
        }),
        Value::String(_) => Some("string"),
        Value::Object(map) => {
            let has = |k: &str| map.contains_key(k);
            if has("coding") || (map.len() == 1 && has("text")) {
                Some("CodeableConcept")
            } else if has("reference") || (has("identifier") && has("display")) {
                Some("Reference")
            } else if has("currency") {
                Some("Money")
            } else if has("family") || has("given") {
                Some("HumanName")
            } else if has("line") || has("city") || has("postalCode") || has("country") {
                Some("Address")
            } else if has("start") || has("end") {
                Some("Period")
            } else if has("low") || has("high") {
                Some("Range")
            } else if has("numerator") || has("denominator") {
                Some("Ratio")
            } else if has("event") || has("repeat") {
                Some("Timing")
            } else if has("code") && !has("value") && (has("system") || has("display")) {
                Some("Coding")
            } else if has("value") && (has("unit") || has("code") || has("comparator")) {
                Some("Quantity")
            } else if has("value") && is_contact_point(map) {
                Some("ContactPoint")
            } else if has("value") && (has("system") || has("type") || has("assigner")) {
                Some("Identifier")
            } else {
                None
            }
        }
        _ => None,
    }
}

fn is_contact_point(map: &serde_json::Map<String, Value>) -> bool {
    const SYSTEMS: [&str; 7] = ["phone", "fax", "email", "pager", "url", "sms", "other"];
    map.contains_key("rank")
        || map
            .get("system")
            .and_then(Value::as_str)
            .is_some_and(|s| SYSTEMS.contains(&s))
}

impl<'a> Node<'a> {
    /// A node for a resource (type taken from `resourceType`).
    pub fn resource(value: &'a Value) -> Self {
        Node {
            value: Some(value),
            extra: None,
            type_name: value.get("resourceType").and_then(Value::as_str),
            binding: None,
        }
    }

    /// The code system of `code` in this element's required value set
    /// (`male` in `Patient.gender` -> `http://hl7.org/fhir/administrative-gender`).
    pub fn code_system(&self, code: &str) -> Option<&'static str> {
        super::model::code_system(self.binding?, code)
    }

    /// The declared or inferred type name.
    pub fn effective_type(&self) -> Option<&'a str> {
        self.type_name.or_else(|| self.value.and_then(infer_type))
    }
}

impl<'a> Item<'a> {
    /// Wrap a borrowed JSON value, typing resources by `resourceType`.
    pub fn node(value: &'a Value) -> Self {
        Item::Node(Node::resource(value))
    }

    /// The JSON value if this is a node with a value.
    pub fn json(&self) -> Option<&'a Value> {
        match self {
            Item::Node(node) => node.value,
            _ => None,
        }
    }

    /// The FHIR/System type name of this item, declared or inferred.
    pub fn type_name(&self) -> Option<&'a str> {
        match self {
            Item::Node(node) => node.effective_type(),
            Item::Boolean(_) => Some("boolean"),
            Item::Integer(_) => Some("integer"),
            Item::Decimal(_) => Some("decimal"),
            Item::String(_) => Some("string"),
            Item::Date(_) => Some("date"),
            Item::DateTime(_) => Some("dateTime"),
            Item::Time(_) => Some("time"),
            Item::Quantity(..) => Some("Quantity"),
            Item::Resolved { type_name, .. } => Some(type_name),
        }
    }

    /// Whether this item is of type `wanted` (or a specialisation of it).
    pub fn is_type(&self, wanted: &str) -> bool {
        self.type_name().is_some_and(|t| type_matches(t, wanted))
    }
}
