//! Declared element types and required bindings, read once from the embedded
//! element table (`data/fhir/elements.json.gz`, derived from the R4
//! StructureDefinitions and ValueSets). Navigation uses it to type every child
//! element; backbone elements are typed by their path (`Patient.contact`),
//! which counts as `BackboneElement`.

use std::collections::HashMap;
use std::io::Read;

use once_cell::sync::Lazy;
use serde_json::{Map, Value};

static TABLE_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/fhir/elements.json.gz"
));

/// What the model declares for one child element.
struct Declared {
    type_name: Box<str>,
    /// Canonical URL of the element's required value set, if expanded.
    binding: Option<Box<str>>,
}

#[derive(Default)]
struct Model {
    /// Owner type (or backbone path) -> child name -> declaration.
    children: HashMap<Box<str>, HashMap<Box<str>, Declared>>,
    /// Value set canonical -> code -> code system.
    value_sets: HashMap<Box<str>, HashMap<Box<str>, Box<str>>>,
}

static MODEL: Lazy<Model> = Lazy::new(|| load(TABLE_GZ).unwrap_or_default());

/// Declared type and required binding of child `name` of an element of type
/// `owner`; `None` for choice elements (typed by their suffix) and unknown owners.
pub fn child(owner: &str, name: &str) -> Option<(&'static str, Option<&'static str>)> {
    let model: &'static Model = &MODEL;
    let declared = model.children.get(owner)?.get(name)?;
    Some((&declared.type_name, declared.binding.as_deref()))
}

/// The code system defining `code` in the required value set `binding`.
pub fn code_system(binding: &str, code: &str) -> Option<&'static str> {
    let model: &'static Model = &MODEL;
    model.value_sets.get(binding)?.get(code).map(|s| &**s)
}

fn load(gz: &[u8]) -> Option<Model> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .ok()?;
    let table: Value = serde_json::from_str(&text).ok()?;
    let mut model = Model::default();
    for (type_name, rows) in table.get("types")?.as_object()? {
        for row in rows.as_array().into_iter().flatten() {
            if let Some((parent, name, declared)) = parse_row(type_name, row) {
                let owner = model.children.entry(parent.into()).or_default();
                owner.insert(name.into(), declared);
            }
        }
    }
    if let Some(sets) = table.get("valueSets").and_then(Value::as_object) {
        model.value_sets = sets
            .iter()
            .filter_map(|(url, systems)| Some((url.as_str().into(), codes(systems.as_object()?))))
            .collect();
    }
    Some(model)
}

/// One table row `[relPath, types, min, max, binding?, contentRef?]`.
fn parse_row<'r>(type_name: &str, row: &'r Value) -> Option<(String, &'r str, Declared)> {
    let cells = row.as_array()?;
    let text = |i: usize| cells.get(i).and_then(Value::as_str);
    let (path, declared) = (text(0)?, text(1)?);
    if path.is_empty() || path.ends_with("[x]") {
        return None;
    }
    let (parent, name) = match path.rsplit_once('.') {
        Some((parent, name)) => (format!("{type_name}.{parent}"), name),
        None => (type_name.to_string(), path),
    };
    let child_type = match (declared, text(5)) {
        ("", Some(reference)) => format!("{type_name}.{reference}"),
        ("BackboneElement" | "Element", _) => format!("{type_name}.{path}"),
        (declared, _) => declared.trim_start_matches('@').to_string(),
    };
    let declared = Declared {
        type_name: child_type.into(),
        binding: text(4).map(Into::into),
    };
    Some((parent, name, declared))
}

fn codes(systems: &Map<String, Value>) -> HashMap<Box<str>, Box<str>> {
    let mut out = HashMap::new();
    for (system, codes) in systems {
        for code in codes
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
        {
            out.entry(code.into())
                .or_insert_with(|| system.as_str().into());
        }
    }
    out
}
