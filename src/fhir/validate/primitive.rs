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
    /// The regex's meaning written as a byte scan, for the types most values have.
    lexical: Option<Lexical>,
    is_date: bool,
}

/// Byte scans equal to the official regexes of the commonest string types (most of a
/// resource's values; the regex engine was 3 % of the server's CPU on ingest).
#[derive(Debug, Clone, Copy)]
enum Lexical {
    /// string, markdown `[ \r\n\t\S]+`: no vertical tab or form feed.
    Text,
    /// uri, url, canonical `\S*`: no whitespace.
    NoSpace,
    /// code `[^\s]+(\s[^\s]+)*`: single whitespace between non-blank runs.
    Code,
    /// id `[A-Za-z0-9\-\.]{1,64}`.
    Id,
}

impl Lexical {
    fn of(name: &str) -> Option<Lexical> {
        match name {
            "string" | "markdown" => Some(Lexical::Text),
            "uri" | "url" | "canonical" => Some(Lexical::NoSpace),
            "code" => Some(Lexical::Code),
            "id" => Some(Lexical::Id),
            _ => None,
        }
    }

    fn matches(self, text: &str) -> bool {
        // `\s` of the official (Java) regexes: ASCII whitespace including vertical tab
        let space = |b: u8| matches!(b, b' ' | b'\t' | b'\n' | 0x0B | 0x0C | b'\r');
        let bytes = text.as_bytes();
        match self {
            Lexical::Text => !bytes.is_empty() && !bytes.iter().any(|&b| b == 0x0B || b == 0x0C),
            Lexical::NoSpace => !bytes.iter().any(|&b| space(b)),
            Lexical::Code => {
                !bytes.is_empty()
                    && !space(bytes[0])
                    && !space(bytes[bytes.len() - 1])
                    && !bytes.windows(2).any(|w| space(w[0]) && space(w[1]))
            }
            Lexical::Id => {
                (1..=64).contains(&bytes.len())
                    && bytes
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
            }
        }
    }
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
            lexical: regex.as_ref().and(Lexical::of(name)),
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
        let lexical = self.lexical.map(|l| l.matches(text));
        if let Some(regex) = &self.regex {
            if !lexical.unwrap_or_else(|| regex.is_match(text)) {
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

#[cfg(test)]
mod tests {
    use super::PrimitiveType;

    /// Each byte scan accepts exactly what its official regex accepts.
    #[test]
    fn lexical_scans_equal_the_official_regexes() {
        let official = [
            ("string", r"[ \r\n\t\S]+"),
            ("markdown", r"[ \r\n\t\S]+"),
            ("uri", r"\S*"),
            ("canonical", r"\S*"),
            ("code", r"[^\s]+(\s[^\s]+)*"),
            ("id", r"[A-Za-z0-9\-\.]{1,64}"),
        ];
        let pieces = [
            "a", "Z", "9", "-", ".", " ", "\t", "\n", "\r", "\u{b}", "\u{c}", "é", "\u{a0}", "_",
            "|", "\u{2003}",
        ];
        let mut samples: Vec<String> = vec![String::new(), "a".repeat(64), "a".repeat(65)];
        for a in pieces {
            for b in pieces {
                for c in pieces {
                    samples.push(format!("{a}{b}{c}"));
                    samples.push(format!("x{a}{b}y{c}"));
                }
            }
        }
        for (name, pattern) in official {
            let primitive = PrimitiveType::new(name, Some(pattern)).unwrap();
            let lexical = primitive.lexical.expect("a byte scan");
            let regex = primitive.regex.as_ref().unwrap();
            for text in &samples {
                let by_regex = regex.is_match(text) && !text.is_empty();
                let by_scan = lexical.matches(text) && !text.is_empty();
                assert_eq!(by_scan, by_regex, "{name} {text:?}");
            }
        }
    }
}
