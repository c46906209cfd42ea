//! Demographics of one synthetic person (US-like age pyramid, names, address, phone,
//! MRN and SSN-like identifiers) and the seeded master-patient-index duplicates.

use chrono::{Days, NaiveDate};

use super::geo::{CityRef, STATES, STREETS};
use super::names::{nickname_of, FAMILY, FEMALE_GIVEN, MALE_GIVEN};
use super::rng::{mix, Rng};

const STREAM_PERSON: u64 = 1;
const STREAM_DUPLICATE: u64 = 2;
/// Share of records (per thousand) that are re-registrations of an earlier person.
const DUPLICATE_PER_MILLE: u64 = 10;
/// How far back (in records) the original of a duplicate may be.
const DUPLICATE_MAX_DISTANCE: u64 = 50;

/// Share of the US population by 5-year age group (0-4 ... 95-99), in per mille.
const AGE_PYRAMID: &[f64] = &[
    60.0, 62.0, 65.0, 66.0, 65.0, 69.0, 68.0, 66.0, 62.0, 62.0, 63.0, 66.0, 63.0, 54.0, 43.0, 29.0,
    19.0, 12.0, 5.0, 1.0,
];

/// A synthetic person as registered at the hospital.
#[derive(Clone, Debug)]
pub struct Person {
    /// Position in the population (0-based).
    pub index: usize,
    /// Stable key, e.g. `pt0000001`.
    pub key: String,
    /// UUID of the Patient entry.
    pub uuid: String,
    /// Female sex (administrative gender female), else male.
    pub female: bool,
    /// Given name.
    pub given: String,
    /// Family name.
    pub family: String,
    /// Date of birth.
    pub birth: NaiveDate,
    /// Street line.
    pub line: String,
    /// City of residence.
    pub city: CityRef,
    /// Five-digit ZIP code.
    pub zip: String,
    /// Home phone.
    pub phone: String,
    /// Medical record number.
    pub mrn: String,
    /// SSN-like identifier (absent on some duplicate registrations).
    pub ssn: Option<String>,
}

/// The record key of a population index.
pub fn patient_key(index: usize) -> String {
    format!("pt{:07}", index + 1)
}

fn mrn(index: usize) -> String {
    let scrambled = ((index as u64 + 1) * 7919 + 1_000_003) % 100_000_000;
    format!("M{scrambled:08}")
}

/// Draws the person at `index`, with ages measured at `as_of`.
pub fn person(seed: u64, index: usize, as_of: NaiveDate) -> Person {
    let mut rng = Rng::stream(seed, &[STREAM_PERSON, index as u64]);
    let group = rng.weighted(AGE_PYRAMID) as f64;
    let age_days = ((group * 5.0 + rng.unit() * 5.0) * 365.25) as u64;
    let birth = as_of.checked_sub_days(Days::new(age_days)).unwrap_or(as_of);
    let age = age_days as f64 / 365.25;
    let female_share = if age >= 85.0 {
        0.63
    } else if age >= 65.0 {
        0.55
    } else {
        0.50
    };
    let female = rng.chance(female_share);
    let given = if female {
        rng.pick(FEMALE_GIVEN)
    } else {
        rng.pick(MALE_GIVEN)
    };
    let family = rng.pick(FAMILY);
    let (line, city, zip, phone) = address(&mut rng);
    let ssn = format!("999-{:02}-{:04}", rng.range(10, 99), rng.range(1, 9999));
    Person {
        index,
        key: patient_key(index),
        uuid: rng.uuid(),
        female,
        given: given.to_string(),
        family: family.to_string(),
        birth,
        line,
        city,
        zip,
        phone,
        mrn: mrn(index),
        ssn: Some(ssn),
    }
}

fn address(rng: &mut Rng) -> (String, CityRef, String, String) {
    let weights: Vec<f64> = STATES.iter().map(|s| s.weight as f64).collect();
    let state = rng.weighted(&weights);
    let st = &STATES[state];
    let city = rng.below(st.cities.len());
    let zip = format!("{}{:02}", st.cities[city].1, rng.range(1, 99));
    let line = format!("{} {}", rng.range(1, 9899), rng.pick(STREETS));
    let phone = format!("{}-555-{:04}", st.area_code, rng.range(100, 199));
    (line, CityRef { state, city }, zip, phone)
}

fn duplicate_coin(seed: u64, index: usize) -> bool {
    mix(seed, &[STREAM_DUPLICATE, index as u64]) % 1000 < DUPLICATE_PER_MILLE
}

/// If the record at `index` is a re-registration of an earlier person, that person's index.
pub fn duplicate_source(seed: u64, index: usize) -> Option<usize> {
    if !duplicate_coin(seed, index) {
        return None;
    }
    let distance =
        1 + (mix(seed, &[STREAM_DUPLICATE, index as u64, 1]) % DUPLICATE_MAX_DISTANCE) as usize;
    let original = index.checked_sub(distance)?;
    (!duplicate_coin(seed, original)).then_some(original)
}

/// The duplicate registration at `index` of `original`, and what differs.
pub fn make_duplicate(seed: u64, index: usize, original: &Person) -> (Person, Vec<&'static str>) {
    let mut rng = Rng::stream(seed, &[STREAM_DUPLICATE, index as u64, 2]);
    let mut dup = original.clone();
    dup.index = index;
    dup.key = patient_key(index);
    dup.uuid = rng.uuid();
    dup.mrn = mrn(index);
    let mut changes: Vec<&'static str> = Vec::new();
    let mut options: Vec<&'static str> = vec![
        "typo-family",
        "typo-given",
        "swapped-names",
        "moved-address",
    ];
    if nickname_of(&original.given).is_some() {
        options.extend(["nickname", "nickname"]);
    }
    let wanted = 1 + usize::from(rng.chance(0.4));
    while changes.len() < wanted {
        let choice = *rng.pick(&options);
        let clashes = matches!(
            (choice, changes.first().copied()),
            ("swapped-names", Some("nickname" | "typo-given"))
                | ("nickname" | "typo-given", Some("swapped-names"))
        );
        if changes.contains(&choice) || clashes {
            continue;
        }
        match choice {
            "typo-family" => dup.family = typo(&mut rng, &dup.family),
            "typo-given" => dup.given = typo(&mut rng, &dup.given),
            "swapped-names" => std::mem::swap(&mut dup.given, &mut dup.family),
            "nickname" => {
                dup.given = nickname_of(&original.given)
                    .unwrap_or(&original.given)
                    .to_string()
            }
            _ => {
                let (line, city, zip, phone) = address(&mut rng);
                (dup.line, dup.city, dup.zip, dup.phone) = (line, city, zip, phone);
            }
        }
        changes.push(choice);
    }
    if rng.chance(0.4) {
        dup.ssn = None;
        changes.push("ssn-missing");
    }
    (dup, changes)
}

/// A plausible keying error: transposition, omission or doubled letter.
fn typo(rng: &mut Rng, name: &str) -> String {
    let mut chars: Vec<char> = name.chars().collect();
    if chars.len() < 3 {
        let last = chars.last().copied().unwrap_or('a');
        chars.push(last);
        return chars.into_iter().collect();
    }
    let pos = 1 + rng.below(chars.len() - 2);
    match rng.below(3) {
        0 if chars[pos] != chars[pos + 1] => chars.swap(pos, pos + 1),
        1 => {
            chars.remove(pos);
        }
        _ => chars.insert(pos, chars[pos]),
    }
    chars.into_iter().collect()
}
