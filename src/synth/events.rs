//! Acute episodes: inpatient stays (principal diagnosis, companion codes, ICD-10-PCS
//! procedures, yearly hazard by age/sex/comorbidity, length of stay) and ambulatory
//! reasons for visit. Also the codes the error seeder substitutes.

use super::catalog::{dx, Dx, Kind};

/// An ICD-10-PCS procedure code with its description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pcs {
    /// Seven-character code.
    pub code: &'static str,
    /// Description.
    pub display: &'static str,
}

const fn pcs(code: &'static str, display: &'static str) -> Pcs {
    Pcs { code, display }
}

/// What the hazard function knows about the patient in a given year.
pub struct Risk<'a> {
    /// Age in years at the start of the year.
    pub age: f64,
    /// Female sex.
    pub female: bool,
    /// Chronic conditions active at that time.
    pub active: &'a [Kind],
}

impl Risk<'_> {
    fn has(&self, kind: Kind) -> bool {
        self.active.contains(&kind)
    }
}

/// A kind of inpatient stay.
#[derive(Debug)]
pub struct Stay {
    /// Short name used in ground truth and narratives.
    pub name: &'static str,
    /// Principal diagnosis choices (one is drawn).
    pub principal: &'static [Dx],
    /// Codes always added as secondaries.
    pub secondaries: &'static [Dx],
    /// External cause codes (one drawn and added) for injuries.
    pub external_causes: &'static [Dx],
    /// Procedures: index-aligned with `principal` when `per_principal`, else one drawn.
    pub procedures: &'static [Pcs],
    /// Probability that a procedure is performed.
    pub procedure_rate: f64,
    /// Procedures follow the principal's laterality (same index).
    pub per_principal: bool,
    /// Yearly probability for a patient.
    pub hazard: fn(&Risk) -> f64,
    /// Length of stay range in days.
    pub los: (i64, i64),
}

/// Ventilation procedure added to a share of severe stays.
pub const VENTILATION: Pcs = pcs(
    "5A1945Z",
    "Respiratory Ventilation, 24-96 Consecutive Hours",
);
/// Transfusion performed in some long stays.
pub const TRANSFUSION: Pcs = pcs(
    "30233N1",
    "Transfusion of Nonautologous Red Blood Cells into Peripheral Vein, Percutaneous Approach",
);

fn fertile(r: &Risk) -> f64 {
    if !r.female || r.age < 15.0 || r.age > 44.0 {
        0.0
    } else if (20.0..35.0).contains(&r.age) {
        0.055
    } else {
        0.02
    }
}

/// Inpatient stays driven by yearly hazards.
pub const STAYS: &[Stay] = &[
    Stay {
        name: "vaginal delivery",
        principal: &[dx("O80", "Encounter for full-term uncomplicated delivery")],
        secondaries: &[dx("Z37.0", "Single live birth"), dx("Z3A.39", "39 weeks gestation of pregnancy")],
        external_causes: &[],
        procedures: &[pcs("10E0XZZ", "Delivery of Products of Conception, External Approach")],
        procedure_rate: 1.0,
        per_principal: false,
        hazard: fertile,
        los: (1, 3),
    },
    Stay {
        name: "cesarean delivery",
        principal: &[dx("O82", "Encounter for cesarean delivery without indication")],
        secondaries: &[dx("Z37.0", "Single live birth"), dx("Z3A.39", "39 weeks gestation of pregnancy")],
        external_causes: &[],
        procedures: &[pcs("10D00Z1", "Extraction of Products of Conception, Low, Open Approach")],
        procedure_rate: 1.0,
        per_principal: false,
        hazard: |r| fertile(r) * 0.45,
        los: (2, 4),
    },
    Stay {
        name: "appendicitis",
        principal: &[dx("K35.80", "Unspecified acute appendicitis")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[pcs("0DTJ4ZZ", "Resection of Appendix, Percutaneous Endoscopic Approach")],
        procedure_rate: 0.95,
        per_principal: false,
        hazard: |r| if (5.0..45.0).contains(&r.age) { 0.0015 } else { 0.0005 },
        los: (1, 3),
    },
    Stay {
        name: "cholecystitis",
        principal: &[dx("K80.00", "Calculus of gallbladder with acute cholecystitis without obstruction")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[pcs("0FT44ZZ", "Resection of Gallbladder, Percutaneous Endoscopic Approach")],
        procedure_rate: 0.9,
        per_principal: false,
        hazard: |r| if r.age < 25.0 { 0.0003 } else if r.female { 0.003 } else { 0.0015 },
        los: (1, 3),
    },
    Stay {
        name: "hip fracture",
        principal: &[
            dx("S72.001A", "Fracture of unspecified part of neck of right femur, initial encounter for closed fracture"),
            dx("S72.002A", "Fracture of unspecified part of neck of left femur, initial encounter for closed fracture"),
        ],
        secondaries: &[],
        external_causes: &[
            dx("W01.0XXA", "Fall on same level from slipping, tripping and stumbling without subsequent striking against object, initial encounter"),
            dx("W19.XXXA", "Unspecified fall, initial encounter"),
            dx("W18.30XA", "Fall on same level, unspecified, initial encounter"),
        ],
        procedures: &[
            pcs("0SR9019", "Replacement of Right Hip Joint with Metal on Polyethylene Synthetic Substitute, Cemented, Open Approach"),
            pcs("0SRB019", "Replacement of Left Hip Joint with Metal on Polyethylene Synthetic Substitute, Cemented, Open Approach"),
        ],
        procedure_rate: 0.85,
        per_principal: true,
        hazard: |r| if r.age >= 80.0 { 0.015 } else if r.age >= 65.0 { 0.006 } else { 0.0002 },
        los: (3, 7),
    },
    Stay {
        name: "knee replacement",
        principal: &[
            dx("M17.11", "Unilateral primary osteoarthritis, right knee"),
            dx("M17.12", "Unilateral primary osteoarthritis, left knee"),
        ],
        secondaries: &[],
        external_causes: &[],
        procedures: &[
            pcs("0SRC0J9", "Replacement of Right Knee Joint with Synthetic Substitute, Cemented, Open Approach"),
            pcs("0SRD0J9", "Replacement of Left Knee Joint with Synthetic Substitute, Cemented, Open Approach"),
        ],
        procedure_rate: 1.0,
        per_principal: true,
        hazard: |r| if r.has(Kind::KneeOsteoarthritis) { 0.04 } else { 0.0 },
        los: (1, 3),
    },
    Stay {
        name: "pneumonia",
        principal: &[dx("J18.9", "Pneumonia, unspecified organism")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[VENTILATION],
        procedure_rate: 0.05,
        per_principal: false,
        hazard: |r| {
            let base = if r.age >= 65.0 { 0.015 } else if r.age < 5.0 { 0.006 } else { 0.002 };
            base + if r.has(Kind::Copd) { 0.03 } else { 0.0 }
        },
        los: (3, 6),
    },
    Stay {
        name: "heart failure exacerbation",
        principal: &[dx("I50.23", "Acute on chronic systolic (congestive) heart failure")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| if r.has(Kind::HeartFailure) { 0.2 } else { 0.0 },
        los: (3, 7),
    },
    Stay {
        name: "myocardial infarction",
        principal: &[dx("I21.4", "Non-ST elevation (NSTEMI) myocardial infarction")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[pcs("027034Z", "Dilation of Coronary Artery, One Artery with Drug-eluting Intraluminal Device, Percutaneous Approach")],
        procedure_rate: 0.7,
        per_principal: false,
        hazard: |r| if r.has(Kind::CoronaryDisease) { 0.03 } else if r.age >= 50.0 { 0.002 } else { 0.0 },
        los: (2, 5),
    },
    Stay {
        name: "stroke",
        principal: &[dx("I63.9", "Cerebral infarction, unspecified")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| {
            let base = if r.age >= 65.0 { 0.006 } else if r.age >= 45.0 { 0.001 } else { 0.0 };
            base * if r.has(Kind::Hypertension) || r.has(Kind::AtrialFibrillation) { 1.8 } else { 1.0 }
        },
        los: (3, 7),
    },
    Stay {
        name: "sepsis",
        principal: &[dx("A41.9", "Sepsis, unspecified organism")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[VENTILATION, TRANSFUSION],
        procedure_rate: 0.15,
        per_principal: false,
        hazard: |r| if r.age >= 65.0 { 0.006 } else { 0.0008 },
        los: (5, 12),
    },
    Stay {
        name: "COPD exacerbation",
        principal: &[dx("J44.1", "Chronic obstructive pulmonary disease with (acute) exacerbation")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| if r.has(Kind::Copd) { 0.15 } else { 0.0 },
        los: (2, 5),
    },
    Stay {
        name: "diabetic ketoacidosis",
        principal: &[dx("E11.10", "Type 2 diabetes mellitus with ketoacidosis without coma")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| if r.has(Kind::Diabetes) { 0.008 } else { 0.0 },
        los: (2, 4),
    },
    Stay {
        name: "cellulitis",
        principal: &[dx("L03.115", "Cellulitis of right lower limb")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| if r.has(Kind::Diabetes) { 0.006 } else { 0.0015 },
        los: (2, 4),
    },
    Stay {
        name: "pyelonephritis",
        principal: &[dx("N10", "Acute pyelonephritis")],
        secondaries: &[],
        external_causes: &[],
        procedures: &[],
        procedure_rate: 0.0,
        per_principal: false,
        hazard: |r| if r.female { 0.002 } else { 0.0007 },
        los: (2, 4),
    },
];

/// Cancer-directed surgery for a newly diagnosed neoplasm (by code), if any.
pub fn cancer_surgery(code: &str) -> Option<Pcs> {
    match code {
        "C50.911" | "C50.921" => Some(pcs("0HTT0ZZ", "Resection of Right Breast, Open Approach")),
        "C50.912" => Some(pcs("0HTU0ZZ", "Resection of Left Breast, Open Approach")),
        "C61" => Some(pcs(
            "0VT04ZZ",
            "Resection of Prostate, Percutaneous Endoscopic Approach",
        )),
        "C34.11" => Some(pcs(
            "0BTC4ZZ",
            "Resection of Right Upper Lung Lobe, Percutaneous Endoscopic Approach",
        )),
        "C18.7" => Some(pcs("0DTN0ZZ", "Resection of Sigmoid Colon, Open Approach")),
        _ => None,
    }
}

/// An ambulatory acute reason for visit.
#[derive(Debug)]
pub struct Acute {
    /// Reason code.
    pub dx: Dx,
    /// External cause added for injuries.
    pub external_cause: Option<Dx>,
    /// Weight by (age, female).
    pub weight: fn(f64, bool) -> f64,
}

/// Ambulatory acute reasons.
pub const ACUTE: &[Acute] = &[
    Acute { dx: dx("J06.9", "Acute upper respiratory infection, unspecified"), external_cause: None, weight: |a, _| if a < 18.0 { 4.0 } else { 2.0 } },
    Acute { dx: dx("J02.9", "Acute pharyngitis, unspecified"), external_cause: None, weight: |a, _| if a < 18.0 { 3.0 } else { 1.0 } },
    Acute { dx: dx("H66.90", "Otitis media, unspecified, unspecified ear"), external_cause: None, weight: |a, _| if a < 10.0 { 3.0 } else { 0.2 } },
    Acute { dx: dx("N39.0", "Urinary tract infection, site not specified"), external_cause: None, weight: |a, f| if f && a >= 12.0 { 2.0 } else { 0.3 } },
    Acute { dx: dx("M54.2", "Cervicalgia"), external_cause: None, weight: |a, _| if a >= 18.0 { 1.5 } else { 0.1 } },
    Acute { dx: dx("R07.89", "Other chest pain"), external_cause: None, weight: |a, _| if a >= 30.0 { 1.0 } else { 0.2 } },
    Acute { dx: dx("K59.00", "Constipation, unspecified"), external_cause: None, weight: |_, _| 0.8 },
    Acute { dx: dx("G44.209", "Tension-type headache, unspecified, not intractable"), external_cause: None, weight: |a, _| if a >= 12.0 { 1.0 } else { 0.2 } },
    Acute {
        dx: dx("S93.401A", "Sprain of unspecified ligament of right ankle, initial encounter"),
        external_cause: Some(dx("W01.0XXA", "Fall on same level from slipping, tripping and stumbling without subsequent striking against object, initial encounter")),
        weight: |a, _| if (10.0..50.0).contains(&a) { 1.0 } else { 0.3 },
    },
    Acute {
        dx: dx("S52.501A", "Unspecified fracture of the lower end of right radius, initial encounter for closed fracture"),
        external_cause: Some(dx("W19.XXXA", "Unspecified fall, initial encounter")),
        weight: |a, f| if a >= 60.0 && f { 0.6 } else { 0.2 },
    },
];

/// Adult physical abuse, confirmed (a sensitive ambulatory visit).
pub const ABUSE: Dx = dx(
    "T74.11XA",
    "Adult physical abuse, confirmed, initial encounter",
);
/// External cause coded with abuse.
pub const ASSAULT: Dx = dx(
    "Y04.0XXA",
    "Assault by unarmed brawl or fight, initial encounter",
);
/// Hospital-acquired urinary tract infection (present on admission: N).
pub const HOSPITAL_UTI: Dx = dx("N39.0", "Urinary tract infection, site not specified");

/// Manifestation codes (MCE flag `manifestation`) used for the seeded sequencing error.
pub const MANIFESTATIONS: &[Dx] = &[
    dx("D63.1", "Anemia in chronic kidney disease"),
    dx("G63", "Polyneuropathy in diseases classified elsewhere"),
    dx(
        "G99.0",
        "Autonomic neuropathy in diseases classified elsewhere",
    ),
];

/// Obstetric code placed on an elderly patient for the seeded age conflict.
pub const OBSTETRIC_CONFLICT: Dx = dx(
    "O26.899",
    "Other specified pregnancy related conditions, unspecified trimester",
);
