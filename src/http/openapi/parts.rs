//! Small builders the OpenAPI document is assembled from: schemas, parameters, FHIR JSON
//! content, the shared error responses and security requirements.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::schema::{ArrayBuilder, ArrayItems, ObjectBuilder, Schema, Type};
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::{Content, ContentBuilder, Ref, RefOr, Required, Response, ResponseBuilder};

/// FHIR's JSON media type (responses and preferred request bodies).
pub const FHIR_JSON: &str = "application/fhir+json";

/// The name of the security scheme every protected operation names.
pub const BEARER: &str = "bearer";

/// A string schema.
pub fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::String)
}

/// A schema by reference to `#/components/schemas/{name}`.
pub fn schema_ref(name: &str) -> RefOr<Schema> {
    Ref::from_schema_name(name).into()
}

/// An array of `items`.
pub fn array(items: impl Into<RefOr<Schema>>) -> ArrayBuilder {
    ArrayBuilder::new().items(ArrayItems::RefOrSchema(Box::new(items.into())))
}

/// The schema for a parameter of `kind` (an `OperationDoc` kind or a FHIR search type).
pub fn kind_schema(kind: &str) -> RefOr<Schema> {
    match kind {
        "integer" => ObjectBuilder::new().schema_type(Type::Integer).into(),
        "number" => ObjectBuilder::new().schema_type(Type::Number).into(),
        "boolean" => ObjectBuilder::new().schema_type(Type::Boolean).into(),
        _ => string().into(),
    }
}

/// A query, path or header parameter.
pub fn parameter(
    name: &str,
    location: ParameterIn,
    required: bool,
    schema: RefOr<Schema>,
    description: &str,
) -> Parameter {
    let in_path = location == ParameterIn::Path;
    ParameterBuilder::new()
        .name(name)
        .parameter_in(location)
        .required(if required || in_path {
            Required::True
        } else {
            Required::False
        })
        .schema(Some(schema))
        .description(Some(description))
        .build()
}

/// A path parameter (always required).
pub fn path_param(name: &str, description: &str) -> Parameter {
    parameter(name, ParameterIn::Path, true, string().into(), description)
}

/// A header parameter.
pub fn header_param(name: &str, description: &str) -> Parameter {
    parameter(
        name,
        ParameterIn::Header,
        false,
        string().into(),
        description,
    )
}

/// FHIR JSON content of schema `name`, with an optional example.
pub fn fhir_content(name: &str, example: Option<serde_json::Value>) -> Content {
    ContentBuilder::new()
        .schema(Some(schema_ref(name)))
        .example(example)
        .build()
}

/// A response whose body is `media` (a FHIR resource type → FHIR JSON of that schema, or a
/// media type; `none`: no body).
pub fn response(description: &str, body: &str) -> Response {
    let builder = ResponseBuilder::new().description(description);
    match body {
        "none" => builder.build(),
        "application/json" => builder
            .content(
                body,
                ContentBuilder::new()
                    .schema(Some(ObjectBuilder::new().schema_type(Type::Object)))
                    .build(),
            )
            .build(),
        media if media.contains('/') => builder
            .content(media, ContentBuilder::new().schema(Some(string())).build())
            .build(),
        "DoctorReport" | "Health" | "SmartConfiguration" => builder
            .content("application/json", fhir_content(body, None))
            .build(),
        resource => builder
            .content(FHIR_JSON, fhir_content(resource, None))
            .build(),
    }
}

/// The shared OperationOutcome error responses: (status, component name, description).
pub const ERRORS: &[(u16, &str, &str)] = &[
    (
        400,
        "BadRequest",
        "The request is malformed or the resource is invalid",
    ),
    (401, "Unauthorized", "No valid Bearer token"),
    (
        403,
        "Forbidden",
        "The token's scopes do not allow this interaction",
    ),
    (404, "NotFound", "Unknown, or not visible with this token"),
    (410, "Gone", "The resource was deleted"),
    (
        412,
        "PreconditionFailed",
        "If-Match did not match, or conditional criteria matched several",
    ),
    (
        422,
        "Unprocessable",
        "A business rule refused the request (strict coding validation, failed patch test)",
    ),
];

/// A reference to the shared error response for `status`.
pub fn error_ref(status: u16) -> (String, RefOr<Response>) {
    let name = ERRORS
        .iter()
        .find(|(s, _, _)| *s == status)
        .map(|(_, n, _)| *n)
        .unwrap_or("BadRequest");
    (
        status.to_string(),
        RefOr::Ref(Ref::from_response_name(name)),
    )
}

/// The security requirement: a Bearer token with any one of `scopes` (none: public).
pub fn security(scopes: &[String]) -> Option<Vec<SecurityRequirement>> {
    if scopes.is_empty() {
        None
    } else {
        Some(vec![SecurityRequirement::new(BEARER, scopes.to_vec())])
    }
}

/// The SMART v2 scopes that grant `letters` (`r`, `s`, `c`, `u`, `d`) on `res_type`.
pub fn smart_scopes(res_type: &str, letters: &str, patient_context: bool) -> Vec<String> {
    let contexts: &[&str] = if patient_context {
        &["patient", "user", "system"]
    } else {
        &["user", "system"]
    };
    contexts
        .iter()
        .map(|c| format!("{c}/{res_type}.{letters}"))
        .collect()
}

/// An operationId from a method and path: `get /fhir/CodeSystem/$lookup` → `get-CodeSystem-lookup`.
pub fn operation_id(method: &str, path: &str) -> String {
    let mut id = method.to_string();
    for part in path.trim_start_matches("/fhir").split('/') {
        let clean: String = part
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect();
        if !clean.is_empty() {
            id.push('-');
            id.push_str(&clean);
        }
    }
    id
}
