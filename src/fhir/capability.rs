//! The CapabilityStatement: what this server implements, generated from the same tables
//! the server uses (resource types, interactions, search parameters), so it cannot drift.

use super::json::{instant, now_ms};
use serde_json::{json, Value};

/// Search parameters of one type as (code, FHIR type, definition URL).
pub type ParamList = Vec<(String, String, String)>;

/// Inputs that vary with the server's state.
pub struct CapabilityInputs<'a> {
    pub base_url: &'a str,
    pub resource_types: &'a [&'a str],
    pub search_params: &'a dyn Fn(&str) -> ParamList,
    pub version: &'a str,
    /// FHIR operations as (resource type or None for system level, name), without repeats.
    pub operations: &'a [(Option<String>, String)],
}

/// Interactions implemented for every resource type.
const TYPE_INTERACTIONS: &[&str] = &[
    "read",
    "vread",
    "update",
    "patch",
    "delete",
    "history-instance",
    "history-type",
    "create",
];
/// Interactions implemented at the system level.
const SYSTEM_INTERACTIONS: &[&str] = &["history-system", "search-system", "transaction", "batch"];

/// Operations the HL7 specifications define, by (resource type, name); every other
/// operation is chartroom's own.
const STANDARD_OPERATIONS: &[(Option<&str>, &str, &str)] = &[
    (
        Some("CodeSystem"),
        "lookup",
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-lookup",
    ),
    (
        Some("CodeSystem"),
        "validate-code",
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-validate-code",
    ),
    (
        Some("CodeSystem"),
        "subsumes",
        "http://hl7.org/fhir/OperationDefinition/CodeSystem-subsumes",
    ),
    (
        Some("ValueSet"),
        "expand",
        "http://hl7.org/fhir/OperationDefinition/ValueSet-expand",
    ),
    (
        Some("ValueSet"),
        "validate-code",
        "http://hl7.org/fhir/OperationDefinition/ValueSet-validate-code",
    ),
    (
        Some("Patient"),
        "everything",
        "http://hl7.org/fhir/OperationDefinition/Patient-everything",
    ),
    (
        Some("Patient"),
        "match",
        "http://hl7.org/fhir/OperationDefinition/Patient-match",
    ),
    (
        None,
        "export",
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    ),
    (
        Some("Patient"),
        "export",
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    ),
    (
        Some("Group"),
        "export",
        "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/group-export",
    ),
];

/// The canonical OperationDefinition of `$name` on `res_type` (None: system level).
pub fn operation_definition(res_type: Option<&str>, name: &str) -> String {
    STANDARD_OPERATIONS
        .iter()
        .find(|(t, n, _)| *t == res_type && *n == name)
        .map(|(_, _, url)| url.to_string())
        .unwrap_or_else(|| match res_type {
            Some(t) => format!("http://chartroom.dev/fhir/OperationDefinition/{t}-{name}"),
            None => format!("http://chartroom.dev/fhir/OperationDefinition/{name}"),
        })
}

/// `$name` and the resource type (None: system level) of an endpoint path such as
/// `/fhir/Encounter/{id}/$claim`; None for paths that are no FHIR operation.
pub fn operation_of_path(path: &str) -> Option<(Option<String>, String)> {
    let rest = path.strip_prefix("/fhir/")?;
    let segments: Vec<&str> = rest.split('/').collect();
    let name = segments.last()?.strip_prefix('$')?.to_string();
    match segments.as_slice() {
        [_] => Some((None, name)),
        [t, _] | [t, _, _] if !t.starts_with('{') => Some((Some(t.to_string()), name)),
        _ => None,
    }
}

fn operations_of(operations: &[(Option<String>, String)], res_type: Option<&str>) -> Vec<Value> {
    operations
        .iter()
        .filter(|(t, _)| t.as_deref() == res_type)
        .map(|(t, name)| json!({ "name": name, "definition": operation_definition(t.as_deref(), name) }))
        .collect()
}

pub fn capability_statement(inputs: &CapabilityInputs<'_>) -> Value {
    let resources: Vec<Value> = inputs
        .resource_types
        .iter()
        .map(|t| {
            let params: Vec<Value> = (inputs.search_params)(t)
                .into_iter()
                .map(|(code, kind, url)| json!({ "name": code, "type": kind, "definition": url }))
                .collect();
            let mut resource = json!({
                "type": t,
                "profile": format!("http://hl7.org/fhir/StructureDefinition/{t}"),
                "interaction": TYPE_INTERACTIONS.iter().map(|i| json!({ "code": i })).collect::<Vec<_>>(),
                "versioning": "versioned-update",
                "readHistory": true,
                "updateCreate": true,
                "conditionalRead": "full-support",
                "conditionalCreate": true,
                "conditionalUpdate": true,
                "conditionalDelete": "single",
                "searchInclude": ["*"],
                "searchRevInclude": ["*"],
            });
            if !params.is_empty() {
                resource["searchParam"] = Value::Array(params);
            }
            let operations = operations_of(inputs.operations, Some(t));
            if !operations.is_empty() {
                resource["operation"] = Value::Array(operations);
            }
            resource
        })
        .collect();
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": instant(now_ms()),
        "publisher": "chartroom",
        "kind": "instance",
        "software": { "name": "chartroom", "version": inputs.version },
        "implementation": { "description": "chartroom FHIR R4 server", "url": inputs.base_url },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/json"],
        "instantiates": ["http://hl7.org/fhir/uv/bulkdata/CapabilityStatement/bulk-data"],
        "rest": [{
            "mode": "server",
            "operation": [{ "name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export" }],
            "resource": resources,
            "searchParam": [
                { "name": "_id", "type": "token" },
                { "name": "_lastUpdated", "type": "date" },
                { "name": "_type", "type": "token" }
            ],
            "documentation": "Search: all R4 search parameters of every type (string, token, date, number, quantity, reference, uri, composite), modifiers :missing :exact :contains :text :not :of-type :below :above :in :not-in :identifier :[type] (:in/:not-in with the implicit ICD-10-CM/PCS value sets and stored ValueSets: concept lists, whole systems, excludes, nested value sets, ICD is-a filters, stored expansions), prefixes eq ne gt lt ge le sa eb ap, chaining, _has, _include/_revinclude (:iterate), _sort (up to 3 keys), _count with keyset paging, _total, _summary, _elements. Not supported: _text, _content, _list, _filter, _query, token :above/:below on non-hierarchical systems beyond code prefixes, quantity unit conversion.",
            "operation": operations_of(inputs.operations, None),
            "interaction": SYSTEM_INTERACTIONS.iter().map(|i| json!({ "code": i })).collect::<Vec<_>>()
        }]
    })
}
