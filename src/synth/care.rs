//! Care delivered at an encounter: vital signs and HbA1c from the patient's physiology,
//! prescriptions (first-line and escalation when targets are missed), procedures within
//! the stay and the discharge summary.

use chrono::{Duration, NaiveDate};
use serde_json::{json, Value};

use super::catalog::{Kind, Med, AMLODIPINE, ENOXAPARIN, INSULIN};
use super::events::Pcs;
use super::fhir::{decimal, post_entry};
use super::record::{Builder, Coding};
use super::resources;
use super::timeline::{age_at, Reason, Visit};

impl Builder<'_> {
    pub(super) fn active(&self, kind: Kind, day: NaiveDate) -> Option<usize> {
        self.cases
            .iter()
            .position(|c| c.kind == kind && c.onset <= day)
            .filter(|&i| self.case_conditions[i].is_some())
    }

    pub(super) fn measure(&mut self, v: &Visit, enc: &str) {
        let day = v.start.date();
        let age = age_at(self.person.birth, day);
        let patient = self.person.uuid.clone();
        if age >= 18.0 {
            let hypertensive = self.active(Kind::Hypertension, day).is_some();
            let (sys, dia) = self
                .physio
                .blood_pressure(&mut self.rng, day, hypertensive, &self.tx);
            let uuid = self.rng.uuid();
            let obs = resources::observation(
                &uuid,
                &patient,
                enc,
                v.start,
                "vital-signs",
                (
                    "85354-9",
                    "Blood pressure panel with all children optional",
                    Value::Null,
                    "",
                ),
                &[
                    (
                        "8480-6",
                        "Systolic blood pressure",
                        json!(sys as i64),
                        "mm[Hg]",
                    ),
                    (
                        "8462-4",
                        "Diastolic blood pressure",
                        json!(dia as i64),
                        "mm[Hg]",
                    ),
                ],
            );
            self.entries.push(post_entry(&uuid, obs));
            if hypertensive
                && sys >= 145.0
                && self.tx.amlodipine.is_none()
                && self
                    .tx
                    .lisinopril
                    .is_some_and(|s| (day - s).num_days() >= 90)
            {
                self.tx.amlodipine = Some(day);
                self.escalate(v, enc, AMLODIPINE, Kind::Hypertension);
            }
        }
        if age >= 2.0 && self.rng.chance(0.5) {
            let (weight, bmi) = self.physio.weight_and_bmi(&mut self.rng, age);
            let uuid = self.rng.uuid();
            let obs = resources::observation(
                &uuid,
                &patient,
                enc,
                v.start,
                "vital-signs",
                ("29463-7", "Body weight", decimal(weight, 1), "kg"),
                &[],
            );
            self.entries.push(post_entry(&uuid, obs));
            if let Some(bmi) = bmi {
                let uuid = self.rng.uuid();
                let obs = resources::observation(
                    &uuid,
                    &patient,
                    enc,
                    v.start,
                    "vital-signs",
                    (
                        "39156-5",
                        "Body mass index (BMI) [Ratio]",
                        decimal(bmi, 1),
                        "kg/m2",
                    ),
                    &[],
                );
                self.entries.push(post_entry(&uuid, obs));
            }
        }
        let diabetic = self.active(Kind::Diabetes, day).is_some();
        if diabetic || (age >= 45.0 && self.rng.chance(0.15)) {
            let a1c = self.physio.hba1c(&mut self.rng, day, diabetic, &self.tx);
            let uuid = self.rng.uuid();
            let obs = resources::observation(
                &uuid,
                &patient,
                enc,
                v.start,
                "laboratory",
                (
                    "4548-4",
                    "Hemoglobin A1c/Hemoglobin.total in Blood",
                    decimal(a1c, 1),
                    "%",
                ),
                &[],
            );
            self.entries.push(post_entry(&uuid, obs));
            if diabetic
                && a1c >= 8.5
                && self.tx.insulin.is_none()
                && self
                    .tx
                    .metformin
                    .is_some_and(|s| (day - s).num_days() >= 180)
            {
                self.tx.insulin = Some(day);
                self.escalate(v, enc, INSULIN, Kind::Diabetes);
            }
        }
    }

    pub(super) fn escalate(&mut self, v: &Visit, enc: &str, med: Med, kind: Kind) {
        let Some(reason) = self
            .active(kind, v.start.date())
            .and_then(|i| self.case_conditions[i].clone())
        else {
            return;
        };
        let uuid = self.rng.uuid();
        let mr = resources::medication_request(
            &uuid,
            med,
            &self.person.uuid,
            enc,
            v.start,
            self.clinician_ref(self.pcp),
            &reason,
        );
        self.entries.push(post_entry(&uuid, mr));
    }

    /// Starts first-line drugs for chronic conditions recorded and not yet treated.
    pub(super) fn prescribe(&mut self, v: &Visit, enc: &str, prescriber: usize) {
        let day = v.start.date();
        for i in 0..self.cases.len() {
            let Some(reason) = self.case_conditions[i].clone() else {
                continue;
            };
            if self.medicated[i] || self.cases[i].meds.is_empty() {
                continue;
            }
            self.medicated[i] = true;
            match self.cases[i].kind {
                Kind::Hypertension => self.tx.lisinopril = Some(day),
                Kind::Diabetes => self.tx.metformin = Some(day),
                _ => {}
            }
            for med in self.cases[i].meds {
                let uuid = self.rng.uuid();
                let mr = resources::medication_request(
                    &uuid,
                    *med,
                    &self.person.uuid,
                    enc,
                    v.start,
                    self.clinician_ref(prescriber),
                    &reason,
                );
                self.entries.push(post_entry(&uuid, mr));
            }
        }
    }

    pub(super) fn procedures_and_summary(
        &mut self,
        v: &Visit,
        enc: &str,
        attending: usize,
        coding: &Coding,
        summary_missing: bool,
    ) {
        let procedure: Option<Pcs> = match &v.reason {
            Reason::Stay(_, _, p) => *p,
            Reason::CancerSurgery(_, p) => Some(*p),
            _ => None,
        };
        let principal = coding
            .conditions
            .iter()
            .find(|c| !c.problem_list)
            .map(|c| c.uuid.clone())
            .unwrap_or_default();
        let stay_hours = (v.end - v.start).num_hours().max(2);
        let mut performed = Vec::new();
        if let Some(code) = procedure {
            let uuid = self.rng.uuid();
            let at = v.start + Duration::hours(self.rng.range(1, (stay_hours - 1).max(1)));
            let surgeon = self
                .rng
                .below(self.ctx.providers.staff(self.hospital).len());
            let p = resources::procedure(
                &uuid,
                code,
                &self.person.uuid,
                enc,
                at,
                self.clinician_ref(surgeon),
                &principal,
            );
            self.entries.push(post_entry(&uuid, p));
            performed.push(format!("{} {}", code.code, code.display));
            if code.code.starts_with("0SR") {
                // Joint replacement: thromboprophylaxis.
                let uuid = self.rng.uuid();
                let mr = resources::medication_request(
                    &uuid,
                    ENOXAPARIN,
                    &self.person.uuid,
                    enc,
                    at,
                    self.clinician_ref(surgeon),
                    &principal,
                );
                self.entries.push(post_entry(&uuid, mr));
            }
        }
        if summary_missing {
            return;
        }
        let (code, display) = coding
            .lines
            .first()
            .map_or(("none", "not recorded"), |(_, dx, _)| (dx.code, dx.display));
        let text = format!(
            "DISCHARGE SUMMARY\nPatient: {} {} (MRN {})\nAdmitted: {}\nDischarged: {}\nPrincipal diagnosis: {} {}\nProcedures: {}\nCondition at discharge: stable. Discharged home with follow-up in primary care.\n",
            self.person.given,
            self.person.family,
            self.person.mrn,
            v.start.format("%Y-%m-%d %H:%M"),
            v.end.format("%Y-%m-%d %H:%M"),
            code,
            display,
            if performed.is_empty() { "none".to_string() } else { performed.join("; ") },
        );
        let uuid = self.rng.uuid();
        let doc = resources::discharge_summary(&resources::SummaryFields {
            uuid: &uuid,
            patient: &self.person.uuid,
            encounter: enc,
            start: v.start,
            end: v.end,
            author: self.clinician_ref(attending),
            custodian: self.ctx.providers.org_ref(self.hospital),
            text: &text,
        });
        self.entries.push(post_entry(&uuid, doc));
    }
}
