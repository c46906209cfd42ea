//! Composite parameters: each focus item of the composite expression is one
//! group; every component is evaluated relative to it and emitted under the
//! composite's code with its component position and the group number.

use serde_json::Value;

use super::{component_def, values, IndexEntry, IndexError};
use crate::fhir::fhirpath::{evaluate_on, Item};
use crate::fhir::search_params::SearchParamDef;

/// Append the component entries of `def` for each item in `focus`.
pub fn extract<'a>(
    def: &SearchParamDef,
    focus: Vec<Item<'a>>,
    resource: &'a Value,
    next_group: &mut u32,
    out: &mut Vec<IndexEntry>,
) -> Result<(), IndexError> {
    for item in focus {
        let group = *next_group;
        let mut produced = Vec::new();
        for (position, component) in def.components.iter().enumerate() {
            let (Some(expr), Some(component_def), Ok(position)) = (
                component.compiled.as_ref(),
                component_def(&component.definition_url),
                u8::try_from(position),
            ) else {
                continue;
            };
            let items = evaluate_on(expr, vec![item.clone()], resource).map_err(|source| {
                IndexError::Expression {
                    param: def.code.clone(),
                    source,
                }
            })?;
            for value in values(component_def.kind, &items) {
                produced.push(IndexEntry {
                    param: def.code.clone(),
                    component: Some(position),
                    group: Some(group),
                    value,
                });
            }
        }
        let complete = (0..def.components.len())
            .all(|i| produced.iter().any(|e| e.component == u8::try_from(i).ok()));
        // A composite only matches when every component has a value.
        if complete {
            out.extend(produced);
            *next_group += 1;
        }
    }
    Ok(())
}
