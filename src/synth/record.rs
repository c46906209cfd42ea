//! Turns one patient's plan into a FHIR transaction bundle: Patient first, then each
//! encounter in time order followed by the conditions, observations, prescriptions,
//! procedures and discharge summary it produced. Seeded errors are applied here and
//! reported in the patient's annotations.

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::{json, Value};

use super::annotations::{DuplicatePair, PatientAnnotations, SeededIssue, SensitiveRecord};
use super::catalog::Dx;
use super::fhir::{post_entry, urn};
use super::person::{duplicate_source, make_duplicate, person, Person};
use super::physio::{Physiology, Treatment};
use super::providers::Providers;
use super::resources::{self, ConditionFields, DiagnosisLine, EncounterFields};
use super::rng::Rng;
use super::seeding;
use super::timeline::{age_at, chronic_cases, plan_visits, Case, Visit};
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

pub(super) struct Builder<'a> {
    pub(super) ctx: &'a RecordContext<'a>,
    pub(super) person: Person,
    pub(super) cases: Vec<Case>,
    pub(super) rng: Rng,
    pub(super) entries: Vec<Value>,
    pub(super) ann: PatientAnnotations,
    pub(super) hospital: usize,
    pub(super) pcp: usize,
    pub(super) case_conditions: Vec<Option<String>>,
    pub(super) case_companions: Vec<Vec<(String, Dx)>>,
    pub(super) medicated: Vec<bool>,
    pub(super) tx: Treatment,
    pub(super) physio: Physiology,
    pub(super) seq: usize,
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
    pub(super) fn clinician_ref(&self, k: usize) -> Value {
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
}
