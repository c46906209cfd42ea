//! FHIR R4 primitive types: which JSON type each takes, integer ranges, and the
//! official regexes (from the primitive StructureDefinitions) with calendar checks.

use regex::Regex;
use serde_json::Value;

/// How a primitive is written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JsonForm {
    Boolean,
    /// A JSON integer within `min..=i32::MAX`.
    Integer {
        min: i64,
    },
    Number,
    String,
}

/// One primitive type and its lexical rules.
#[derive(Debug)]
pub(super) struct PrimitiveType {
    pub name: Box<str>,
    form: JsonForm,
    regex: Option<Regex>,
    is_date: bool,
}

/// Why a primitive value was rejected.
pub(super) struct PrimitiveError {
    pub code: &'static str,
    pub message: String,
}

impl PrimitiveType {
    /// Builds a primitive from its name and the official (Java-flavoured) regex.
    pub fn new(name: &str, official_regex: Option<&str>) -> Result<PrimitiveType, String> {
        let form = match name {
            "boolean" => JsonForm::Boolean,
            "integer" => JsonForm::Integer {
                min: i32::MIN.into(),
            },
            "unsignedInt" => JsonForm::Integer { min: 0 },
            "positiveInt" => JsonForm::Integer { min: 1 },
            "decimal" => JsonForm::Number,
            _ => JsonForm::String,
        };
        let regex = match (form, official_regex) {
            (JsonForm::String, Some(pattern)) => Some(
                Regex::new(&format!("^(?:{})$", java_to_rust_regex(pattern)))
                    .map_err(|e| format!("regex of {name}: {e}"))?,
            ),
            _ => None,
        };
        Ok(PrimitiveType {
            name: name.into(),
            form,
            regex,
            is_date: matches!(name, "date" | "dateTime" | "instant"),
        })
    }

    /// Whether `value` is this primitive's value, with the reason when not.
    pub fn check(&self, value: &Value) -> Result<(), PrimitiveError> {
        match (self.form, value) {
            (JsonForm::Boolean, Value::Bool(_)) | (JsonForm::Number, Value::Number(_)) => Ok(()),
            (JsonForm::Integer { min }, Value::Number(number)) => {
                self.check_integer(&number.to_string(), min)
            }
            (JsonForm::String, Value::String(text)) => self.check_string(text),
            _ => Err(PrimitiveError {
                code: "structure",
                message: format!(
                    "A {} must be a JSON {}, found {}",
                    self.name,
                    self.json_name(),
                    json_kind(value)
                ),
            }),
        }
    }

    fn json_name(&self) -> &'static str {
        match self.form {
            JsonForm::Boolean => "boolean",
            JsonForm::Integer { .. } => "integer number",
            JsonForm::Number => "number",
            JsonForm::String => "string",
        }
    }

    fn check_integer(&self, text: &str, min: i64) -> Result<(), PrimitiveError> {
        let digits = text.strip_prefix('-').unwrap_or(text);
        if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(self.invalid(text, "it is not a whole number"));
        }
        match text.parse::<i64>() {
            Ok(n) if (min..=i64::from(i32::MAX)).contains(&n) => Ok(()),
            _ => Err(self.invalid(text, &format!("it is outside {min}..{}", i32::MAX))),
        }
    }

    fn check_string(&self, text: &str) -> Result<(), PrimitiveError> {
        if text.is_empty() {
            return Err(PrimitiveError {
                code: "value",
                message: format!("A {} must not be an empty string", self.name),
            });
        }
        if let Some(regex) = &self.regex {
            if !regex.is_match(text) {
                return Err(self.invalid(text, "it does not match the format of the type"));
            }
        }
        if self.is_date && !calendar_date_exists(text) {
            return Err(self.invalid(text, "that day does not exist"));
        }
        Ok(())
    }

    fn invalid(&self, text: &str, why: &str) -> PrimitiveError {
        let shown: String = text.chars().take(80).collect();
        PrimitiveError {
            code: "value",
            message: format!("'{shown}' is not a valid {}: {why}", self.name),
        }
    }
}

/// Checks the day of a full `YYYY-MM-DD` prefix; partial dates passed the regex already.
fn calendar_date_exists(text: &str) -> bool {
    let Some(day) = text.get(..10) else {
        return true;
    };
    chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").is_ok()
}

/// The official regexes use Java semantics where `\s`, `\S` and `\d` are ASCII-only.
fn java_to_rust_regex(pattern: &str) -> String {
    pattern
        .replace(r"\S", r"[^ \t\n\x0B\f\r]")
        .replace(r"\s", r"[ \t\n\x0B\f\r]")
        .replace(r"\d", "[0-9]")
}

/// Name of a JSON value's type, for messages.
pub(super) fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}
