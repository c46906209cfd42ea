//! Patient demographics as NAACCR codes: Race 1–5 (#160–164), Spanish/Hispanic Origin
//! (#190) from the US Core race/ethnicity extensions (CDC Race & Ethnicity code set,
//! `urn:oid:2.16.840.1.113883.6.238`), and County at DX Reported (#90) from
//! `Patient.address.district`.
//!
//! Sources: the NAACCR data dictionary item pages for Race 1 [160] (allowable values 01-08,
//! 10-17, 20-22, 25-28, 30-32, 96-99; Race 2–5 add 88 "no further race documented"),
//! Spanish/Hispanic Origin [190] (0 non-Hispanic ... 6 Spanish/Hispanic/Latino NOS,
//! 8 Dominican Republic, 9 unknown) and County at DX Reported [90] (001-997 FIPS county,
//! 999 unknown); the CDC code set as published with US Core (CodeSystem cdcrec). Where the
//! CDC set is finer than NAACCR, the NAACCR "NOS" code of the group is used.

use serde_json::Value;

const RACE_EXTENSION: &str = "http://hl7.org/fhir/us/core/StructureDefinition/us-core-race";
const ETHNICITY_EXTENSION: &str =
    "http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity";
const CDC_RACE_ETHNICITY: &str = "urn:oid:2.16.840.1.113883.6.238";

const WHITE: &str = "2106-3";
const BLACK: &str = "2054-5";
const AMERICAN_INDIAN: &str = "1002-5";
const ASIAN: &str = "2028-9";
const PACIFIC_ISLANDER: &str = "2076-8";

/// OMB race categories (`ombCategory`) → NAACCR race.
const OMB_RACE: &[(&str, &str)] = &[
    (WHITE, "01"),
    (BLACK, "02"),
    (AMERICAN_INDIAN, "03"),
    (ASIAN, "96"),
    (PACIFIC_ISLANDER, "97"),
];

/// Detailed CDC races with a NAACCR code of their own: (CDC code, NAACCR code, OMB
/// category it refines; `None` for "Other Race").
const DETAILED_RACE: &[(&str, &str, Option<&str>)] = &[
    ("2034-7", "04", Some(ASIAN)),            // Chinese
    ("2035-4", "04", Some(ASIAN)),            // Taiwanese: coded Chinese
    ("2039-6", "05", Some(ASIAN)),            // Japanese
    ("2043-8", "05", Some(ASIAN)),            // Okinawan: coded Japanese
    ("2036-2", "06", Some(ASIAN)),            // Filipino
    ("2040-4", "08", Some(ASIAN)),            // Korean
    ("2047-9", "10", Some(ASIAN)),            // Vietnamese
    ("2041-2", "11", Some(ASIAN)),            // Laotian
    ("2037-0", "12", Some(ASIAN)),            // Hmong
    ("2033-9", "13", Some(ASIAN)),            // Cambodian (Kampuchean)
    ("2046-1", "14", Some(ASIAN)),            // Thai
    ("2029-7", "16", Some(ASIAN)),            // Asian Indian
    ("2044-6", "17", Some(ASIAN)),            // Pakistani
    ("2079-2", "07", Some(PACIFIC_ISLANDER)), // Native Hawaiian
    ("2078-4", "25", Some(PACIFIC_ISLANDER)), // Polynesian
    ("2081-8", "26", Some(PACIFIC_ISLANDER)), // Tahitian
    ("2080-0", "27", Some(PACIFIC_ISLANDER)), // Samoan
    ("2082-6", "28", Some(PACIFIC_ISLANDER)), // Tongan
    ("2083-4", "25", Some(PACIFIC_ISLANDER)), // Tokelauan: Polynesian, NOS
    ("2085-9", "20", Some(PACIFIC_ISLANDER)), // Micronesian
    ("2088-3", "21", Some(PACIFIC_ISLANDER)), // Chamorro
    ("2086-7", "22", Some(PACIFIC_ISLANDER)), // Guamanian or Chamorro: Guamanian, NOS
    ("2087-5", "22", Some(PACIFIC_ISLANDER)), // Guamanian
    ("2089-1", "20", Some(PACIFIC_ISLANDER)), // Mariana Islander: Micronesian, NOS
    ("2090-9", "20", Some(PACIFIC_ISLANDER)), // Marshallese
    ("2091-7", "20", Some(PACIFIC_ISLANDER)), // Palauan
    ("2092-5", "20", Some(PACIFIC_ISLANDER)), // Carolinian
    ("2093-3", "20", Some(PACIFIC_ISLANDER)), // Kosraean
    ("2094-1", "20", Some(PACIFIC_ISLANDER)), // Pohnpeian
    ("2095-8", "20", Some(PACIFIC_ISLANDER)), // Saipanese
    ("2096-6", "20", Some(PACIFIC_ISLANDER)), // Kiribati
    ("2100-6", "30", Some(PACIFIC_ISLANDER)), // Melanesian
    ("2101-4", "31", Some(PACIFIC_ISLANDER)), // Fijian
    ("2102-2", "32", Some(PACIFIC_ISLANDER)), // Papua New Guinean
    ("2500-7", "97", Some(PACIFIC_ISLANDER)), // Other Pacific Islander
    ("2131-1", "98", None),                   // Other Race
];

/// Detailed CDC ethnicities → NAACCR Spanish/Hispanic Origin.
const DETAILED_ETHNICITY: &[(&str, &str)] = &[
    ("2148-5", "1"), // Mexican
    ("2149-3", "1"), // Mexican American
    ("2150-1", "1"), // Mexicano
    ("2151-9", "1"), // Chicano
    ("2180-8", "2"), // Puerto Rican
    ("2182-4", "3"), // Cuban
    ("2155-0", "4"), // Central American
    ("2165-9", "4"), // South American
    ("2137-8", "5"), // Spaniard (European)
    ("2184-0", "8"), // Dominican
];

const HISPANIC: &str = "2135-2";
const NOT_HISPANIC: &str = "2186-5";

/// The CDC codes of one sub-extension (`ombCategory`, `detailed`) of a US Core extension.
fn cdc_codes<'a>(patient: &'a Value, extension: &str, part: &str) -> Vec<&'a str> {
    let parts = patient["extension"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["url"] == extension)
        .flat_map(|e| e["extension"].as_array().into_iter().flatten());
    parts
        .filter(|p| p["url"] == part)
        .filter(|p| p["valueCoding"]["system"] == CDC_RACE_ETHNICITY)
        .filter_map(|p| p["valueCoding"]["code"].as_str())
        .collect()
}

/// Race 1 to Race 5. Detailed races first (each stands for its OMB category), then the
/// categories no detailed race refined; white goes after the other races (SEER rule for
/// white and another race); no further race is 88, no race at all is 99 in all five.
pub fn races(patient: &Value) -> [String; 5] {
    let mut codes: Vec<&str> = Vec::new();
    let mut refined: Vec<&str> = Vec::new();
    for code in cdc_codes(patient, RACE_EXTENSION, "detailed") {
        if let Some((_, naaccr, omb)) = DETAILED_RACE.iter().find(|(c, ..)| *c == code) {
            codes.push(naaccr);
            refined.extend(omb);
        }
    }
    for code in cdc_codes(patient, RACE_EXTENSION, "ombCategory") {
        if refined.contains(&code) {
            continue;
        }
        if let Some((_, naaccr)) = OMB_RACE.iter().find(|(c, _)| *c == code) {
            codes.push(naaccr);
        }
    }
    let mut unique: Vec<&str> = Vec::new();
    for code in codes {
        if !unique.contains(&code) {
            unique.push(code);
        }
    }
    if unique.len() > 1 {
        if let Some(white) = unique.iter().position(|c| *c == "01") {
            let white = unique.remove(white);
            unique.push(white);
        }
    }
    let filler = if unique.is_empty() { "99" } else { "88" };
    std::array::from_fn(|i| unique.get(i).copied().unwrap_or(filler).to_string())
}

/// Spanish/Hispanic Origin: a detailed ethnicity NAACCR codes, else 6 (Spanish, Hispanic,
/// Latino NOS) for Hispanic, 0 for not Hispanic, 9 when unknown.
pub fn spanish_hispanic_origin(patient: &Value) -> &'static str {
    let detailed = cdc_codes(patient, ETHNICITY_EXTENSION, "detailed");
    if let Some((_, naaccr)) = detailed
        .iter()
        .find_map(|code| DETAILED_ETHNICITY.iter().find(|(c, _)| c == code))
    {
        return naaccr;
    }
    let omb = cdc_codes(patient, ETHNICITY_EXTENSION, "ombCategory");
    if omb.contains(&HISPANIC) {
        "6"
    } else if omb.contains(&NOT_HISPANIC) {
        "0"
    } else {
        "9"
    }
}

/// County at DX Reported from `address.district`: a 3-digit FIPS county code (or the last
/// three digits of a 5-digit state+county code), else 999 (unknown).
pub fn county(district: Option<&str>) -> String {
    let district = district.unwrap_or("").trim();
    let digits = district.chars().all(|c| c.is_ascii_digit());
    let county = match district.len() {
        3 if digits => district,
        5 if digits => &district[2..],
        _ => "999",
    };
    if county == "000" {
        "999".into()
    } else {
        county.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn patient(race: &[(&str, &str)], ethnicity: &[(&str, &str)]) -> Value {
        let parts = |items: &[(&str, &str)]| -> Vec<Value> {
            items
                .iter()
                .map(|(url, code)| {
                    json!({"url": url, "valueCoding": {"system": CDC_RACE_ETHNICITY, "code": code}})
                })
                .collect()
        };
        json!({"resourceType": "Patient", "extension": [
            {"url": RACE_EXTENSION, "extension": parts(race)},
            {"url": ETHNICITY_EXTENSION, "extension": parts(ethnicity)}]})
    }

    #[test]
    fn races_map_to_naaccr_codes() {
        let white = patient(&[("ombCategory", WHITE)], &[]);
        assert_eq!(races(&white), ["01", "88", "88", "88", "88"]);
        let chinese = patient(&[("ombCategory", ASIAN), ("detailed", "2034-7")], &[]);
        assert_eq!(races(&chinese)[0], "04");
        assert_eq!(races(&chinese)[1], "88");
        let mixed = patient(&[("ombCategory", WHITE), ("ombCategory", BLACK)], &[]);
        assert_eq!(races(&mixed), ["02", "01", "88", "88", "88"]);
        assert_eq!(races(&json!({"resourceType": "Patient"})), ["99"; 5]);
    }

    #[test]
    fn ethnicity_and_county() {
        assert_eq!(
            spanish_hispanic_origin(&patient(&[], &[("ombCategory", HISPANIC)])),
            "6"
        );
        assert_eq!(
            spanish_hispanic_origin(&patient(
                &[],
                &[("ombCategory", HISPANIC), ("detailed", "2180-8")]
            )),
            "2"
        );
        assert_eq!(
            spanish_hispanic_origin(&patient(&[], &[("ombCategory", NOT_HISPANIC)])),
            "0"
        );
        assert_eq!(spanish_hispanic_origin(&json!({})), "9");
        assert_eq!(county(Some("017")), "017");
        assert_eq!(county(Some("25017")), "017");
        assert_eq!(county(Some("Middlesex")), "999");
        assert_eq!(county(None), "999");
    }
}
