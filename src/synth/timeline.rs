//! The clinical story of one patient before any FHIR is written: which chronic
//! conditions they have (and since when), and the dated ambulatory visits and inpatient
//! stays of the activity window. Pure planning; `record.rs` turns it into resources.

use chrono::{Days, NaiveDate, NaiveDateTime, NaiveTime};

use super::catalog::{Chronic, Dx, Kind, Med, CHRONIC, MALE_BREAST};
use super::events::{cancer_surgery, Acute, Pcs, Risk, Stay, ACUTE, STAYS};
use super::person::Person;
use super::rng::Rng;

const STREAM_CHRONIC: u64 = 10;
const MAX_VISITS: usize = 40;

/// A chronic condition the patient has.
#[derive(Clone, Debug)]
pub struct Case {
    /// Which condition.
    pub kind: Kind,
    /// Its code.
    pub dx: Dx,
    /// Codes recorded alongside.
    pub companions: &'static [Dx],
    /// Date of onset.
    pub onset: NaiveDate,
    /// Sensitivity label.
    pub security: Option<&'static str>,
    /// First-line medications.
    pub meds: &'static [Med],
}

/// Why a visit happened.
#[derive(Clone, Debug)]
pub enum Reason {
    /// Follow-up of a chronic case (index into the cases).
    FollowUp(usize),
    /// Ambulatory acute problem.
    Acute(&'static Acute),
    /// Adult physical abuse (sensitive).
    Abuse,
    /// Inpatient stay: kind, principal index, whether a procedure is performed.
    Stay(&'static Stay, usize, Option<Pcs>),
    /// Cancer surgery for a case.
    CancerSurgery(usize, Pcs),
}

/// A dated encounter.
#[derive(Clone, Debug)]
pub struct Visit {
    /// Start.
    pub start: NaiveDateTime,
    /// End.
    pub end: NaiveDateTime,
    /// Inpatient (IMP) rather than ambulatory (AMB).
    pub inpatient: bool,
    /// Reason.
    pub reason: Reason,
}

/// Age in whole-year fractions between two dates.
pub fn age_at(birth: NaiveDate, on: NaiveDate) -> f64 {
    (on - birth).num_days() as f64 / 365.25
}

fn add_days(date: NaiveDate, days: i64) -> NaiveDate {
    if days >= 0 {
        date.checked_add_days(Days::new(days as u64))
            .unwrap_or(date)
    } else {
        date.checked_sub_days(Days::new(days.unsigned_abs()))
            .unwrap_or(date)
    }
}

/// The chronic conditions of the clinical person `clinical_index` (a duplicate
/// registration shares its original's index, hence its conditions).
pub fn chronic_cases(
    seed: u64,
    clinical_index: usize,
    person: &Person,
    as_of: NaiveDate,
) -> Vec<Case> {
    let mut rng = Rng::stream(seed, &[STREAM_CHRONIC, clinical_index as u64]);
    let age_now = age_at(person.birth, as_of);
    let mut cases = Vec::new();
    for chronic in CHRONIC {
        let p = (chronic.prevalence)(age_now, person.female);
        let roll = rng.unit();
        let variant_roll = rng.unit();
        let onset_roll = rng.unit();
        if roll >= p || age_now <= chronic.min_onset_age {
            continue;
        }
        let (dx, companions) = pick_variant(chronic, person.female, variant_roll);
        let onset_age = chronic.min_onset_age + (age_now - chronic.min_onset_age) * onset_roll;
        cases.push(Case {
            kind: chronic.kind,
            dx,
            companions,
            onset: add_days(person.birth, (onset_age * 365.25) as i64),
            security: chronic.security,
            meds: chronic.meds,
        });
    }
    cases
}

fn pick_variant(chronic: &Chronic, female: bool, roll: f64) -> (Dx, &'static [Dx]) {
    if chronic.kind == Kind::BreastCancer && !female {
        return (MALE_BREAST, &[]);
    }
    let total: f64 = chronic.variants.iter().map(|v| v.weight).sum();
    let mut target = roll * total;
    for variant in chronic.variants {
        if target < variant.weight {
            return (variant.dx, variant.companions);
        }
        target -= variant.weight;
    }
    let last = &chronic.variants[chronic.variants.len() - 1];
    (last.dx, last.companions)
}

/// Chronic kinds active on a date.
pub fn active_kinds(cases: &[Case], on: NaiveDate) -> Vec<Kind> {
    cases
        .iter()
        .filter(|c| c.onset <= on)
        .map(|c| c.kind)
        .collect()
}

fn at(rng: &mut Rng, date: NaiveDate, first_hour: i64, last_hour: i64) -> NaiveDateTime {
    let minutes = rng.range(first_hour * 4, last_hour * 4) * 15;
    let time = NaiveTime::from_hms_opt((minutes / 60) as u32, (minutes % 60) as u32, 0)
        .unwrap_or_default();
    date.and_time(time)
}

fn random_day(rng: &mut Rng, from: NaiveDate, to: NaiveDate) -> NaiveDate {
    add_days(from, rng.range(0, (to - from).num_days()))
}

/// Plans the visits of a patient in `[window_start, as_of]`; `visit_scale` thins the
/// history of duplicate registrations.
pub fn plan_visits(
    rng: &mut Rng,
    person: &Person,
    cases: &[Case],
    window_start: NaiveDate,
    as_of: NaiveDate,
    visit_scale: f64,
) -> Vec<Visit> {
    let from = window_start.max(add_days(person.birth, 1));
    if from >= as_of {
        return Vec::new();
    }
    let years = (as_of - from).num_days() as f64 / 365.25;
    let age_now = age_at(person.birth, as_of);
    let base_rate = if age_now < 2.0 {
        3.0
    } else if age_now < 18.0 {
        1.0
    } else if age_now < 45.0 {
        0.9
    } else if age_now < 65.0 {
        1.6
    } else {
        2.8
    };
    let rate = base_rate + 0.5 * cases.len().min(6) as f64;
    let count = ((rate * years * (0.5 + rng.unit())) * visit_scale).round() as usize;
    let mut visits = Vec::new();
    for _ in 0..count.min(MAX_VISITS) {
        let day = random_day(rng, from, as_of);
        let active: Vec<usize> = (0..cases.len())
            .filter(|&i| cases[i].onset <= day)
            .collect();
        let reason = if !active.is_empty() && rng.chance(0.65) {
            Reason::FollowUp(*rng.pick(&active))
        } else {
            let age = age_at(person.birth, day);
            let weights: Vec<f64> = ACUTE
                .iter()
                .map(|a| (a.weight)(age, person.female))
                .collect();
            Reason::Acute(&ACUTE[rng.weighted(&weights)])
        };
        push_ambulatory(rng, &mut visits, day, reason);
    }
    for (i, case) in cases.iter().enumerate() {
        if case.onset >= from && visit_scale >= 1.0 {
            let day = add_days(case.onset, rng.range(0, 14)).min(as_of);
            push_ambulatory(rng, &mut visits, day, Reason::FollowUp(i));
            if let Some(surgery) = cancer_surgery(case.dx.code) {
                if rng.chance(0.7) {
                    let admit = add_days(day, rng.range(14, 60));
                    push_stay(
                        rng,
                        &mut visits,
                        admit,
                        (2, 5),
                        Reason::CancerSurgery(i, surgery),
                        as_of,
                    );
                }
            }
        }
    }
    plan_stays(rng, person, cases, from, as_of, visit_scale, &mut visits);
    visits.sort_by_key(|v| v.start);
    visits
}

fn plan_stays(
    rng: &mut Rng,
    person: &Person,
    cases: &[Case],
    from: NaiveDate,
    as_of: NaiveDate,
    visit_scale: f64,
    visits: &mut Vec<Visit>,
) {
    let mut year_start = from;
    while year_start < as_of {
        let year_end = add_days(year_start, 365).min(as_of);
        let fraction = (year_end - year_start).num_days() as f64 / 365.0 * visit_scale;
        let age = age_at(person.birth, year_start);
        if age >= 18.0 && rng.chance((if person.female { 0.003 } else { 0.001 }) * fraction) {
            let day = random_day(rng, year_start, year_end);
            push_ambulatory(rng, visits, day, Reason::Abuse);
        }
        let active = active_kinds(cases, year_start);
        let risk = Risk {
            age,
            female: person.female,
            active: &active,
        };
        for stay in STAYS {
            if !rng.chance((stay.hazard)(&risk) * fraction) {
                continue;
            }
            let principal = principal_index(rng, stay, cases);
            let procedure = if rng.chance(stay.procedure_rate) && !stay.procedures.is_empty() {
                let i = if stay.per_principal {
                    principal.min(stay.procedures.len() - 1)
                } else {
                    rng.below(stay.procedures.len())
                };
                Some(stay.procedures[i])
            } else {
                None
            };
            let admit = random_day(rng, year_start, year_end);
            push_stay(
                rng,
                visits,
                admit,
                stay.los,
                Reason::Stay(stay, principal, procedure),
                as_of,
            );
        }
        year_start = year_end;
    }
}

/// Knee replacement follows the side of the patient's osteoarthritis; others are drawn.
fn principal_index(rng: &mut Rng, stay: &Stay, cases: &[Case]) -> usize {
    let side = cases
        .iter()
        .find(|c| c.kind == Kind::KneeOsteoarthritis)
        .map(|c| c.dx.code);
    match (stay.name, side) {
        ("knee replacement", Some("M17.12")) => 1,
        ("knee replacement", Some("M17.11")) => 0,
        _ => rng.below(stay.principal.len()),
    }
}

fn push_ambulatory(rng: &mut Rng, visits: &mut Vec<Visit>, day: NaiveDate, reason: Reason) {
    let start = at(rng, day, 8, 16);
    let end = start + chrono::Duration::minutes(rng.range(15, 45));
    visits.push(Visit {
        start,
        end,
        inpatient: false,
        reason,
    });
}

fn push_stay(
    rng: &mut Rng,
    visits: &mut Vec<Visit>,
    admit: NaiveDate,
    los: (i64, i64),
    reason: Reason,
    as_of: NaiveDate,
) {
    let discharge = add_days(admit, rng.range(los.0, los.1));
    let start = at(rng, admit, 0, 23);
    let end = at(rng, discharge, 10, 15);
    if discharge < as_of && end > start {
        visits.push(Visit {
            start,
            end,
            inpatient: true,
            reason,
        });
    }
}
