//! Component schemas: every R4 resource type as a JSON object with `resourceType` (the
//! server validates the rest against the R4 StructureDefinitions), richer Bundle,
//! OperationOutcome and Parameters schemas, and the non-FHIR JSON bodies; plus examples.

use super::parts::{array, schema_ref, string};
use crate::fhir::search_params::RESOURCE_TYPES;
use serde_json::{json, Value};
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::openapi::RefOr;

/// FHIR's `id` datatype.
const ID_PATTERN: &str = "^[A-Za-z0-9\\-\\.]{1,64}$";

fn object() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Object)
}

fn integer() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer)
}

fn one_of_strings(values: &[&str]) -> ObjectBuilder {
    string().enum_values(Some(values.iter().copied()))
}

fn resource_schema(res_type: &str) -> ObjectBuilder {
    object()
        .description(Some(format!(
            "A FHIR R4 {res_type} (https://hl7.org/fhir/R4/{}.html). Elements besides \
             resourceType, id and meta are checked by the server against the R4 definitions.",
            res_type.to_lowercase()
        )))
        .property("resourceType", one_of_strings(&[res_type]))
        .required("resourceType")
        .property("id", string().pattern(Some(ID_PATTERN)))
        .property("meta", schema_ref("Meta"))
}

fn coding() -> ObjectBuilder {
    object()
        .property("system", string())
        .property("code", string())
        .property("display", string())
}

fn meta() -> ObjectBuilder {
    object()
        .property("versionId", string())
        .property("lastUpdated", string())
        .property("source", string())
        .property("profile", array(string()))
        .property("security", array(schema_ref("Coding")))
        .property("tag", array(schema_ref("Coding")))
}

fn bundle() -> ObjectBuilder {
    let link = object()
        .property("relation", string())
        .property("url", string());
    let entry = object()
        .property("fullUrl", string())
        .property("resource", object())
        .property("search", object().property("mode", string()))
        .property(
            "request",
            object()
                .property(
                    "method",
                    one_of_strings(&["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH"]),
                )
                .property("url", string()),
        )
        .property(
            "response",
            object()
                .property("status", string())
                .property("location", string())
                .property("etag", string())
                .property("lastModified", string())
                .property("outcome", schema_ref("OperationOutcome")),
        );
    resource_schema("Bundle")
        .description(Some(
            "A FHIR R4 Bundle: searchset and history pages, transaction/batch requests and \
             their responses.",
        ))
        .property(
            "type",
            one_of_strings(&[
                "document",
                "message",
                "transaction",
                "transaction-response",
                "batch",
                "batch-response",
                "history",
                "searchset",
                "collection",
            ]),
        )
        .property("total", integer())
        .property("link", array(link))
        .property("entry", array(entry))
        .examples([bundle_example()])
}

fn operation_outcome() -> ObjectBuilder {
    let issue = object()
        .property(
            "severity",
            one_of_strings(&["fatal", "error", "warning", "information"]),
        )
        .required("severity")
        .property("code", string())
        .required("code")
        .property("details", object())
        .property("diagnostics", string())
        .property("expression", array(string()))
        .property("location", array(string()));
    resource_schema("OperationOutcome")
        .description(Some(
            "Every error answers with an OperationOutcome; `expression` locates the element \
             (FHIRPath), `details.coding` carries chartroom's edit ids.",
        ))
        .property("issue", array(issue).min_items(Some(1)))
        .required("issue")
        .examples([json!({
            "resourceType": "OperationOutcome",
            "issue": [{
                "severity": "error",
                "code": "invalid",
                "diagnostics": "birthDate: '25/12/1974' is not a valid date",
                "expression": ["Patient.birthDate"]
            }]
        })])
}

fn parameters() -> ObjectBuilder {
    let parameter = object()
        .description(Some(
            "name plus one value[x] (valueString, valueCode, valueBoolean, ...), a resource or parts",
        ))
        .property("name", string())
        .required("name")
        .property("part", array(object()));
    resource_schema("Parameters")
        .property("parameter", array(parameter))
        .examples([json!({
            "resourceType": "Parameters",
            "parameter": [
                {"name": "system", "valueUri": "http://hl7.org/fhir/sid/icd-10-cm"},
                {"name": "code", "valueCode": "E11.9"}
            ]
        })])
}

fn json_patch() -> RefOr<Schema> {
    array(
        object()
            .property(
                "op",
                one_of_strings(&["add", "remove", "replace", "move", "copy", "test"]),
            )
            .required("op")
            .property("path", string())
            .required("path")
            .property("from", string())
            .property(
                "value",
                ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::AnyValue),
            ),
    )
    .description(Some("RFC 6902 JSON Patch"))
    .examples([json!([
        {"op": "replace", "path": "/gender", "value": "female"}
    ])])
    .into()
}

fn doctor_report() -> ObjectBuilder {
    let check = object()
        .property("name", string())
        .property("status", one_of_strings(&["ok", "warning", "error"]))
        .property("detail", string());
    object()
        .property("ok", ObjectBuilder::new().schema_type(Type::Boolean))
        .required("ok")
        .property("checks", array(check))
        .required("checks")
        .property(
            "indexes",
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::Array(vec![
                Type::Object,
                Type::Null,
            ])),
        )
}

/// Every component schema, by name.
pub fn all() -> Vec<(String, RefOr<Schema>)> {
    let mut schemas: Vec<(String, RefOr<Schema>)> = RESOURCE_TYPES
        .iter()
        .map(|t| {
            let schema = match *t {
                "Bundle" => bundle(),
                "OperationOutcome" => operation_outcome(),
                "Parameters" => parameters(),
                other => {
                    let s = resource_schema(other);
                    match example(other) {
                        Some(e) => s.examples([e]),
                        None => s,
                    }
                }
            };
            (t.to_string(), schema.into())
        })
        .collect();
    schemas.push(("Meta".into(), meta().into()));
    schemas.push(("Coding".into(), coding().into()));
    schemas.push(("JsonPatch".into(), json_patch()));
    schemas.push(("DoctorReport".into(), doctor_report().into()));
    schemas.push((
        "Health".into(),
        object()
            .property("status", string())
            .required("status")
            .into(),
    ));
    schemas.push((
        "SmartConfiguration".into(),
        object()
            .property("capabilities", array(string()))
            .property("scopes_supported", array(string()))
            .property("grant_types_supported", array(string()))
            .into(),
    ));
    schemas
}

/// A valid example body for the records-room core types.
pub fn example(res_type: &str) -> Option<Value> {
    Some(match res_type {
        "Patient" => json!({
            "resourceType": "Patient",
            "identifier": [{"system": "urn:oid:1.2.36.146.595.217.0.1", "value": "MRN-000123"}],
            "name": [{"family": "Example", "given": ["Alex"]}],
            "gender": "female",
            "birthDate": "1974-12-25"
        }),
        "Condition" => json!({
            "resourceType": "Condition",
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "E11.9", "display": "Type 2 diabetes mellitus without complications"}]},
            "subject": {"reference": "Patient/example"},
            "recordedDate": "2026-03-02"
        }),
        "Encounter" => json!({
            "resourceType": "Encounter",
            "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP"},
            "subject": {"reference": "Patient/example"},
            "period": {"start": "2026-03-01T08:00:00Z", "end": "2026-03-04T11:00:00Z"}
        }),
        "Observation" => json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "4548-4", "display": "Hemoglobin A1c"}]},
            "subject": {"reference": "Patient/example"},
            "valueQuantity": {"value": 7.2, "unit": "%", "system": "http://unitsofmeasure.org", "code": "%"}
        }),
        _ => return None,
    })
}

fn bundle_example() -> Value {
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [{
            "fullUrl": "urn:uuid:61ebe359-bfdc-4613-8bf2-c5e300945f0a",
            "resource": example("Patient"),
            "request": {"method": "POST", "url": "Patient"}
        }]
    })
}
