//! The comparable parts of a Patient, normalised once: names, birth date, sex,
//! addresses, phones and identifiers.

use serde_json::Value;
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::UnicodeNormalization;

/// One name: normalised family and given names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Name {
    pub family: String,
    pub given: Vec<String>,
}

/// One address: normalised street line, city and the first five postal characters.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Address {
    pub line: String,
    pub city: String,
    pub postal: String,
}

/// One identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ident {
    pub system: String,
    pub value: String,
    /// True for identifiers of the person rather than of one registration (SSN,
    /// passport, driver's licence), whose disagreement argues against a match.
    pub personal: bool,
}

/// What the master patient index compares.
#[derive(Debug, Clone, Default)]
pub struct Demographics {
    pub id: Option<String>,
    pub names: Vec<Name>,
    /// `YYYYMMDD` (or shorter for partial dates).
    pub birth: Option<String>,
    /// `male`, `female` (other values are not compared).
    pub gender: Option<String>,
    pub addresses: Vec<Address>,
    /// Last ten digits of each phone number.
    pub phones: Vec<String>,
    pub identifiers: Vec<Ident>,
}

/// Upper-case ASCII letters only: accents dropped, spaces, hyphens and apostrophes removed.
pub fn norm_name(text: &str) -> String {
    text.nfkd()
        .filter(|c| !is_combining_mark(*c))
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Upper-case letters and digits separated by single spaces, common street words shortened.
fn norm_line(text: &str) -> String {
    let cleaned: String = text
        .nfkd()
        .filter(|c| !is_combining_mark(*c))
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                ' '
            }
        })
        .collect();
    cleaned
        .split_whitespace()
        .map(|w| match w {
            "STREET" => "ST",
            "AVENUE" => "AVE",
            "ROAD" => "RD",
            "DRIVE" => "DR",
            "LANE" => "LN",
            "BOULEVARD" => "BLVD",
            "COURT" => "CT",
            "PLACE" => "PL",
            "APARTMENT" | "APT" | "UNIT" => "#",
            other => other,
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

const PERSONAL_TYPES: &[&str] = &["SS", "SB", "PPN", "DL", "NIIP", "NI"];

impl Demographics {
    /// Reads a Patient resource (missing or malformed parts are simply absent).
    pub fn of(patient: &Value) -> Demographics {
        let names = patient["name"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|n| n["use"] != "old")
            .map(|n| Name {
                family: n["family"].as_str().map(norm_name).unwrap_or_default(),
                given: strings(&n["given"])
                    .map(norm_name)
                    .filter(|g| !g.is_empty())
                    .collect(),
            })
            .filter(|n| !n.family.is_empty() || !n.given.is_empty())
            .collect();
        let birth = patient["birthDate"]
            .as_str()
            .map(|d| d.chars().filter(char::is_ascii_digit).collect::<String>())
            .filter(|d| d.len() >= 4);
        let gender = patient["gender"]
            .as_str()
            .filter(|g| *g == "male" || *g == "female")
            .map(str::to_string);
        let addresses = patient["address"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|a| Address {
                line: strings(&a["line"])
                    .map(norm_line)
                    .collect::<Vec<_>>()
                    .join(" "),
                city: a["city"].as_str().map(norm_name).unwrap_or_default(),
                postal: a["postalCode"]
                    .as_str()
                    .map(|p| {
                        p.chars()
                            .filter(char::is_ascii_alphanumeric)
                            .take(5)
                            .collect::<String>()
                            .to_ascii_uppercase()
                    })
                    .unwrap_or_default(),
            })
            .filter(|a| *a != Address::default())
            .collect();
        let phones = patient["telecom"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|t| t["system"] == "phone" || t["system"] == "sms")
            .filter_map(|t| t["value"].as_str())
            .map(|v| {
                let digits: Vec<char> = v.chars().filter(char::is_ascii_digit).collect();
                digits[digits.len().saturating_sub(10)..]
                    .iter()
                    .collect::<String>()
            })
            .filter(|d| d.len() >= 7)
            .collect();
        let identifiers = patient["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|i| {
                let value = i["value"].as_str()?.trim().to_string();
                let system = i["system"].as_str().unwrap_or("").to_string();
                let type_code = i["type"]["coding"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|c| c["code"].as_str())
                    .next()
                    .unwrap_or("");
                let personal = PERSONAL_TYPES.contains(&type_code) || system.ends_with("us-ssn");
                (!value.is_empty()).then_some(Ident {
                    system,
                    value,
                    personal,
                })
            })
            .collect();
        Demographics {
            id: patient["id"].as_str().map(str::to_string),
            names,
            birth,
            gender,
            addresses,
            phones,
            identifiers,
        }
    }

    /// True when there is something to match on.
    pub fn is_matchable(&self) -> bool {
        !self.names.is_empty()
            || self.birth.is_some()
            || !self.identifiers.is_empty()
            || !self.phones.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_and_normalises_a_patient() {
        let d = Demographics::of(&json!({
            "resourceType": "Patient", "id": "p1",
            "name": [{"family": "O'Brién-Smith", "given": ["Mary", "Ann"]}, {"use": "old", "family": "Jones"}],
            "birthDate": "1974-03-12", "gender": "female",
            "address": [{"line": ["12 Main Street", "Apt 4"], "city": "St. Louis", "postalCode": "63101-1234"}],
            "telecom": [{"system": "phone", "value": "+1 (314) 555-0142"}, {"system": "email", "value": "x@y"}],
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-12-3456"}]
        }));
        assert_eq!(d.names.len(), 1);
        assert_eq!(d.names[0].family, "OBRIENSMITH");
        assert_eq!(d.names[0].given, vec!["MARY", "ANN"]);
        assert_eq!(d.birth.as_deref(), Some("19740312"));
        assert_eq!(d.addresses[0].line, "12 MAIN ST # 4");
        assert_eq!(d.addresses[0].city, "STLOUIS");
        assert_eq!(d.addresses[0].postal, "63101");
        assert_eq!(d.phones, vec!["3145550142"]);
        assert!(d.identifiers[0].personal);
    }
}
