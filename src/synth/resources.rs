//! FHIR R4 resource builders for a patient bundle: Patient, Encounter (with billing
//! diagnoses and present-on-admission), Condition, Observation, MedicationRequest,
//! Procedure and DocumentReference. They shape JSON only; the story is decided elsewhere.

use chrono::NaiveDateTime;
use serde_json::{json, Map, Value};

use super::catalog::{Dx, Med};
use super::events::Pcs;
use super::fhir::{self, concept, concept_bare, instant, local_ref, ICD10CM, LOINC, UCUM};
use super::geo::STATES;
use super::person::Person;

/// The Patient resource.
pub fn patient(p: &Person, general_practitioner: Value, organization: Value) -> Value {
    let st = &STATES[p.city.state];
    let mut identifiers = vec![json!({
        "type": concept("http://terminology.hl7.org/CodeSystem/v2-0203", "MR", "Medical Record Number"),
        "system": fhir::MRN,
        "value": p.mrn
    })];
    if let Some(ssn) = &p.ssn {
        identifiers.push(json!({
            "type": concept("http://terminology.hl7.org/CodeSystem/v2-0203", "SS", "Social Security number"),
            "system": fhir::SSN,
            "value": ssn
        }));
    }
    json!({
        "resourceType": "Patient",
        "id": p.uuid,
        "identifier": identifiers,
        "active": true,
        "name": [{"use": "official", "family": p.family, "given": [p.given]}],
        "telecom": [{"system": "phone", "value": p.phone, "use": "home"}],
        "gender": if p.female { "female" } else { "male" },
        "birthDate": p.birth.format("%Y-%m-%d").to_string(),
        "address": [{"use": "home", "line": [p.line], "city": st.cities[p.city.city].0, "state": st.code, "postalCode": p.zip, "country": "US"}],
        "generalPractitioner": [general_practitioner],
        "managingOrganization": organization
    })
}

/// One line of Encounter.diagnosis.
pub struct DiagnosisLine {
    /// UUID of the Condition entry.
    pub condition: String,
    /// Present-on-admission indicator (`y`, `n`, `u`, `w`), inpatient only.
    pub poa: Option<&'static str>,
}

/// What an Encounter needs.
pub struct EncounterFields<'a> {
    /// Entry UUID.
    pub uuid: &'a str,
    /// Stable identifier value.
    pub identifier: &'a str,
    /// Patient entry UUID.
    pub patient: &'a str,
    /// Inpatient.
    pub inpatient: bool,
    /// Period.
    pub start: NaiveDateTime,
    /// Period end.
    pub end: NaiveDateTime,
    /// Attending clinician reference.
    pub attending: Value,
    /// Hospital reference.
    pub provider: Value,
    /// Billing diagnoses; the rank is the position in this list plus `first_rank`.
    pub diagnoses: &'a [DiagnosisLine],
    /// Rank of the first line (2 when the principal is missing).
    pub first_rank: usize,
}

/// The Encounter resource.
pub fn encounter(f: &EncounterFields) -> Value {
    let period = json!({"start": instant(f.start), "end": instant(f.end)});
    let diagnosis: Vec<Value> = f
        .diagnoses
        .iter()
        .enumerate()
        .map(|(i, line)| {
            let mut d = Map::new();
            if let Some(poa) = line.poa {
                d.insert(
                    "extension".into(),
                    json!([{"url": fhir::POA_EXTENSION, "valueCodeableConcept": concept_bare(fhir::POA_SYSTEM, poa)}]),
                );
            }
            d.insert("condition".into(), local_ref(&line.condition));
            d.insert("use".into(), concept("http://terminology.hl7.org/CodeSystem/diagnosis-role", "billing", "Billing"));
            d.insert("rank".into(), json!(i + f.first_rank));
            Value::Object(d)
        })
        .collect();
    let (class, class_display) = if f.inpatient {
        ("IMP", "inpatient encounter")
    } else {
        ("AMB", "ambulatory")
    };
    let mut e = json!({
        "resourceType": "Encounter",
        "id": f.uuid,
        "identifier": [{"system": fhir::ENCOUNTER_ID, "value": f.identifier}],
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": class_display},
        "subject": local_ref(f.patient),
        "participant": [{
            "type": [concept("http://terminology.hl7.org/CodeSystem/v3-ParticipationType", "ATND", "attender")],
            "period": period,
            "individual": f.attending
        }],
        "period": period,
        "diagnosis": diagnosis
    });
    if f.inpatient {
        e["hospitalization"] = json!({
            "dischargeDisposition": concept("http://terminology.hl7.org/CodeSystem/discharge-disposition", "home", "Home")
        });
    }
    e["serviceProvider"] = f.provider.clone();
    e
}

/// What a Condition needs.
pub struct ConditionFields<'a> {
    /// Entry UUID.
    pub uuid: &'a str,
    /// Code.
    pub dx: Dx,
    /// Patient entry UUID.
    pub patient: &'a str,
    /// Encounter entry UUID.
    pub encounter: &'a str,
    /// Onset (absent for the seeded documentation gap).
    pub onset: Option<NaiveDateTime>,
    /// Resolved at this time (acute problems), else active.
    pub abatement: Option<NaiveDateTime>,
    /// Recorded at.
    pub recorded: NaiveDateTime,
    /// Problem-list item rather than encounter diagnosis.
    pub problem_list: bool,
    /// Sensitivity label (v3-ActCode), which also makes the record restricted.
    pub security: Option<&'a str>,
}

/// The Condition resource.
pub fn condition(f: &ConditionFields) -> Value {
    let mut c = json!({"resourceType": "Condition", "id": f.uuid});
    if let Some(label) = f.security {
        c["meta"] = json!({"security": [
            fhir::coding(fhir::ACT_CODE, label, security_display(label)),
            fhir::coding(fhir::CONFIDENTIALITY, "R", "restricted")
        ]});
    }
    let status = if f.abatement.is_some() {
        "resolved"
    } else {
        "active"
    };
    c["clinicalStatus"] = concept_bare(
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        status,
    );
    c["verificationStatus"] = concept_bare(
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        "confirmed",
    );
    let (category, category_display) = if f.problem_list {
        ("problem-list-item", "Problem List Item")
    } else {
        ("encounter-diagnosis", "Encounter Diagnosis")
    };
    c["category"] = json!([concept(
        "http://terminology.hl7.org/CodeSystem/condition-category",
        category,
        category_display
    )]);
    c["code"] = concept(ICD10CM, f.dx.code, f.dx.display);
    c["subject"] = local_ref(f.patient);
    c["encounter"] = local_ref(f.encounter);
    if let Some(onset) = f.onset {
        c["onsetDateTime"] = json!(instant(onset));
    }
    if let Some(abatement) = f.abatement {
        c["abatementDateTime"] = json!(instant(abatement));
    }
    c["recordedDate"] = json!(instant(f.recorded));
    c
}

fn security_display(label: &str) -> &'static str {
    match label {
        "PSY" => "psychiatry disorder information sensitivity",
        "ETH" => "substance abuse information sensitivity",
        "HIV" => "HIV/AIDS information sensitivity",
        "SDV" => "sexual assault, abuse, or domestic violence information sensitivity",
        _ => "information sensitivity",
    }
}

/// A LOINC-coded measurement: (code, display, value, UCUM unit).
pub type Measure<'a> = (&'a str, &'a str, Value, &'a str);

/// An Observation with a single quantity, or with components when `components` is set.
pub fn observation(
    uuid: &str,
    patient: &str,
    encounter: &str,
    at: NaiveDateTime,
    category: &str,
    code: Measure,
    components: &[Measure],
) -> Value {
    let (loinc, display, value, unit) = code;
    let category_display = if category == "vital-signs" {
        "Vital Signs"
    } else {
        "Laboratory"
    };
    let mut o = json!({
        "resourceType": "Observation",
        "id": uuid,
        "status": "final",
        "category": [concept("http://terminology.hl7.org/CodeSystem/observation-category", category, category_display)],
        "code": concept(LOINC, loinc, display),
        "subject": local_ref(patient),
        "encounter": local_ref(encounter),
        "effectiveDateTime": instant(at),
        "issued": instant(at)
    });
    if components.is_empty() {
        o["valueQuantity"] = json!({"value": value, "unit": unit, "system": UCUM, "code": unit});
    } else {
        let parts: Vec<Value> = components
            .iter()
            .map(|(c, d, v, u)| json!({"code": concept(LOINC, c, d), "valueQuantity": {"value": v, "unit": u, "system": UCUM, "code": u}}))
            .collect();
        o["component"] = Value::Array(parts);
    }
    o
}

/// A MedicationRequest.
pub fn medication_request(
    uuid: &str,
    med: Med,
    patient: &str,
    encounter: &str,
    at: NaiveDateTime,
    requester: Value,
    reason: &str,
) -> Value {
    json!({
        "resourceType": "MedicationRequest",
        "id": uuid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": concept(fhir::RXNORM, med.rxnorm, med.display),
        "subject": local_ref(patient),
        "encounter": local_ref(encounter),
        "authoredOn": instant(at),
        "requester": requester,
        "reasonReference": [local_ref(reason)]
    })
}

/// A Procedure coded in ICD-10-PCS.
pub fn procedure(
    uuid: &str,
    code: Pcs,
    patient: &str,
    encounter: &str,
    at: NaiveDateTime,
    performer: Value,
    reason: &str,
) -> Value {
    json!({
        "resourceType": "Procedure",
        "id": uuid,
        "status": "completed",
        "code": concept(fhir::ICD10PCS, code.code, code.display),
        "subject": local_ref(patient),
        "encounter": local_ref(encounter),
        "performedDateTime": instant(at),
        "performer": [{"actor": performer}],
        "reasonReference": [local_ref(reason)]
    })
}

/// What a discharge summary needs.
pub struct SummaryFields<'a> {
    /// Entry UUID.
    pub uuid: &'a str,
    /// Patient entry UUID.
    pub patient: &'a str,
    /// Encounter entry UUID.
    pub encounter: &'a str,
    /// Admission.
    pub start: NaiveDateTime,
    /// Discharge.
    pub end: NaiveDateTime,
    /// Author reference.
    pub author: Value,
    /// Custodian reference.
    pub custodian: Value,
    /// Narrative text.
    pub text: &'a str,
}

/// A discharge-summary DocumentReference.
pub fn discharge_summary(f: &SummaryFields) -> Value {
    json!({
        "resourceType": "DocumentReference",
        "id": f.uuid,
        "status": "current",
        "docStatus": "final",
        "type": concept(LOINC, "18842-5", "Discharge summary"),
        "category": [concept("http://hl7.org/fhir/us/core/CodeSystem/us-core-documentreference-category", "clinical-note", "Clinical Note")],
        "subject": local_ref(f.patient),
        "date": instant(f.end),
        "author": [f.author],
        "custodian": f.custodian,
        "content": [{"attachment": {"contentType": "text/plain; charset=utf-8", "data": fhir::base64(f.text.as_bytes()), "title": "Discharge summary"}}],
        "context": {"encounter": [local_ref(f.encounter)], "period": {"start": instant(f.start), "end": instant(f.end)}}
    })
}
