//! Scoring one candidate against the searched patient, Fellegi-Sunter style: every field
//! adds an agreement weight or a disagreement weight (roughly log2 of how much likelier
//! that outcome is for a true match than for two different people); absent fields add
//! nothing. The sum is mapped to `0..1` by a logistic curve and graded.
//!
//! | field | agreement | partial agreement | disagreement |
//! |---|---|---|---|
//! | family name | +4 exact | +2.5 similar (Jaro-Winkler ≥ 0.92, or same Soundex and ≥ 0.85) | −3 |
//! | given name | +3 exact | +2.5 nickname, +2 similar, +1 initial only | −2.5 |
//! | names swapped (family ↔ given) | the better of straight and swapped, swapped −0.5 | | |
//! | birth date | +5 exact | +3 day/month transposed, +2.5 one-character typo | −5 |
//! | sex | +0.5 | | −2.5 |
//! | address (best pair) | line +2 (similar +1), postal code +1.5, city +0.5 | | 0 (people move) |
//! | phone | +2.5 any shared number | | 0 |
//! | identifier | +7 same system and value | | −6 for a personal identifier (SSN, passport) with another value |
//!
//! `score = 1 / (1 + e^(−(weight − 7) / 2))`. Grades: **certain** when weight ≥ 14, the
//! birth date agrees (exactly or transposed), neither name disagrees and the names are
//! not swapped (a swap needs a human look); **probable**
//! when weight ≥ 9; **possible** when weight ≥ 5.5; below that the candidate is dropped.

use super::demographics::{Address, Demographics, Name};
use super::nicknames::equivalent;
use super::phonetic::{edit_distance, jaro_winkler, soundex};

/// `http://hl7.org/fhir/StructureDefinition/match-grade` codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Grade {
    CertainlyNot,
    Possible,
    Probable,
    Certain,
}

impl Grade {
    /// The match-grade code.
    pub fn code(self) -> &'static str {
        match self {
            Grade::Certain => "certain",
            Grade::Probable => "probable",
            Grade::Possible => "possible",
            Grade::CertainlyNot => "certainly-not",
        }
    }

    /// Parses a grade code (`certain`, `probable`, `possible`).
    pub fn parse(code: &str) -> Option<Grade> {
        match code {
            "certain" => Some(Grade::Certain),
            "probable" => Some(Grade::Probable),
            "possible" => Some(Grade::Possible),
            _ => None,
        }
    }
}

/// Weight sums at which the grades start.
pub const CERTAIN_WEIGHT: f64 = 14.0;
pub const PROBABLE_WEIGHT: f64 = 9.0;
pub const POSSIBLE_WEIGHT: f64 = 5.5;

/// The comparison of two patients.
#[derive(Debug, Clone)]
pub struct MatchScore {
    pub weight: f64,
    /// 0..1, rounded to three decimals.
    pub score: f64,
    pub grade: Grade,
    /// Which fields agreed or disagreed (`family-exact`, `birth-transposed` ...).
    pub reasons: Vec<&'static str>,
}

#[derive(Clone, Copy, PartialEq)]
enum Part {
    Agree,
    Partial,
    Disagree,
    Absent,
}

struct Field {
    weight: f64,
    part: Part,
    reason: Option<&'static str>,
}

fn field(weight: f64, part: Part, reason: &'static str) -> Field {
    Field {
        weight,
        part,
        reason: Some(reason),
    }
}

const ABSENT: Field = Field {
    weight: 0.0,
    part: Part::Absent,
    reason: None,
};

fn family(a: &str, b: &str) -> Field {
    if a.is_empty() || b.is_empty() {
        return ABSENT;
    }
    let jw = jaro_winkler(a, b);
    if a == b {
        field(4.0, Part::Agree, "family-exact")
    } else if jw >= 0.92 || (soundex(a) == soundex(b) && jw >= 0.85) {
        field(2.5, Part::Partial, "family-similar")
    } else {
        field(-3.0, Part::Disagree, "family-differs")
    }
}

fn given(a: &[String], b: &[String]) -> Field {
    let (Some(x), Some(y)) = (a.first(), b.first()) else {
        return ABSENT;
    };
    if x == y {
        return field(3.0, Part::Agree, "given-exact");
    }
    if equivalent(x, y) {
        return field(2.5, Part::Agree, "given-nickname");
    }
    let jw = jaro_winkler(x, y);
    if jw >= 0.9 || (soundex(x) == soundex(y) && jw >= 0.8) {
        return field(2.0, Part::Partial, "given-similar");
    }
    if (x.len() == 1 || y.len() == 1) && x[..1] == y[..1] {
        return field(1.0, Part::Partial, "given-initial");
    }
    // a middle name registered as the first one
    if a.iter().skip(1).any(|g| g == y) || b.iter().skip(1).any(|g| g == x) {
        return field(2.0, Part::Partial, "given-middle");
    }
    field(-2.5, Part::Disagree, "given-differs")
}

/// The better reading of two names: straight, or with family and given swapped.
fn names(a: &Name, b: &Name) -> (Field, Field, bool) {
    let straight = (family(&a.family, &b.family), given(&a.given, &b.given));
    let swapped_given: Vec<String> = if b.family.is_empty() {
        Vec::new()
    } else {
        vec![b.family.clone()]
    };
    let swapped = (
        family(&a.family, b.given.first().map(String::as_str).unwrap_or("")),
        given(&a.given, &swapped_given),
    );
    let sum = |f: &(Field, Field)| f.0.weight + f.1.weight;
    if sum(&swapped) - 0.5 > sum(&straight) {
        (swapped.0, swapped.1, true)
    } else {
        (straight.0, straight.1, false)
    }
}

fn birth(a: Option<&str>, b: Option<&str>) -> Field {
    let (Some(a), Some(b)) = (a, b) else {
        return ABSENT;
    };
    if a == b {
        return field(5.0, Part::Agree, "birth-exact");
    }
    if a.len() == 8 && b.len() == 8 && a[..4] == b[..4] && a[4..6] == b[6..8] && a[6..8] == b[4..6]
    {
        return field(3.0, Part::Partial, "birth-transposed");
    }
    if a.len() == b.len() && edit_distance(a, b) == 1 {
        return field(2.5, Part::Partial, "birth-typo");
    }
    field(-5.0, Part::Disagree, "birth-differs")
}

fn sex(a: Option<&str>, b: Option<&str>) -> Field {
    match (a, b) {
        (Some(a), Some(b)) if a == b => field(0.5, Part::Agree, "sex-same"),
        (Some(_), Some(_)) => field(-2.5, Part::Disagree, "sex-differs"),
        _ => ABSENT,
    }
}

fn address(a: &[Address], b: &[Address]) -> Vec<Field> {
    let mut best: (f64, Vec<Field>) = (0.0, Vec::new());
    for x in a {
        for y in b {
            let mut parts = Vec::new();
            if !x.line.is_empty() && !y.line.is_empty() {
                if x.line == y.line {
                    parts.push(field(2.0, Part::Agree, "address-line"));
                } else if jaro_winkler(&x.line, &y.line) >= 0.9 {
                    parts.push(field(1.0, Part::Partial, "address-line-similar"));
                }
            }
            if !x.postal.is_empty() && x.postal == y.postal {
                parts.push(field(1.5, Part::Agree, "postal-code"));
            }
            if !x.city.is_empty() && x.city == y.city {
                parts.push(field(0.5, Part::Agree, "city"));
            }
            let sum: f64 = parts.iter().map(|f| f.weight).sum();
            if sum > best.0 {
                best = (sum, parts);
            }
        }
    }
    best.1
}

fn identifiers(a: &Demographics, b: &Demographics) -> Field {
    let shared = a.identifiers.iter().any(|x| {
        b.identifiers
            .iter()
            .any(|y| x.system == y.system && x.value == y.value)
    });
    if shared {
        return field(7.0, Part::Agree, "identifier-same");
    }
    let conflicting = a.identifiers.iter().any(|x| {
        x.personal
            && b.identifiers
                .iter()
                .any(|y| y.personal && x.system == y.system && x.value != y.value)
    });
    if conflicting {
        field(-6.0, Part::Disagree, "identifier-conflict")
    } else {
        ABSENT
    }
}

fn logistic(weight: f64) -> f64 {
    let s = 1.0 / (1.0 + (-(weight - 7.0) / 2.0).exp());
    (s * 1000.0).round() / 1000.0
}

impl MatchScore {
    /// Orders better scores first (for `sort_by`).
    pub fn better_first(&self, other: &MatchScore) -> std::cmp::Ordering {
        other.weight.total_cmp(&self.weight)
    }
}

/// Compares two patients.
pub fn compare(a: &Demographics, b: &Demographics) -> MatchScore {
    let mut fields: Vec<Field> = Vec::new();
    let mut best_names: Option<(Field, Field, bool)> = None;
    for x in &a.names {
        for y in &b.names {
            let candidate = names(x, y);
            let better = best_names
                .as_ref()
                .is_none_or(|b| candidate.0.weight + candidate.1.weight > b.0.weight + b.1.weight);
            if better {
                best_names = Some(candidate);
            }
        }
    }
    let mut names_agree = true;
    let mut swapped = false;
    if let Some((f, g, s)) = best_names {
        names_agree = f.part != Part::Disagree && g.part != Part::Disagree;
        swapped = s;
        fields.push(f);
        fields.push(g);
    }
    let dob = birth(a.birth.as_deref(), b.birth.as_deref());
    let dob_agrees = matches!(dob.reason, Some("birth-exact" | "birth-transposed"));
    fields.push(dob);
    fields.push(sex(a.gender.as_deref(), b.gender.as_deref()));
    fields.extend(address(&a.addresses, &b.addresses));
    if a.phones.iter().any(|p| b.phones.contains(p)) {
        fields.push(field(2.5, Part::Agree, "phone"));
    }
    fields.push(identifiers(a, b));
    let weight: f64 =
        fields.iter().map(|f| f.weight).sum::<f64>() - if swapped { 0.5 } else { 0.0 };
    let mut reasons: Vec<&'static str> = fields.iter().filter_map(|f| f.reason).collect();
    if swapped {
        reasons.insert(0, "names-swapped");
    }
    let grade = if weight >= CERTAIN_WEIGHT && names_agree && !swapped && dob_agrees {
        Grade::Certain
    } else if weight >= PROBABLE_WEIGHT {
        Grade::Probable
    } else if weight >= POSSIBLE_WEIGHT {
        Grade::Possible
    } else {
        Grade::CertainlyNot
    };
    MatchScore {
        weight,
        score: logistic(weight),
        grade,
        reasons,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// A Patient from `family|given|birthDate|gender|line|postalCode`.
    fn person(spec: &str) -> Value {
        let f: Vec<&str> = spec.split('|').collect();
        json!({"resourceType": "Patient",
            "name": [{"family": f[0], "given": [f[1]]}], "birthDate": f[2], "gender": f[3],
            "address": [{"line": [f[4]], "city": "Springfield", "postalCode": f[5]}]})
    }

    fn cmp(a: Value, b: Value) -> MatchScore {
        compare(&Demographics::of(&a), &Demographics::of(&b))
    }

    #[test]
    fn the_same_person_registered_twice_is_certain() {
        let a = person("Walker|William|1980-03-07|male|12 Oak St|62701");
        let m = cmp(a.clone(), a);
        assert_eq!(m.grade, Grade::Certain);
        assert!(m.score > 0.95);
    }

    #[test]
    fn seeded_variations_stay_probable_or_better() {
        let a = person("Walker|William|1980-03-07|male|12 Oak St|62701");
        for b in [
            person("Walkre|William|1980-03-07|male|9 Elm Ave|10001"),
            person("Walker|Bill|1980-03-07|male|9 Elm Ave|10001"),
            person("William|Walker|1980-03-07|male|9 Elm Ave|10001"),
            person("Walker|William|1980-07-03|male|12 Oak St|62701"),
            person("Walker|Wiliam|1980-03-08|male|12 Oak St|62701"),
        ] {
            let m = cmp(a.clone(), b.clone());
            assert!(m.grade >= Grade::Probable, "{b}: {m:?}");
        }
    }

    #[test]
    fn different_people_are_not_matched() {
        let a = person("Walker|William|1980-03-07|male|12 Oak St|62701");
        for b in [
            person("Garcia|Maria|1980-03-07|female|12 Oak St|62701"),
            person("Walker|Susan|1982-11-20|female|12 Oak St|62701"),
            person("Walker|William|1955-01-30|male|4 Pine Rd|30301"),
        ] {
            let m = cmp(a.clone(), b.clone());
            assert!(m.grade < Grade::Probable, "{b}: {m:?}");
        }
    }

    #[test]
    fn a_shared_ssn_outweighs_a_moved_address_and_a_conflicting_one_sinks_it() {
        let ssn = |v: &str| json!([{"system": "http://hl7.org/fhir/sid/us-ssn", "value": v}]);
        let mut a = person("Walker|William|1980-03-07|male|12 Oak St|62701");
        let mut b = person("Walker|Bill|1980-03-07|male|9 Elm Ave|10001");
        a["identifier"] = ssn("999-11-2222");
        b["identifier"] = ssn("999-11-2222");
        assert_eq!(cmp(a.clone(), b.clone()).grade, Grade::Certain);
        b["identifier"] = ssn("999-33-4444");
        assert!(cmp(a, b).grade < Grade::Probable);
    }
}
