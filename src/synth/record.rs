//! Turns one patient's plan into a FHIR transaction bundle: Patient first, then each
//! encounter in time order followed by the conditions, observations, prescriptions,
//! procedures and discharge summary it produced. Seeded errors are applied here and
//! reported in the patient's annotations.

use chrono::{Duration, NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use super::annotations::{DuplicatePair, PatientAnnotations, SeededIssue, SensitiveRecord};
use super::catalog::{Dx, Kind, Med, AMLODIPINE, ENOXAPARIN, INSULIN};
use super::events::{Pcs, ABUSE, ASSAULT, HOSPITAL_UTI};
use super::fhir::{post_entry, urn};
use super::person::{duplicate_source, make_duplicate, person, Person};
use super::physio::{Physiology, Treatment};
use super::providers::Providers;
use super::resources::{self, ConditionFields, DiagnosisLine, EncounterFields};
use super::rng::Rng;
use super::seeding;
use super::timeline::{age_at, chronic_cases, plan_visits, Case, Reason, Visit};
use super::{PatientBundle, SynthConfig};

const STREAM_RECORD: u64 = 20;

/// Shared inputs of every patient record.
pub struct RecordContext<'a> {
    /// Configuration.
    pub cfg: &'a SynthConfig,
    /// Providers of the population.
    pub providers: &'a Providers,
    /// First day of the activity window.
    pub window_start: NaiveDate,
    /// Last day of the activity window; ages are measured here.
    pub as_of: NaiveDate,
}

/// A Condition decided for an encounter, rendered once seeding is done.
pub(super) struct NewCondition {
    pub uuid: String,
    pub dx: Dx,
    pub onset: Option<NaiveDateTime>,
    pub abatement: Option<NaiveDateTime>,
    pub problem_list: bool,
    pub security: Option<&'static str>,
}

/// The diagnosis list of an encounter under construction.
pub(super) struct Coding {
    pub lines: Vec<(String, Dx, Option<&'static str>)>,
    pub first_rank: usize,
    pub conditions: Vec<NewCondition>,
}

struct Builder<'a> {
    ctx: &'a RecordContext<'a>,
    person: Person,
    cases: Vec<Case>,
    rng: Rng,
    entries: Vec<Value>,
    ann: PatientAnnotations,
    hospital: usize,
    pcp: usize,
    case_conditions: Vec<Option<String>>,
    case_companions: Vec<Vec<(String, Dx)>>,
    medicated: Vec<bool>,
    tx: Treatment,
    physio: Physiology,
    seq: usize,
}

/// Builds the record at `index` of the population.
pub fn build_patient(ctx: &RecordContext, index: usize) -> PatientBundle {
    let seed = ctx.cfg.seed;
    let mut ann = PatientAnnotations::default();
    let (person, clinical_index, scale) = match duplicate_source(seed, index) {
        Some(original_index) => {
            let original = person(seed, original_index, ctx.as_of);
            let (dup, variations) = make_duplicate(seed, index, &original);
            ann.duplicate_of = Some(DuplicatePair {
                original_key: original.key.clone(),
                duplicate_key: dup.key.clone(),
                original: urn(&original.uuid),
                duplicate: urn(&dup.uuid),
                original_mrn: original.mrn.clone(),
                duplicate_mrn: dup.mrn.clone(),
                variations: variations.iter().map(|v| v.to_string()).collect(),
            });
            (dup, original_index, 0.3)
        }
        None => (person(seed, index, ctx.as_of), index, 1.0),
    };
    let cases = chronic_cases(seed, clinical_index, &person, ctx.as_of);
    let mut rng = Rng::stream(seed, &[STREAM_RECORD, index as u64]);
    let visits = plan_visits(
        &mut rng,
        &person,
        &cases,
        ctx.window_start,
        ctx.as_of,
        scale,
    );
    let physio = Physiology::new(&mut rng, person.female, &cases);
    let hospital = ctx.providers.hospital_for(person.city);
    let pcp = rng.below(ctx.providers.staff(hospital).len());
    let n = cases.len();
    let mut b = Builder {
        ctx,
        person,
        cases,
        rng,
        entries: Vec::with_capacity(16 + visits.len() * 6),
        ann,
        hospital,
        pcp,
        case_conditions: vec![None; n],
        case_companions: vec![Vec::new(); n],
        medicated: vec![false; n],
        tx: Treatment::default(),
        physio,
        seq: 0,
    };
    let pcp_ref = b.clinician_ref(pcp);
    let patient = resources::patient(&b.person, pcp_ref, ctx.providers.org_ref(hospital));
    b.entries.push(post_entry(&b.person.uuid, patient));
    for visit in &visits {
        b.visit(visit);
    }
    PatientBundle {
        patient_key: b.person.key.clone(),
        bundle: json!({"resourceType": "Bundle", "type": "transaction", "entry": b.entries}),
        annotations: b.ann,
    }
}

impl Builder<'_> {
    fn clinician_ref(&self, k: usize) -> Value {
        let staff = self.ctx.providers.staff(self.hospital);
        staff
            .get(k)
            .map_or(Value::Null, Providers::practitioner_ref)
    }

    fn visit(&mut self, v: &Visit) {
        self.seq += 1;
        let enc = self.rng.uuid();
        let identifier = format!("{}-e{:03}", self.person.key, self.seq);
        let staff_len = self.ctx.providers.staff(self.hospital).len();
        let attending = if v.inpatient {
            self.rng.below(staff_len)
        } else {
            self.pcp
        };
        let mut coding = Coding {
            lines: Vec::new(),
            first_rank: 1,
            conditions: Vec::new(),
        };
        self.reconcile_chronic(v, &mut coding);
        self.principal_and_secondaries(v, &mut coding);
        let issue = |edit: &str,
                     condition: Option<String>,
                     code: Option<String>,
                     detail: String| SeededIssue {
            edit_id: edit.to_string(),
            patient_key: self.person.key.clone(),
            patient: urn(&self.person.uuid),
            encounter: urn(&enc),
            encounter_identifier: identifier.clone(),
            encounter_class: if v.inpatient { "IMP" } else { "AMB" }.to_string(),
            condition,
            code,
            detail,
        };
        let mut gaps = Vec::new();
        let mut errors = Vec::new();
        for c in &coding.conditions {
            if c.problem_list && c.onset.is_none() {
                gaps.push(issue(
                    "condition-missing-onset",
                    Some(urn(&c.uuid)),
                    Some(c.dx.code.to_string()),
                    "chronic condition recorded without onset".into(),
                ));
            }
        }
        if v.inpatient && self.rng.chance(self.ctx.cfg.error_rate) {
            let age = age_at(self.person.birth, v.start.date());
            if let Some(seeded) = seeding::seed_error(&mut self.rng, &mut coding, age) {
                errors.push(issue(
                    seeded.edit_id,
                    seeded.condition.map(|u| urn(&u)),
                    seeded.code,
                    seeded.detail,
                ));
            }
        }
        let summary_missing = v.inpatient && self.rng.chance(self.ctx.cfg.error_rate);
        if summary_missing {
            gaps.push(issue(
                "missing-discharge-summary",
                None,
                None,
                "inpatient stay without discharge summary".into(),
            ));
        }
        self.ann.seeded_errors.extend(errors);
        self.ann.documentation_gaps.extend(gaps);

        let lines: Vec<DiagnosisLine> = coding
            .lines
            .iter()
            .map(|(uuid, _, poa)| DiagnosisLine {
                condition: uuid.clone(),
                poa: if v.inpatient { *poa } else { None },
            })
            .collect();
        let fields = EncounterFields {
            uuid: &enc,
            identifier: &identifier,
            patient: &self.person.uuid,
            inpatient: v.inpatient,
            start: v.start,
            end: v.end,
            attending: self.clinician_ref(attending),
            provider: self.ctx.providers.org_ref(self.hospital),
            diagnoses: &lines,
            first_rank: coding.first_rank,
        };
        self.entries
            .push(post_entry(&enc, resources::encounter(&fields)));
        for c in &coding.conditions {
            self.emit_condition(c, &enc, v.start);
        }
        if !v.inpatient {
            self.measure(v, &enc);
        }
        self.prescribe(v, &enc, attending);
        if v.inpatient {
            self.procedures_and_summary(v, &enc, attending, &coding, summary_missing);
        }
    }

    fn emit_condition(&mut self, c: &NewCondition, encounter: &str, recorded: NaiveDateTime) {
        let fields = ConditionFields {
            uuid: &c.uuid,
            dx: c.dx,
            patient: &self.person.uuid,
            encounter,
            onset: c.onset,
            abatement: c.abatement,
            recorded,
            problem_list: c.problem_list,
            security: c.security,
        };
        if let Some(label) = c.security {
            self.ann.sensitive_records.push(SensitiveRecord {
                patient_key: self.person.key.clone(),
                patient: urn(&self.person.uuid),
                resource_type: "Condition".into(),
                resource: urn(&c.uuid),
                id: c.uuid.clone(),
                code: c.dx.code.to_string(),
                labels: vec![label.to_string(), "R".to_string()],
            });
        }
        self.entries
            .push(post_entry(&c.uuid, resources::condition(&fields)));
    }

    /// Records every chronic condition active at this visit that has no Condition yet.
    fn reconcile_chronic(&mut self, v: &Visit, coding: &mut Coding) {
        let day = v.start.date();
        for i in 0..self.cases.len() {
            if self.cases[i].onset > day || self.case_conditions[i].is_some() {
                continue;
            }
            let case = self.cases[i].clone();
            let uuid = self.rng.uuid();
            let onset = (!self.rng.chance(self.ctx.cfg.error_rate / 2.0))
                .then(|| case.onset.and_hms_opt(0, 0, 0).unwrap_or(v.start));
            coding.conditions.push(NewCondition {
                uuid: uuid.clone(),
                dx: case.dx,
                onset,
                abatement: None,
                problem_list: true,
                security: case.security,
            });
            self.case_conditions[i] = Some(uuid);
            for companion in case.companions {
                let cu = self.rng.uuid();
                let onset = case.onset.and_hms_opt(0, 0, 0);
                coding.conditions.push(NewCondition {
                    uuid: cu.clone(),
                    dx: *companion,
                    onset,
                    abatement: None,
                    problem_list: true,
                    security: None,
                });
                self.case_companions[i].push((cu, *companion));
            }
        }
    }

    fn new_condition(
        &mut self,
        coding: &mut Coding,
        dx: Dx,
        v: &Visit,
        resolved: bool,
        security: Option<&'static str>,
    ) -> String {
        let uuid = self.rng.uuid();
        let abatement = resolved.then_some(v.end);
        coding.conditions.push(NewCondition {
            uuid: uuid.clone(),
            dx,
            onset: Some(v.start),
            abatement,
            problem_list: false,
            security,
        });
        uuid
    }

    fn principal_and_secondaries(&mut self, v: &Visit, coding: &mut Coding) {
        let exempt = |dx: &Dx| {
            matches!(
                dx.code.as_bytes().first(),
                Some(b'Z' | b'V' | b'W' | b'X' | b'Y')
            )
        };
        let mut principal_case = None;
        let mut event_lines: Vec<(String, Dx)> = Vec::new();
        let principal: (String, Dx) = match &v.reason {
            Reason::FollowUp(i) => {
                principal_case = Some(*i);
                let uuid = self.case_conditions[*i].clone().unwrap_or_default();
                (uuid, self.cases[*i].dx)
            }
            Reason::Acute(a) => {
                let uuid = self.new_condition(coding, a.dx, v, true, None);
                if let Some(cause) = a.external_cause {
                    event_lines.push((self.new_condition(coding, cause, v, true, None), cause));
                }
                (uuid, a.dx)
            }
            Reason::Abuse => {
                let uuid = self.new_condition(coding, ABUSE, v, true, Some("SDV"));
                event_lines.push((self.new_condition(coding, ASSAULT, v, true, None), ASSAULT));
                (uuid, ABUSE)
            }
            Reason::Stay(stay, pi, _) => {
                let dx = stay.principal[(*pi).min(stay.principal.len() - 1)];
                let uuid = self.new_condition(coding, dx, v, stay.name != "knee replacement", None);
                for extra in stay.secondaries {
                    event_lines.push((self.new_condition(coding, *extra, v, true, None), *extra));
                }
                if !stay.external_causes.is_empty() {
                    let cause = *self.rng.pick(stay.external_causes);
                    event_lines.push((self.new_condition(coding, cause, v, true, None), cause));
                }
                (uuid, dx)
            }
            Reason::CancerSurgery(i, _) => {
                principal_case = Some(*i);
                let dx = self.cases[*i].dx;
                (self.new_condition(coding, dx, v, false, None), dx)
            }
        };
        let category = principal.1.code.get(..3).unwrap_or_default().to_string();
        coding.lines.push((principal.0, principal.1, Some("y")));
        for (uuid, dx) in event_lines {
            coding
                .lines
                .push((uuid, dx, if exempt(&dx) { None } else { Some("y") }));
        }
        let cap = if v.inpatient { 8 } else { 4 };
        let mut added = 0;
        for i in 0..self.cases.len() {
            if added >= cap
                || Some(i) == principal_case
                || self.cases[i].dx.code.starts_with(&category)
            {
                continue;
            }
            let Some(uuid) = self.case_conditions[i].clone() else {
                continue;
            };
            let poa = match self.rng.unit() {
                r if r < 0.03 => "u",
                r if r < 0.04 => "w",
                _ => "y",
            };
            coding.lines.push((uuid, self.cases[i].dx, Some(poa)));
            for (cu, cdx) in self.case_companions[i].clone() {
                coding.lines.push((cu, cdx, Some("y")));
            }
            added += 1;
        }
        if v.inpatient && category != "N39" && self.rng.chance(0.03) {
            let uuid = self.new_condition(coding, HOSPITAL_UTI, v, true, None);
            coding.lines.push((uuid, HOSPITAL_UTI, Some("n")));
        }
    }

    fn active(&self, kind: Kind, day: NaiveDate) -> Option<usize> {
        self.cases
            .iter()
            .position(|c| c.kind == kind && c.onset <= day)
            .filter(|&i| self.case_conditions[i].is_some())
    }

    fn measure(&mut self, v: &Visit, enc: &str) {
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
                (
                    "29463-7",
                    "Body weight",
                    super::fhir::decimal(weight, 1),
                    "kg",
                ),
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
                        super::fhir::decimal(bmi, 1),
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
                    super::fhir::decimal(a1c, 1),
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

    fn escalate(&mut self, v: &Visit, enc: &str, med: Med, kind: Kind) {
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
    fn prescribe(&mut self, v: &Visit, enc: &str, prescriber: usize) {
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

    fn procedures_and_summary(
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
