//! chartroom's own SearchParameters: records-room state that the official R4 set does not
//! cover. The registry loads them beside the official ones, so they are indexed, searched
//! and listed in the CapabilityStatement like any other parameter.

use serde_json::{json, Value};

/// The server-owned Encounter extension holding the coding status (valueCode).
pub const CODING_STATUS_EXTENSION: &str =
    "http://chartroom.dev/fhir/StructureDefinition/coding-status";

/// The SearchParameter resources, in registry order.
pub fn definitions() -> Vec<Value> {
    let ext = format!("Encounter.extension.where(url = '{CODING_STATUS_EXTENSION}')");
    vec![json!({
        "resourceType": "SearchParameter",
        "url": "http://chartroom.dev/fhir/SearchParameter/Encounter-coding-status",
        "name": "coding-status",
        "status": "active",
        "description": "The coding status of the encounter (uncoded | coded | audited | final); a finished encounter without one is uncoded",
        "code": "coding-status",
        "base": ["Encounter"],
        "type": "token",
        // A finished encounter nobody has coded yet carries no extension: it is `uncoded`.
        "expression": format!(
            "{ext}.value | iif(Encounter.status = 'finished' and {ext}.empty(), 'uncoded')"
        ),
    })]
}
