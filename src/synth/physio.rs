//! Per-patient physiology behind the observations: blood pressure, HbA1c, height, BMI
//! and weight, consistent with the patient's conditions and with treatment (each drug
//! lowers its target value along an exponential approach after `authoredOn`), so
//! treatment response is measurable in the emitted data.

use chrono::NaiveDate;

use super::catalog::Kind;
use super::rng::Rng;
use super::timeline::Case;

/// Dates on which the drugs that move observations were started.
#[derive(Default, Clone, Debug)]
pub struct Treatment {
    /// Lisinopril start.
    pub lisinopril: Option<NaiveDate>,
    /// Amlodipine start.
    pub amlodipine: Option<NaiveDate>,
    /// Metformin start.
    pub metformin: Option<NaiveDate>,
    /// Insulin start.
    pub insulin: Option<NaiveDate>,
}

/// Individual baselines and drug responses.
pub struct Physiology {
    height_m: f64,
    bmi: f64,
    sbp_normal: f64,
    sbp_hypertensive: f64,
    a1c_normal: f64,
    a1c_diabetic: f64,
    lisinopril_drop: f64,
    amlodipine_drop: f64,
    metformin_drop: f64,
    insulin_drop: f64,
}

fn effect(start: Option<NaiveDate>, on: NaiveDate, drop: f64, tau_days: f64) -> f64 {
    match start {
        Some(s) if on >= s => drop * (1.0 - (-((on - s).num_days() as f64) / tau_days).exp()),
        _ => 0.0,
    }
}

impl Physiology {
    /// Draws baselines for a patient.
    pub fn new(rng: &mut Rng, female: bool, cases: &[Case]) -> Self {
        let obesity = cases
            .iter()
            .find(|c| c.kind == Kind::Obesity)
            .map(|c| c.dx.code);
        let bmi = match obesity {
            Some("E66.01") => 40.0 + rng.unit() * 8.0,
            Some(_) => 30.5 + rng.unit() * 9.0,
            None => rng.normal(25.5, 2.6).clamp(18.6, 29.6),
        };
        Physiology {
            height_m: if female {
                rng.normal(1.62, 0.06)
            } else {
                rng.normal(1.76, 0.07)
            },
            bmi,
            sbp_normal: rng.normal(119.0, 7.0).clamp(100.0, 134.0),
            sbp_hypertensive: rng.normal(153.0, 8.0).clamp(140.0, 185.0),
            a1c_normal: rng.normal(5.3, 0.25).clamp(4.6, 5.9),
            a1c_diabetic: rng.normal(8.8, 0.9).clamp(7.3, 12.5),
            lisinopril_drop: rng.normal(13.0, 4.0).clamp(3.0, 25.0),
            amlodipine_drop: rng.normal(9.0, 3.0).clamp(2.0, 18.0),
            metformin_drop: 1.3 * (0.2 + rng.unit() * 1.1),
            insulin_drop: rng.normal(1.0, 0.3).clamp(0.3, 2.0),
        }
    }

    /// Systolic and diastolic pressure (mm[Hg]) on a day.
    pub fn blood_pressure(
        &self,
        rng: &mut Rng,
        on: NaiveDate,
        hypertensive: bool,
        tx: &Treatment,
    ) -> (f64, f64) {
        let base = if hypertensive {
            self.sbp_hypertensive
        } else {
            self.sbp_normal
        };
        let systolic = base
            - effect(tx.lisinopril, on, self.lisinopril_drop, 21.0)
            - effect(tx.amlodipine, on, self.amlodipine_drop, 21.0)
            + rng.normal(0.0, 5.0);
        let diastolic = 0.55 * systolic + rng.normal(12.0, 3.5);
        (systolic.round(), diastolic.round())
    }

    /// HbA1c (%) on a day.
    pub fn hba1c(&self, rng: &mut Rng, on: NaiveDate, diabetic: bool, tx: &Treatment) -> f64 {
        let value = if diabetic {
            self.a1c_diabetic
                - effect(tx.metformin, on, self.metformin_drop, 60.0)
                - effect(tx.insulin, on, self.insulin_drop, 45.0)
        } else {
            self.a1c_normal
        };
        (value + rng.normal(0.0, 0.12)).max(4.2)
    }

    /// Body weight (kg) and, for adults, BMI (kg/m2) at an age.
    pub fn weight_and_bmi(&self, rng: &mut Rng, age: f64) -> (f64, Option<f64>) {
        if age < 18.0 {
            let weight = if age < 10.0 {
                3.5 + age * 3.0
            } else {
                33.5 + (age - 10.0) * 4.5
            };
            return (weight * (1.0 + rng.normal(0.0, 0.06)), None);
        }
        let bmi = self.bmi + rng.normal(0.0, 0.4);
        (bmi * self.height_m * self.height_m, Some(bmi))
    }
}
