//! The FHIR RESTful interactions (http.html) for every resource type: read, vread, update,
//! patch, delete, create, conditional update/delete, search by GET and POST with the type's
//! search parameters from the registry, history; compartment search for Patient; and the
//! system level: transaction/batch, system search and history, metadata.

use super::parts::{
    error_ref, fhir_content, header_param, parameter, path_param, response, schema_ref, security,
    smart_scopes, string, FHIR_JSON,
};
use crate::fhir::search_params::{registry, ParamKind, RESOURCE_TYPES};
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, Parameter, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::{ContentBuilder, Ref, Required};

/// Search parameters from the registry the server does not support (README "Not supported").
const UNSUPPORTED: &[&str] = &["_text", "_content", "_list", "_query", "_filter"];

/// Parameters every type's search shares, as `#/components/parameters/{name}`:
/// (name, FHIR search type or `result`, description).
pub const COMMON_SEARCH: &[(&str, &str, &str)] = &[
    ("_id", "token", "Logical id(s), comma-separated"),
    (
        "_lastUpdated",
        "date",
        "When the current version was written: [prefix]date, prefix eq ne gt lt ge le sa eb ap",
    ),
    ("_tag", "token", "meta.tag: [system]|[code]"),
    ("_profile", "uri", "meta.profile"),
    ("_security", "token", "meta.security label: [system]|[code]"),
    ("_source", "uri", "meta.source"),
    (
        "_has",
        "special",
        "Reverse chain: _has:[type]:[reference param]:[param]=[value]",
    ),
    ("_count", "result", "Page size (default 50, at most 1000)"),
    (
        "_sort",
        "result",
        "Up to 3 parameters, comma-separated; '-' for descending",
    ),
    ("_total", "result", "none, estimate or accurate"),
    ("_summary", "result", "true, text, data, count or false"),
    (
        "_elements",
        "result",
        "Top-level elements to return, comma-separated",
    ),
    (
        "_include",
        "result",
        "[type]:[reference param][:target]; :iterate; *",
    ),
    (
        "_revinclude",
        "result",
        "[type]:[reference param][:target]; :iterate; *",
    ),
];

fn kind_name(kind: ParamKind) -> &'static str {
    match kind {
        ParamKind::Number => "number",
        ParamKind::Date => "date",
        ParamKind::String => "string",
        ParamKind::Token => "token",
        ParamKind::Reference => "reference",
        ParamKind::Composite => "composite",
        ParamKind::Quantity => "quantity",
        ParamKind::Uri => "uri",
        ParamKind::Special => "special",
    }
}

/// How a value of a search type is written (for parameter descriptions).
fn kind_syntax(kind: &str) -> &'static str {
    match kind {
        "string" => "starts with, case- and accent-insensitive; :exact, :contains",
        "token" => {
            "[system]|[code], |[code], [system]|, [code]; :text, :not, :of-type, :below, :above"
        }
        "date" => "[prefix]YYYY[-MM[-DD[Thh:mm:ss]]], prefix eq ne gt lt ge le sa eb ap",
        "number" => "[prefix]number",
        "quantity" => "[prefix]number|[system]|[code]",
        "reference" => "[type]/[id], [id] or an absolute URL; :[type], :identifier; chains",
        "uri" => "the URI; :below, :above",
        "composite" => "[value]$[value] for the components",
        _ => "see the parameter's definition",
    }
}

fn search_param(code: &str, kind: &str, description: &str) -> Parameter {
    let mut p = parameter(
        code,
        ParameterIn::Query,
        false,
        string().into(),
        &format!("{kind}: {description}"),
    );
    p.extensions = Some(
        utoipa::openapi::extensions::ExtensionsBuilder::new()
            .add("x-fhir-search-type", kind)
            .build(),
    );
    p
}

/// The shared search and result parameters (components).
pub fn common_parameters() -> Vec<(String, Parameter)> {
    COMMON_SEARCH
        .iter()
        .map(|(name, kind, description)| {
            let kind = if *kind == "result" { "result" } else { kind };
            (name.to_string(), search_param(name, kind, description))
        })
        .collect()
}

/// The type's own search parameters (registry order), without the shared ones.
fn own_search_params(res_type: &str) -> Vec<(String, &'static str)> {
    let mut seen = std::collections::HashSet::new();
    registry()
        .params_for(res_type)
        .into_iter()
        .filter(|p| !UNSUPPORTED.contains(&p.code.as_str()))
        .filter(|p| !COMMON_SEARCH.iter().any(|(n, _, _)| *n == p.code))
        .filter(|p| seen.insert(p.code.clone()))
        .map(|p| (p.code.clone(), kind_name(p.kind)))
        .collect()
}

fn with_errors(mut op: OperationBuilder, statuses: &[u16]) -> OperationBuilder {
    for status in statuses {
        let (code, r) = error_ref(*status);
        op = op.response(code, r);
    }
    op
}

struct Interaction<'a> {
    res_type: &'a str,
    name: &'a str,
    summary: String,
    letters: &'a str,
}

impl Interaction<'_> {
    fn builder(&self) -> OperationBuilder {
        OperationBuilder::new()
            .tag(self.res_type)
            .summary(Some(self.summary.clone()))
            .operation_id(Some(format!("{}-{}", self.name, self.res_type)))
            .securities(security(&smart_scopes(self.res_type, self.letters, true)))
    }
}

fn resource_body(res_type: &str) -> utoipa::openapi::request_body::RequestBody {
    let example = super::schemas::example(res_type);
    RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(FHIR_JSON, fhir_content(res_type, example.clone()))
        .content("application/json", fhir_content(res_type, example))
        .build()
}

fn id_param() -> Parameter {
    path_param("id", "Logical id")
}

fn prefer() -> Parameter {
    header_param(
        "Prefer",
        "return=minimal | return=representation | return=OperationOutcome",
    )
}

fn if_match() -> Parameter {
    header_param(
        "If-Match",
        "Version-aware update: W/\"[versionId]\"; 412 when it is not current",
    )
}

fn search_params_of(res_type: &str) -> Vec<(String, &'static str)> {
    own_search_params(res_type)
}

fn common_refs() -> impl Iterator<Item = Ref> {
    COMMON_SEARCH
        .iter()
        .map(|(name, _, _)| Ref::new(format!("#/components/parameters/{name}")))
}

fn searchset(description: &str) -> utoipa::openapi::Response {
    response(description, "Bundle")
}

fn form_body(res_type: &str) -> utoipa::openapi::request_body::RequestBody {
    let mut schema = ObjectBuilder::new();
    for (name, _, _) in COMMON_SEARCH {
        schema = schema.property(*name, string());
    }
    for (code, _) in search_params_of(res_type) {
        schema = schema.property(code, string());
    }
    RequestBodyBuilder::new()
        .description(Some("The search parameters, form-encoded"))
        .content(
            "application/x-www-form-urlencoded",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// Conditional update and delete take the same criteria as the type's search.
const CRITERIA: &str = "The criteria are any of the type's search parameters (listed on its \
                        search); they are always strict. 0 matches: update creates, delete \
                        does nothing; 1: that resource; several: 412.";

fn with_common_params(mut op: OperationBuilder) -> OperationBuilder {
    for r in common_refs() {
        op = op.parameter_ref(r);
    }
    op
}

fn with_search_params(op: OperationBuilder, res_type: &str) -> OperationBuilder {
    let mut op = with_common_params(op);
    for (code, kind) in search_params_of(res_type) {
        op = op.parameter(search_param(&code, kind, kind_syntax(kind)));
    }
    op
}

/// The type-level and instance-level paths of one resource type.
fn type_paths(res_type: &str) -> Vec<(String, PathItem)> {
    let i = |name: &'static str, summary: String, letters: &'static str| Interaction {
        res_type,
        name,
        summary,
        letters,
    };
    let search = with_search_params(
        i("search", format!("Search {res_type}"), "s").builder(),
        res_type,
    )
    .response("200", searchset("searchset"));
    let search = with_errors(search, &[400, 401, 403]);
    let create = with_errors(
        i("create", format!("Create a {res_type}"), "c")
            .builder()
            .parameter(header_param(
                "If-None-Exist",
                "Conditional create: search criteria (e.g. identifier=sys|val); a match is returned instead",
            ))
            .parameter(prefer())
            .request_body(Some(resource_body(res_type)))
            .response("201", response("Created; Location and ETag name the new version", res_type))
            .response("200", response("Conditional create matched an existing resource", res_type)),
        &[400, 401, 403, 412, 422],
    );
    let conditional_update = with_errors(
        with_common_params(
            i(
                "conditional-update",
                format!("Update the {res_type} matching the criteria"),
                "u",
            )
            .builder()
            .description(Some(CRITERIA)),
        )
        .request_body(Some(resource_body(res_type)))
        .response("200", response("Updated", res_type))
        .response("201", response("No match: created", res_type)),
        &[400, 401, 403, 412, 422],
    );
    let conditional_delete = with_errors(
        with_common_params(
            i(
                "conditional-delete",
                format!("Delete the {res_type} matching the criteria"),
                "d",
            )
            .builder()
            .description(Some(CRITERIA)),
        )
        .response("204", response("Deleted (or nothing matched)", "none")),
        &[400, 401, 403, 404, 412],
    );
    let post_search = with_errors(
        i("search-post", format!("Search {res_type} (POST form)"), "s")
            .builder()
            .request_body(Some(form_body(res_type)))
            .response("200", searchset("searchset")),
        &[400, 401, 403],
    );
    let history_params = |op: OperationBuilder| {
        ["_count", "_since", "_at"].iter().fold(op, |op, name| {
            op.parameter(parameter(
                name,
                ParameterIn::Query,
                false,
                string().into(),
                match *name {
                    "_count" => "Versions per page",
                    "_since" => "Only versions written at or after this instant",
                    _ => "Versions current at this instant",
                },
            ))
        })
    };
    let type_history = with_errors(
        history_params(
            i(
                "history-type",
                format!("History of all {res_type} resources"),
                "r",
            )
            .builder(),
        )
        .response("200", response("history Bundle", "Bundle")),
        &[400, 401, 403],
    );
    let read = with_errors(
        i("read", format!("Read a {res_type}"), "r")
            .builder()
            .parameter(id_param())
            .parameter(header_param(
                "If-None-Match",
                "W/\"[versionId]\": 304 when current",
            ))
            .parameter(header_param(
                "If-Modified-Since",
                "HTTP date: 304 when not changed since",
            ))
            .response(
                "200",
                response("The current version (ETag, Last-Modified)", res_type),
            )
            .response("304", response("Not modified", "none")),
        &[401, 403, 404, 410],
    );
    let update = with_errors(
        i(
            "update",
            format!("Update (or create with this id) a {res_type}"),
            "u",
        )
        .builder()
        .parameter(id_param())
        .parameter(if_match())
        .parameter(prefer())
        .request_body(Some(resource_body(res_type)))
        .response("200", response("Updated", res_type))
        .response("201", response("Created with the client's id", res_type)),
        &[400, 401, 403, 412, 422],
    );
    let patch_body = RequestBodyBuilder::new()
        .required(Some(Required::True))
        .content(
            "application/json-patch+json",
            ContentBuilder::new()
                .schema(Some(schema_ref("JsonPatch")))
                .build(),
        )
        .content(FHIR_JSON, fhir_content("Parameters", None))
        .build();
    let patch = with_errors(
        i(
            "patch",
            format!("Patch a {res_type} (JSON Patch or FHIRPath Patch)"),
            "u",
        )
        .builder()
        .parameter(id_param())
        .parameter(if_match())
        .parameter(prefer())
        .request_body(Some(patch_body))
        .response("200", response("Patched", res_type)),
        &[400, 401, 403, 404, 410, 412, 422],
    );
    let delete = with_errors(
        i("delete", format!("Delete a {res_type}"), "d")
            .builder()
            .parameter(id_param())
            .parameter(if_match())
            .response(
                "204",
                response("Deleted (also when already deleted)", "none"),
            ),
        &[401, 403, 404, 412],
    );
    let instance_history = with_errors(
        history_params(
            i(
                "history-instance",
                format!("History of one {res_type}"),
                "r",
            )
            .builder()
            .parameter(id_param()),
        )
        .response("200", response("history Bundle", "Bundle")),
        &[400, 401, 403, 404],
    );
    let vread = with_errors(
        i("vread", format!("Read one version of a {res_type}"), "r")
            .builder()
            .parameter(id_param())
            .parameter(path_param("vid", "Version id"))
            .response("200", response("That version", res_type)),
        &[401, 403, 404, 410],
    );
    let base = format!("/fhir/{res_type}");
    let mut paths = vec![
        (
            base.clone(),
            item([
                (HttpMethod::Get, search),
                (HttpMethod::Post, create),
                (HttpMethod::Put, conditional_update),
                (HttpMethod::Delete, conditional_delete),
            ]),
        ),
        (
            format!("{base}/_search"),
            item([(HttpMethod::Post, post_search)]),
        ),
        (
            format!("{base}/_history"),
            item([(HttpMethod::Get, type_history)]),
        ),
        (
            format!("{base}/{{id}}"),
            item([
                (HttpMethod::Get, read),
                (HttpMethod::Put, update),
                (HttpMethod::Patch, patch),
                (HttpMethod::Delete, delete),
            ]),
        ),
        (
            format!("{base}/{{id}}/_history"),
            item([(HttpMethod::Get, instance_history)]),
        ),
        (
            format!("{base}/{{id}}/_history/{{vid}}"),
            item([(HttpMethod::Get, vread)]),
        ),
    ];
    if res_type == "Patient" {
        paths.push(compartment());
    }
    paths
}

fn item<const N: usize>(ops: [(HttpMethod, OperationBuilder); N]) -> PathItem {
    let mut item = utoipa::openapi::path::PathItemBuilder::new();
    for (method, op) in ops {
        let op: Operation = op.build();
        item = item.operation(method, op);
    }
    item.build()
}

fn compartment() -> (String, PathItem) {
    let types: Vec<&str> = RESOURCE_TYPES
        .iter()
        .copied()
        .filter(|t| !registry().patient_compartment_params(t).is_empty())
        .collect();
    let mut op = OperationBuilder::new()
        .tag("Patient")
        .summary(Some("Search a type within one patient's compartment"))
        .operation_id(Some("search-compartment-Patient"))
        .securities(security(&smart_scopes("*", "s", true)))
        .parameter(id_param())
        .parameter(parameter(
            "type",
            ParameterIn::Path,
            true,
            string().enum_values(Some(types)).into(),
            "A resource type in the Patient compartment",
        ));
    for r in common_refs() {
        op = op.parameter_ref(r);
    }
    let op = with_errors(
        op.response(
            "200",
            searchset("searchset of that type linked to the patient"),
        ),
        &[400, 401, 403, 404],
    );
    (
        "/fhir/Patient/{id}/{type}".into(),
        item([(HttpMethod::Get, op)]),
    )
}

/// System-level interactions: transaction/batch, system search and history, metadata.
fn system_paths() -> Vec<(String, PathItem)> {
    let unrestricted = vec!["user/*.cruds".to_string(), "system/*.cruds".to_string()];
    let transaction = with_errors(
        OperationBuilder::new()
            .tag("system")
            .summary(Some("Process a transaction or batch Bundle"))
            .description(Some(
                "A transaction is all-or-nothing in one database transaction; batch entries \
                 run independently. urn:uuid fullUrls get ids and references to them are \
                 rewritten.",
            ))
            .operation_id(Some("transaction"))
            .securities(security(&unrestricted))
            .parameter(prefer())
            .request_body(Some(resource_body("Bundle")))
            .response(
                "200",
                response("transaction-response or batch-response", "Bundle"),
            ),
        &[400, 401, 403, 404, 412, 422],
    );
    let mut search = OperationBuilder::new()
        .tag("system")
        .summary(Some("Search across resource types"))
        .operation_id(Some("search-system"))
        .securities(security(&smart_scopes("*", "s", false)))
        .parameter(parameter(
            "_type",
            ParameterIn::Query,
            false,
            string().into(),
            "Resource types to search, comma-separated",
        ));
    for r in common_refs() {
        search = search.parameter_ref(r);
    }
    let search = with_errors(
        search.response("200", searchset("searchset")),
        &[400, 401, 403],
    );
    let history = with_errors(
        OperationBuilder::new()
            .tag("system")
            .summary(Some("History of every resource"))
            .operation_id(Some("history-system"))
            .securities(security(&unrestricted))
            .parameter(parameter(
                "_count",
                ParameterIn::Query,
                false,
                string().into(),
                "Versions per page",
            ))
            .parameter(parameter(
                "_since",
                ParameterIn::Query,
                false,
                string().into(),
                "Only versions written at or after this instant",
            ))
            .response("200", response("history Bundle", "Bundle")),
        &[400, 401, 403],
    );
    let metadata = OperationBuilder::new()
        .tag("system")
        .summary(Some("CapabilityStatement (public)"))
        .operation_id(Some("capabilities"))
        .response(
            "200",
            response("The server's CapabilityStatement", "CapabilityStatement"),
        );
    vec![
        (
            "/fhir".into(),
            item([(HttpMethod::Get, search), (HttpMethod::Post, transaction)]),
        ),
        ("/fhir/_history".into(), item([(HttpMethod::Get, history)])),
        ("/fhir/metadata".into(), item([(HttpMethod::Get, metadata)])),
    ]
}

/// Every FHIR interaction path. AuditEvent is read through its own search (see
/// `audit_events::OPERATIONS`), so it has no generic interactions.
pub fn paths() -> Vec<(String, PathItem)> {
    let mut paths = system_paths();
    for t in RESOURCE_TYPES.iter().filter(|t| **t != "AuditEvent") {
        paths.extend(type_paths(t));
    }
    paths
}
