//! The OpenAPI document: the committed copy is what the code generates, the server serves
//! it at `/openapi.json`, it covers every route table, and the docs UI works offline.

use crate::helpers::{spawn, Backend};
use chartroom::http::openapi::{document_json, OPERATION_TABLES, REFRESH_COMMAND};
use serde_json::Value;

fn committed() -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{} missing ({e}): run `{REFRESH_COMMAND}`", path.display()))
}

#[test]
fn committed_document_is_current() {
    let generated = document_json();
    assert!(
        committed().trim_end() == generated.trim_end(),
        "openapi/openapi.json differs from what the code generates: run `{REFRESH_COMMAND}` and commit it"
    );
}

#[test]
fn document_covers_interactions_operations_and_security() {
    let doc: Value = serde_json::from_str(document_json()).unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = &doc["paths"];
    for table in OPERATION_TABLES {
        for op in *table {
            assert!(
                paths[op.path][op.method].is_object(),
                "{} {} missing",
                op.method,
                op.path
            );
        }
    }
    let search = &paths["/fhir/Patient"]["get"];
    let birthdate = search["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "birthdate")
        .expect("Patient search lists birthdate");
    assert_eq!(birthdate["x-fhir-search-type"], "date");
    assert_eq!(
        search["security"][0]["bearer"],
        serde_json::json!(["patient/Patient.s", "user/Patient.s", "system/Patient.s"])
    );
    for (path, method) in [
        ("/fhir/Observation/{id}", "get"),
        ("/fhir/Observation/{id}/_history/{vid}", "get"),
        ("/fhir/Observation/{id}", "patch"),
        ("/fhir/Observation/_search", "post"),
        ("/fhir/Patient/{id}/{type}", "get"),
        ("/fhir", "post"),
        ("/fhir/metadata", "get"),
    ] {
        assert!(paths[path][method].is_object(), "{method} {path} missing");
    }
    assert_eq!(
        paths["/fhir/Observation/{id}"]["get"]["responses"]["410"]["$ref"],
        "#/components/responses/Gone"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    assert!(doc["components"]["schemas"]["OperationOutcome"]["required"]
        .as_array()
        .unwrap()
        .contains(&"issue".into()));
    // public routes name no security requirement
    assert!(paths["/health/ready"]["get"]["security"].is_null());
    assert!(paths["/fhir/metadata"]["get"]["security"].is_null());
}

#[test]
fn served_document_and_offline_docs_ui() {
    let app = spawn(Backend::Sqlite);
    let served: Value = app
        .client
        .get(format!("{}/openapi.json", app.root()))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let generated: Value = serde_json::from_str(document_json()).unwrap();
    assert!(
        served == generated,
        "/openapi.json is not the generated document"
    );
    let redirect = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(format!("{}/docs", app.root()))
        .send()
        .unwrap();
    assert_eq!(redirect.status(), 302);
    let page = app
        .client
        .get(format!("{}/docs/", app.root()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(page.contains("swagger-ui"), "{page}");
    // every script and stylesheet the page loads comes from this server
    for asset in [
        "swagger-ui.css",
        "swagger-ui-bundle.js",
        "swagger-initializer.js",
    ] {
        assert!(page.contains(asset), "{asset} not referenced");
        let response = app
            .client
            .get(format!("{}/docs/{asset}", app.root()))
            .send()
            .unwrap();
        assert_eq!(response.status(), 200, "{asset}");
    }
    assert!(
        !page.contains("src=\"http"),
        "the docs page loads remote scripts"
    );
    let init = app
        .client
        .get(format!("{}/docs/swagger-initializer.js", app.root()))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
}

#[test]
fn every_path_placeholder_is_a_declared_path_parameter() {
    let doc: Value = serde_json::from_str(document_json()).unwrap();
    let mut undeclared = vec![];
    for (path, item) in doc["paths"].as_object().unwrap() {
        let placeholders = path
            .split('{')
            .skip(1)
            .filter_map(|rest| rest.split_once('}').map(|(name, _)| name));
        for name in placeholders {
            for (method, op) in item.as_object().unwrap() {
                let declared = [&op["parameters"], &item["parameters"]]
                    .into_iter()
                    .filter_map(Value::as_array)
                    .flatten()
                    .any(|p| p["name"] == name && p["in"] == "path" && p["required"] == true);
                if !declared {
                    undeclared.push(format!("{method} {path}: {{{name}}}"));
                }
            }
        }
    }
    assert!(
        undeclared.is_empty(),
        "undeclared path parameters: {undeclared:?}"
    );
}
