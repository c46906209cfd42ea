//! `OperationDoc` tables → OpenAPI operations (parameters, body, responses, error
//! responses, the scopes that allow the call).

use super::parts::{
    error_ref, fhir_content, kind_schema, operation_id, parameter, path_param, response, security,
    string, FHIR_JSON,
};
use crate::http::op_doc::{OperationDoc, ParamIn};
use utoipa::openapi::path::{HttpMethod, Operation, OperationBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::{ContentBuilder, Required};

fn method(name: &str) -> HttpMethod {
    match name {
        "post" => HttpMethod::Post,
        "put" => HttpMethod::Put,
        "delete" => HttpMethod::Delete,
        "patch" => HttpMethod::Patch,
        _ => HttpMethod::Get,
    }
}

fn location(l: ParamIn) -> ParameterIn {
    match l {
        ParamIn::Path => ParameterIn::Path,
        ParamIn::Query => ParameterIn::Query,
        ParamIn::Header => ParameterIn::Header,
    }
}

fn kind_description(kind: &str) -> &'static str {
    match kind {
        "date" => " (YYYY[-MM[-DD]])",
        "token" => " ([system]|[code])",
        "reference" => " ([type]/[id])",
        "code-range" => " (C00-C96, E10,E11)",
        _ => "",
    }
}

/// The `{name}` placeholders of the path that the table row does not declare itself (a
/// placeholder OpenAPI does not find among the parameters makes the document invalid).
fn undeclared_placeholders(doc: &OperationDoc) -> Vec<&'static str> {
    doc.path
        .split('{')
        .skip(1)
        .filter_map(|rest| rest.split_once('}').map(|(name, _)| name))
        .filter(|name| {
            !doc.params
                .iter()
                .any(|p| p.name == *name && matches!(p.location, ParamIn::Path))
        })
        .collect()
}

/// One table row as (path, method, operation).
pub fn operation(doc: &OperationDoc) -> (String, HttpMethod, Operation) {
    let mut op = OperationBuilder::new()
        .tag(doc.tag)
        .summary(Some(doc.summary))
        .description(Some(doc.description))
        .operation_id(Some(operation_id(doc.method, doc.path)))
        .securities(security(
            &doc.scopes.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
        ));
    for name in undeclared_placeholders(doc) {
        op = op.parameter(path_param(name, "logical id"));
    }
    for p in doc.params {
        op = op.parameter(parameter(
            p.name,
            location(p.location),
            p.required,
            kind_schema(p.kind),
            &format!("{}{}", p.description, kind_description(p.kind)),
        ));
    }
    if let Some(body) = doc.body {
        let request = RequestBodyBuilder::new().required(Some(Required::True));
        let request = if body.contains('/') {
            request.content(body, ContentBuilder::new().schema(Some(string())).build())
        } else {
            request
                .content(FHIR_JSON, fhir_content(body, None))
                .content("application/json", fhir_content(body, None))
        };
        op = op.request_body(Some(request.build()));
    }
    for r in doc.responses {
        op = op.response(r.status.to_string(), response(r.description, r.body));
    }
    let documented = |s: u16| doc.responses.iter().any(|r| r.status == s);
    let mut errors = vec![];
    if !doc.scopes.is_empty() {
        errors.extend([400, 401, 403]);
    } else if doc.method != "get" || !doc.params.is_empty() {
        errors.push(400);
    }
    if doc.path.contains("{id}") {
        errors.push(404);
    }
    for status in errors.into_iter().filter(|s| !documented(*s)) {
        let (code, r) = error_ref(status);
        op = op.response(code, r);
    }
    (doc.path.to_string(), method(doc.method), op.build())
}
