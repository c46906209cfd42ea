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

/// FHIR operations, as (resource type or None for system level, name, definition).
const OPERATIONS: &[(Option<&str>, &str, &str)] = &[
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
        "disclose",
        "http://chartroom.dev/fhir/OperationDefinition/Patient-disclose",
    ),
    (
        Some("Patient"),
        "disclosures",
        "http://chartroom.dev/fhir/OperationDefinition/Patient-disclosures",
    ),
    (
        Some("Encounter"),
        "audit-coding",
        "http://chartroom.dev/fhir/OperationDefinition/Encounter-audit-coding",
    ),
    (
        None,
        "audit-coding",
        "http://chartroom.dev/fhir/OperationDefinition/audit-coding",
    ),
    (
        None,
        "audit-verify",
        "http://chartroom.dev/fhir/OperationDefinition/audit-verify",
    ),
    (
        None,
        "reindex",
        "http://chartroom.dev/fhir/OperationDefinition/reindex",
    ),
];

fn operations_of(res_type: Option<&str>) -> Vec<Value> {
    OPERATIONS
        .iter()
        .filter(|(t, _, _)| *t == res_type)
        .map(|(_, name, definition)| json!({ "name": name, "definition": definition }))
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
            let operations = operations_of(Some(t));
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
            "operation": operations_of(None),
            "interaction": SYSTEM_INTERACTIONS.iter().map(|i| json!({ "code": i })).collect::<Vec<_>>()
        }]
    })
}
