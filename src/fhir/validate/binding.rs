//! Required bindings: expanded value sets and the checks of `code`, `Coding` and
//! `CodeableConcept` values against them.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

/// Codes shown in a message before it says "...".
const SHOWN_CODES: usize = 10;

/// The expansion of one required value set, per code system.
#[derive(Debug)]
pub(super) struct ValueSet {
    pub url: Box<str>,
    systems: HashMap<Box<str>, HashSet<Box<str>>>,
    shown: Vec<Box<str>>,
    total: usize,
}

/// A code in a Coding that the value set does not allow, and where it sits.
pub(super) struct InvalidCoding<'v> {
    /// Index into `CodeableConcept.coding`; `None` for a bare `Coding`.
    pub coding_index: Option<usize>,
    pub code: &'v str,
}

impl ValueSet {
    /// Reads `{system: [codes]}` from the element table.
    pub fn from_table(url: &str, systems: &Value) -> ValueSet {
        let mut expansion = HashMap::new();
        let mut shown = Vec::new();
        let mut total = 0;
        for (system, codes) in systems.as_object().into_iter().flatten() {
            let ordered: Vec<Box<str>> = codes
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(Box::from)
                .collect();
            total += ordered.len();
            let room = SHOWN_CODES.saturating_sub(shown.len());
            shown.extend(ordered.iter().take(room).cloned());
            expansion.insert(system.as_str().into(), ordered.into_iter().collect());
        }
        ValueSet {
            url: url.into(),
            systems: expansion,
            shown,
            total,
        }
    }

    /// Whether a bare `code` (system implied by the binding) is allowed.
    pub fn contains_code(&self, code: &str) -> bool {
        self.systems.values().any(|codes| codes.contains(code))
    }

    /// Codes in a `Coding` or `CodeableConcept` whose system belongs to this value set
    /// but whose code does not. Codings from other systems are left alone.
    pub fn invalid_codings<'v>(&self, type_name: &str, value: &'v Value) -> Vec<InvalidCoding<'v>> {
        match type_name {
            "Coding" => self
                .invalid_coding(value)
                .map(|code| InvalidCoding {
                    coding_index: None,
                    code,
                })
                .into_iter()
                .collect(),
            "CodeableConcept" => value
                .get("coding")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter_map(|(index, coding)| {
                    self.invalid_coding(coding).map(|code| InvalidCoding {
                        coding_index: Some(index),
                        code,
                    })
                })
                .collect(),
            _ => Vec::new(),
        }
    }

    fn invalid_coding<'v>(&self, coding: &'v Value) -> Option<&'v str> {
        let system = coding.get("system")?.as_str()?;
        let code = coding.get("code")?.as_str()?;
        let codes = self.systems.get(system)?;
        (!codes.contains(code)).then_some(code)
    }

    /// Message for a code outside the value set, listing some allowed codes.
    pub fn message(&self, code: &str) -> String {
        let shown: Vec<&str> = self.shown.iter().map(AsRef::as_ref).collect();
        let more = if self.total > shown.len() {
            ", ..."
        } else {
            ""
        };
        let code: String = code.chars().take(80).collect();
        format!(
            "'{code}' is not in the required value set {} (allowed: {}{more})",
            self.url,
            shown.join(", ")
        )
    }
}
