//! NAACCR XML (the exchange format of central cancer registries, specification 1.8 with the
//! NAACCR v25 base dictionary): `NaaccrData` / `Patient` / `Tumor` / `Item`, written by
//! hand and escaped. Only the items chartroom holds are written; each carries its
//! `naaccrId` and `naaccrNum` (item number) from the v25 dictionary.

use super::super::elements::{patient_facts, tumors};
use super::super::record::Record;
use super::naaccr_codes::{county, races, spanish_hispanic_origin};
use crate::reporting::deid::Mode;
use std::io::{Result, Write};

/// A data item: NAACCR XML id, item number, maximum length.
struct ItemDef(&'static str, u32, usize);

const RECORD_TYPE: ItemDef = ItemDef("recordType", 10, 1);
const RECORD_VERSION: ItemDef = ItemDef("naaccrRecordVersion", 50, 3);
const PATIENT_ID: ItemDef = ItemDef("patientIdNumber", 20, 8);
const NAME_LAST: ItemDef = ItemDef("nameLast", 2230, 40);
const NAME_FIRST: ItemDef = ItemDef("nameFirst", 2240, 40);
const SSN: ItemDef = ItemDef("socialSecurityNumber", 2320, 9);
const RACES: [ItemDef; 5] = [
    ItemDef("race1", 160, 2),
    ItemDef("race2", 161, 2),
    ItemDef("race3", 162, 2),
    ItemDef("race4", 163, 2),
    ItemDef("race5", 164, 2),
];
const SPANISH_HISPANIC: ItemDef = ItemDef("spanishHispanicOrigin", 190, 1);
const SEX: ItemDef = ItemDef("sex", 220, 1);
const BIRTH: ItemDef = ItemDef("dateOfBirth", 240, 8);
const LAST_CONTACT: ItemDef = ItemDef("dateOfLastContact", 1750, 8);
const VITAL_STATUS: ItemDef = ItemDef("vitalStatus", 1760, 1);
const TUMOR_NUMBER: ItemDef = ItemDef("tumorRecordNumber", 60, 2);
const CITY: ItemDef = ItemDef("addrAtDxCity", 70, 50);
const STATE: ItemDef = ItemDef("addrAtDxState", 80, 2);
const COUNTY: ItemDef = ItemDef("countyAtDxReported", 90, 3);
const POSTAL: ItemDef = ItemDef("addrAtDxPostalCode", 100, 9);
const COUNTRY: ItemDef = ItemDef("addrAtDxCountry", 102, 3);
const AGE_AT_DX: ItemDef = ItemDef("ageAtDiagnosis", 230, 3);
const DIAGNOSIS: ItemDef = ItemDef("dateOfDiagnosis", 390, 8);
const SITE: ItemDef = ItemDef("primarySite", 400, 4);
const HISTOLOGY: ItemDef = ItemDef("histologicTypeIcdO3", 522, 4);
const BEHAVIOR: ItemDef = ItemDef("behaviorCodeIcdO3", 523, 1);
const CLINICAL_STAGE: ItemDef = ItemDef("ajccTnmClinStageGroup", 1004, 15);
const PATH_STAGE: ItemDef = ItemDef("ajccTnmPathStageGroup", 1014, 15);
const SURGERY: ItemDef = ItemDef("rxDateSurgery", 1200, 8);
const SYSTEMIC: ItemDef = ItemDef("rxDateSystemic", 3230, 8);
const MRN: ItemDef = ItemDef("medicalRecordNumber", 2300, 15);

/// XML 1.0 text: markup characters escaped, characters XML cannot carry dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(ch),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

fn item(out: &mut dyn Write, indent: &str, def: &ItemDef, value: Option<&str>) -> Result<()> {
    let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(());
    };
    let value: String = value.chars().take(def.2).collect();
    writeln!(
        out,
        "{indent}<Item naaccrId=\"{}\" naaccrNum=\"{}\">{}</Item>",
        def.0,
        def.1,
        escape(&value)
    )
}

/// FHIR date/dateTime → NAACCR `YYYYMMDD` (or `YYYYMM`, `YYYY` when partial).
fn date(text: Option<&str>) -> Option<String> {
    let text = text?;
    let digits: String = text
        .get(..text.len().min(10))?
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    matches!(digits.len(), 4 | 6 | 8).then_some(digits)
}

fn sex_code(gender: Option<&str>) -> Option<&'static str> {
    match gender? {
        "male" => Some("1"),
        "female" => Some("2"),
        "other" => Some("3"),
        "unknown" => Some("9"),
        _ => None,
    }
}

fn age_at(birth: Option<&str>, diagnosis: Option<&str>) -> Option<String> {
    let parse = |d: Option<&str>| chrono::NaiveDate::parse_from_str(d?.get(..10)?, "%Y-%m-%d").ok();
    let years = parse(diagnosis)?.years_since(parse(birth)?)?;
    Some(format!("{years:03}"))
}

pub fn begin(out: &mut dyn Write, identified: bool) -> Result<()> {
    writeln!(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
    let record_type = if identified { "C" } else { "I" };
    writeln!(
        out,
        "<NaaccrData baseDictionaryUri=\"http://naaccr.org/naaccrxml/naaccr-dictionary-250.xml\" recordType=\"{record_type}\" specificationVersion=\"1.8\" xmlns=\"http://naaccr.org/naaccrxml\">"
    )?;
    item(out, "  ", &RECORD_TYPE, Some(record_type))?;
    item(out, "  ", &RECORD_VERSION, Some("250"))
}

/// Ages at diagnosis, per tumour, from the record as stored: de-identification reduces the
/// dates they come from, yet Safe Harbor allows ages up to 89 (older ones are left out
/// there, NAACCR having no "90 or older" code).
fn ages_at_diagnosis(original: &Record, identified: bool) -> Vec<Option<String>> {
    let birth = patient_facts(original).birth_date;
    tumors(original)
        .iter()
        .map(|t| age_at(birth.as_deref(), t.diagnosis_date.as_deref()))
        .map(|age| age.filter(|a| identified || a.as_str() <= "089"))
        .collect()
}

/// One Patient element from the record as sent (`sequence` numbers patients within the
/// file: chartroom ids do not fit the 8-digit patientIdNumber); ages come from `original`.
/// Under Safe Harbor the county, a geographic subdivision smaller than a state, is left
/// out (45 CFR 164.514(b)(2)(i)(B)); the limited data set keeps it.
pub fn patient(
    out: &mut dyn Write,
    record: &Record,
    original: &Record,
    mode: Mode,
    sequence: u64,
) -> Result<()> {
    let identified = mode == Mode::None;
    let p = patient_facts(record);
    let ages = ages_at_diagnosis(original, identified);
    let county = (mode != Mode::SafeHarbor).then(|| county(p.district.as_deref()));
    writeln!(out, "  <Patient>")?;
    item(out, "    ", &PATIENT_ID, Some(&format!("{sequence:08}")))?;
    item(out, "    ", &NAME_LAST, p.family.as_deref())?;
    item(out, "    ", &NAME_FIRST, p.given.as_deref())?;
    let ssn = p
        .ssn
        .as_ref()
        .map(|s| s.chars().filter(char::is_ascii_digit).collect::<String>());
    item(out, "    ", &SSN, ssn.as_deref().filter(|s| s.len() == 9))?;
    for (def, code) in RACES.iter().zip(races(&record.patient)) {
        item(out, "    ", def, Some(&code))?;
    }
    item(
        out,
        "    ",
        &SPANISH_HISPANIC,
        Some(spanish_hispanic_origin(&record.patient)),
    )?;
    item(out, "    ", &SEX, sex_code(p.sex.as_deref()))?;
    item(
        out,
        "    ",
        &BIRTH,
        date(p.birth_date.as_deref()).as_deref(),
    )?;
    item(
        out,
        "    ",
        &LAST_CONTACT,
        date(p.deceased_date.as_deref()).as_deref(),
    )?;
    item(
        out,
        "    ",
        &VITAL_STATUS,
        Some(if p.deceased { "0" } else { "1" }),
    )?;
    let country = match p.country.as_deref() {
        Some("US") | Some("USA") => Some("USA"),
        Some(c) if c.len() == 3 => Some(c),
        _ => None,
    };
    for (i, t) in tumors(record).iter().enumerate() {
        writeln!(out, "    <Tumor>")?;
        let ind = "      ";
        item(out, ind, &TUMOR_NUMBER, Some(&format!("{:02}", i + 1)))?;
        item(out, ind, &CITY, p.city.as_deref())?;
        item(out, ind, &STATE, p.state.as_deref())?;
        item(out, ind, &COUNTY, county.as_deref())?;
        let postal: Option<String> = p
            .postal_code
            .as_ref()
            .map(|z| z.chars().filter(char::is_ascii_alphanumeric).collect());
        item(out, ind, &POSTAL, postal.as_deref())?;
        item(out, ind, &COUNTRY, country)?;
        item(
            out,
            ind,
            &AGE_AT_DX,
            ages.get(i).cloned().flatten().as_deref(),
        )?;
        item(
            out,
            ind,
            &DIAGNOSIS,
            date(t.diagnosis_date.as_deref()).as_deref(),
        )?;
        item(out, ind, &SITE, t.primary_site.as_deref())?;
        item(out, ind, &HISTOLOGY, t.histology.as_deref())?;
        item(out, ind, &BEHAVIOR, t.behavior.as_deref())?;
        item(out, ind, &CLINICAL_STAGE, t.clinical_stage.as_deref())?;
        item(out, ind, &PATH_STAGE, t.pathologic_stage.as_deref())?;
        item(
            out,
            ind,
            &SURGERY,
            date(t.surgery_date.as_deref()).as_deref(),
        )?;
        item(
            out,
            ind,
            &SYSTEMIC,
            date(t.systemic_date.as_deref()).as_deref(),
        )?;
        item(out, ind, &MRN, p.mrn.as_deref())?;
        writeln!(out, "    </Tumor>")?;
    }
    writeln!(out, "  </Patient>")
}

pub fn end(out: &mut dyn Write) -> Result<()> {
    writeln!(out, "</NaaccrData>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_drops_control_characters() {
        assert_eq!(
            escape("O'Brien & <Sons> \"x\"\u{1}"),
            "O&apos;Brien &amp; &lt;Sons&gt; &quot;x&quot;"
        );
        assert_eq!(
            date(Some("2024-05-06T10:00:00Z")).as_deref(),
            Some("20240506")
        );
        assert_eq!(date(Some("2024")).as_deref(), Some("2024"));
        assert_eq!(
            age_at(Some("1950-06-01"), Some("2024-05-31")).as_deref(),
            Some("073")
        );
    }
}
