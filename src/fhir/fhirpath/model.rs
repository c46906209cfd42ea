//! Declared element types, read once from the embedded element table
//! (`data/fhir/elements.json.gz`, derived from the R4 StructureDefinitions).
//! Navigation uses it to type every child element; backbone elements are
//! typed by their path (`Patient.contact`), which counts as `BackboneElement`.

use std::collections::HashMap;
use std::io::Read;

use once_cell::sync::Lazy;
use serde_json::Value;

static TABLE_GZ: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/fhir/elements.json.gz"
));

/// Owner type (or backbone path) -> child name -> declared type.
type Types = HashMap<Box<str>, HashMap<Box<str>, Box<str>>>;

static TYPES: Lazy<Types> = Lazy::new(|| load(TABLE_GZ).unwrap_or_default());

/// Declared type of child `name` of an element of type `owner`; `None` for
/// choice elements (typed by their suffix) and unknown owners.
pub fn child_type(owner: &str, name: &str) -> Option<&'static str> {
    let types: &'static Types = &TYPES;
    types.get(owner)?.get(name).map(|t| &**t)
}

fn load(gz: &[u8]) -> Option<Types> {
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz)
        .read_to_string(&mut text)
        .ok()?;
    let table: Value = serde_json::from_str(&text).ok()?;
    let mut types = Types::new();
    for (type_name, rows) in table.get("types")?.as_object()? {
        for row in rows.as_array().into_iter().flatten() {
            let Some(cells) = row.as_array() else {
                continue;
            };
            let text = |i: usize| cells.get(i).and_then(Value::as_str);
            let (Some(path), Some(declared)) = (text(0), text(1)) else {
                continue;
            };
            if path.is_empty() || path.ends_with("[x]") {
                continue;
            }
            let (parent, name) = match path.rsplit_once('.') {
                Some((parent, name)) => (format!("{type_name}.{parent}"), name),
                None => (type_name.clone(), path),
            };
            let child = match (declared, text(5)) {
                ("", Some(reference)) => format!("{type_name}.{reference}"),
                ("BackboneElement" | "Element", _) => format!("{type_name}.{path}"),
                (declared, _) => declared.trim_start_matches('@').to_string(),
            };
            types
                .entry(parent.into())
                .or_default()
                .insert(name.into(), child.into());
        }
    }
    Some(types)
}
