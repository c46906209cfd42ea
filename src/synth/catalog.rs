//! Chronic conditions of the synthetic population: ICD-10-CM codes (FY2026 billable,
//! valid since before 2019), prevalence by age and sex, sensitivity labels and first-line
//! medications. Prevalences are rough US adult figures, tuned for realism, not research.

/// An ICD-10-CM code (dotted) with its description.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dx {
    /// Dotted code, e.g. `E11.9`.
    pub code: &'static str,
    /// Description.
    pub display: &'static str,
}

/// Shorthand constructor for tables.
pub const fn dx(code: &'static str, display: &'static str) -> Dx {
    Dx { code, display }
}

/// An RxNorm clinical drug.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Med {
    /// RxNorm concept id.
    pub rxnorm: &'static str,
    /// Name.
    pub display: &'static str,
}

const fn med(rxnorm: &'static str, display: &'static str) -> Med {
    Med { rxnorm, display }
}

pub const LISINOPRIL: Med = med("314076", "lisinopril 10 MG Oral Tablet");
pub const AMLODIPINE: Med = med("197361", "amlodipine 5 MG Oral Tablet");
pub const METFORMIN: Med = med(
    "860975",
    "24 HR metformin hydrochloride 500 MG Extended Release Oral Tablet",
);
pub const INSULIN: Med = med("106892", "insulin isophane human 70 UNT/ML / insulin regular human 30 UNT/ML Injectable Suspension [Humulin]");
pub const ATORVASTATIN: Med = med("617312", "atorvastatin 20 MG Oral Tablet");
pub const ALBUTEROL: Med = med(
    "2123111",
    "NDA020503 200 ACTUAT albuterol 0.09 MG/ACTUAT Metered Dose Inhaler",
);
pub const FLUTICASONE: Med = med(
    "895994",
    "120 ACTUAT fluticasone propionate 0.044 MG/ACTUAT Metered Dose Inhaler",
);
pub const FLUTICASONE_SALMETEROL: Med = med("896209", "60 ACTUAT fluticasone propionate 0.25 MG/ACTUAT / salmeterol 0.05 MG/ACTUAT Dry Powder Inhaler");
pub const SERTRALINE: Med = med("312940", "sertraline 50 MG Oral Tablet");
pub const CLOPIDOGREL: Med = med("309362", "clopidogrel 75 MG Oral Tablet");
pub const WARFARIN: Med = med("855332", "warfarin sodium 5 MG Oral Tablet");
pub const HYDROCHLOROTHIAZIDE: Med = med("310798", "hydrochlorothiazide 25 MG Oral Tablet");
pub const ENOXAPARIN: Med = med(
    "854235",
    "0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe",
);

/// Which chronic condition a catalog row describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Hypertension,
    Diabetes,
    Hyperlipidemia,
    Asthma,
    Copd,
    Obesity,
    Depression,
    Anxiety,
    Gerd,
    KneeOsteoarthritis,
    Hypothyroidism,
    AtrialFibrillation,
    CoronaryDisease,
    HeartFailure,
    SleepApnea,
    BreastCancer,
    ProstateCancer,
    LungCancer,
    ColonCancer,
    Schizophrenia,
    Bipolar,
    AlcoholDependence,
    Hiv,
}

/// One code choice for a chronic condition, with the codes coded alongside it.
pub struct Variant {
    /// The condition's code.
    pub dx: Dx,
    /// Relative frequency among the condition's variants.
    pub weight: f64,
    /// Companion codes (e.g. CKD stage with diabetic CKD).
    pub companions: &'static [Dx],
}

/// A chronic condition and how common it is.
pub struct Chronic {
    /// Identity.
    pub kind: Kind,
    /// Code choices; for sex-specific codes see [`Chronic::variants_for`].
    pub variants: &'static [Variant],
    /// Probability of having the condition at a given age (years) and sex (true = female).
    pub prevalence: fn(f64, bool) -> f64,
    /// Earliest plausible age at onset.
    pub min_onset_age: f64,
    /// v3-ActCode sensitivity label, when the condition is sensitive.
    pub security: Option<&'static str>,
    /// Medications started when the condition is first recorded.
    pub meds: &'static [Med],
}

const fn v(dx: Dx, weight: f64) -> Variant {
    Variant {
        dx,
        weight,
        companions: &[],
    }
}

fn band(age: f64, bands: &[(f64, f64)]) -> f64 {
    bands
        .iter()
        .rev()
        .find(|(from, _)| age >= *from)
        .map_or(0.0, |(_, p)| *p)
}

/// The catalog.
pub const CHRONIC: &[Chronic] = &[
    Chronic {
        kind: Kind::Hypertension,
        variants: &[v(dx("I10", "Essential (primary) hypertension"), 1.0)],
        prevalence: |a, _| {
            band(
                a,
                &[
                    (12.0, 0.004),
                    (18.0, 0.07),
                    (40.0, 0.31),
                    (60.0, 0.52),
                    (75.0, 0.66),
                ],
            )
        },
        min_onset_age: 18.0,
        security: None,
        meds: &[LISINOPRIL],
    },
    Chronic {
        kind: Kind::Diabetes,
        variants: &[
            v(
                dx("E11.9", "Type 2 diabetes mellitus without complications"),
                45.0,
            ),
            v(
                dx("E11.65", "Type 2 diabetes mellitus with hyperglycemia"),
                18.0,
            ),
            Variant {
                dx: dx(
                    "E11.22",
                    "Type 2 diabetes mellitus with diabetic chronic kidney disease",
                ),
                weight: 12.0,
                companions: &[dx("N18.4", "Chronic kidney disease, stage 4 (severe)")],
            },
            v(
                dx(
                    "E11.42",
                    "Type 2 diabetes mellitus with diabetic polyneuropathy",
                ),
                10.0,
            ),
            v(
                dx(
                    "E11.40",
                    "Type 2 diabetes mellitus with diabetic neuropathy, unspecified",
                ),
                8.0,
            ),
            v(
                dx(
                    "E11.51",
                    "Type 2 diabetes mellitus with diabetic peripheral angiopathy without gangrene",
                ),
                7.0,
            ),
        ],
        prevalence: |a, _| {
            band(
                a,
                &[(10.0, 0.002), (18.0, 0.035), (45.0, 0.14), (65.0, 0.24)],
            )
        },
        min_onset_age: 12.0,
        security: None,
        meds: &[METFORMIN],
    },
    Chronic {
        kind: Kind::Hyperlipidemia,
        variants: &[
            v(dx("E78.5", "Hyperlipidemia, unspecified"), 60.0),
            v(dx("E78.2", "Mixed hyperlipidemia"), 25.0),
            v(dx("E78.00", "Pure hypercholesterolemia, unspecified"), 15.0),
        ],
        prevalence: |a, _| band(a, &[(20.0, 0.05), (40.0, 0.22), (65.0, 0.40)]),
        min_onset_age: 20.0,
        security: None,
        meds: &[ATORVASTATIN],
    },
    Chronic {
        kind: Kind::Asthma,
        variants: &[
            v(dx("J45.909", "Unspecified asthma, uncomplicated"), 60.0),
            v(
                dx("J45.20", "Mild intermittent asthma, uncomplicated"),
                20.0,
            ),
            v(
                dx("J45.40", "Moderate persistent asthma, uncomplicated"),
                20.0,
            ),
        ],
        prevalence: |a, f| band(a, &[(2.0, 0.07), (18.0, if f { 0.10 } else { 0.06 })]),
        min_onset_age: 2.0,
        security: None,
        meds: &[ALBUTEROL, FLUTICASONE],
    },
    Chronic {
        kind: Kind::Copd,
        variants: &[v(
            dx(
                "J44.9",
                "Chronic obstructive pulmonary disease, unspecified",
            ),
            1.0,
        )],
        prevalence: |a, _| band(a, &[(40.0, 0.03), (55.0, 0.07), (65.0, 0.11)]),
        min_onset_age: 40.0,
        security: None,
        meds: &[FLUTICASONE_SALMETEROL],
    },
    Chronic {
        kind: Kind::Obesity,
        variants: &[
            v(dx("E66.9", "Obesity, unspecified"), 70.0),
            v(
                dx("E66.01", "Morbid (severe) obesity due to excess calories"),
                30.0,
            ),
        ],
        prevalence: |a, _| band(a, &[(18.0, 0.22), (40.0, 0.27), (65.0, 0.22)]),
        min_onset_age: 18.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::Depression,
        variants: &[
            v(
                dx(
                    "F32.9",
                    "Major depressive disorder, single episode, unspecified",
                ),
                40.0,
            ),
            v(
                dx(
                    "F32.1",
                    "Major depressive disorder, single episode, moderate",
                ),
                30.0,
            ),
            v(
                dx("F33.1", "Major depressive disorder, recurrent, moderate"),
                30.0,
            ),
        ],
        prevalence: |a, f| band(a, &[(12.0, if f { 0.09 } else { 0.05 })]),
        min_onset_age: 12.0,
        security: None,
        meds: &[SERTRALINE],
    },
    Chronic {
        kind: Kind::Anxiety,
        variants: &[v(dx("F41.1", "Generalized anxiety disorder"), 1.0)],
        prevalence: |a, f| band(a, &[(12.0, if f { 0.07 } else { 0.04 })]),
        min_onset_age: 12.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::Gerd,
        variants: &[v(
            dx(
                "K21.9",
                "Gastro-esophageal reflux disease without esophagitis",
            ),
            1.0,
        )],
        prevalence: |a, _| band(a, &[(18.0, 0.06), (45.0, 0.12)]),
        min_onset_age: 18.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::KneeOsteoarthritis,
        variants: &[
            v(
                dx("M17.0", "Bilateral primary osteoarthritis of knee"),
                40.0,
            ),
            v(
                dx("M17.11", "Unilateral primary osteoarthritis, right knee"),
                30.0,
            ),
            v(
                dx("M17.12", "Unilateral primary osteoarthritis, left knee"),
                30.0,
            ),
        ],
        prevalence: |a, f| band(a, &[(45.0, 0.05), (60.0, if f { 0.16 } else { 0.11 })]),
        min_onset_age: 45.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::Hypothyroidism,
        variants: &[v(dx("E03.9", "Hypothyroidism, unspecified"), 1.0)],
        prevalence: |a, f| {
            band(
                a,
                &[
                    (18.0, if f { 0.06 } else { 0.015 }),
                    (60.0, if f { 0.11 } else { 0.03 }),
                ],
            )
        },
        min_onset_age: 18.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::AtrialFibrillation,
        variants: &[v(dx("I48.91", "Unspecified atrial fibrillation"), 1.0)],
        prevalence: |a, _| band(a, &[(50.0, 0.01), (65.0, 0.06), (80.0, 0.11)]),
        min_onset_age: 50.0,
        security: None,
        meds: &[WARFARIN],
    },
    Chronic {
        kind: Kind::CoronaryDisease,
        variants: &[v(
            dx(
                "I25.10",
                "Atherosclerotic heart disease of native coronary artery without angina pectoris",
            ),
            1.0,
        )],
        prevalence: |a, f| {
            band(
                a,
                &[
                    (45.0, if f { 0.02 } else { 0.04 }),
                    (65.0, if f { 0.09 } else { 0.15 }),
                ],
            )
        },
        min_onset_age: 45.0,
        security: None,
        meds: &[CLOPIDOGREL],
    },
    Chronic {
        kind: Kind::HeartFailure,
        variants: &[
            v(
                dx("I50.22", "Chronic systolic (congestive) heart failure"),
                60.0,
            ),
            v(
                dx("I50.32", "Chronic diastolic (congestive) heart failure"),
                40.0,
            ),
        ],
        prevalence: |a, _| band(a, &[(50.0, 0.01), (65.0, 0.045), (80.0, 0.09)]),
        min_onset_age: 50.0,
        security: None,
        meds: &[HYDROCHLOROTHIAZIDE],
    },
    Chronic {
        kind: Kind::SleepApnea,
        variants: &[v(
            dx("G47.33", "Obstructive sleep apnea (adult) (pediatric)"),
            1.0,
        )],
        prevalence: |a, f| band(a, &[(30.0, if f { 0.03 } else { 0.06 })]),
        min_onset_age: 30.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::BreastCancer,
        variants: &[
            v(
                dx(
                    "C50.911",
                    "Malignant neoplasm of unspecified site of right female breast",
                ),
                50.0,
            ),
            v(
                dx(
                    "C50.912",
                    "Malignant neoplasm of unspecified site of left female breast",
                ),
                50.0,
            ),
        ],
        prevalence: |a, f| {
            if f {
                band(
                    a,
                    &[(30.0, 0.002), (40.0, 0.008), (50.0, 0.02), (65.0, 0.035)],
                )
            } else {
                band(a, &[(50.0, 0.0003)])
            }
        },
        min_onset_age: 30.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::ProstateCancer,
        variants: &[v(dx("C61", "Malignant neoplasm of prostate"), 1.0)],
        prevalence: |a, f| {
            if f {
                0.0
            } else {
                band(a, &[(50.0, 0.02), (65.0, 0.07)])
            }
        },
        min_onset_age: 50.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::LungCancer,
        variants: &[
            v(
                dx(
                    "C34.90",
                    "Malignant neoplasm of unspecified part of unspecified bronchus or lung",
                ),
                50.0,
            ),
            v(
                dx(
                    "C34.11",
                    "Malignant neoplasm of upper lobe, right bronchus or lung",
                ),
                50.0,
            ),
        ],
        prevalence: |a, _| band(a, &[(45.0, 0.002), (65.0, 0.008)]),
        min_onset_age: 45.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::ColonCancer,
        variants: &[
            v(
                dx("C18.9", "Malignant neoplasm of colon, unspecified"),
                50.0,
            ),
            v(dx("C18.7", "Malignant neoplasm of sigmoid colon"), 50.0),
        ],
        prevalence: |a, _| band(a, &[(45.0, 0.003), (65.0, 0.007)]),
        min_onset_age: 45.0,
        security: None,
        meds: &[],
    },
    Chronic {
        kind: Kind::Schizophrenia,
        variants: &[v(dx("F20.9", "Schizophrenia, unspecified"), 1.0)],
        prevalence: |a, _| band(a, &[(18.0, 0.004)]),
        min_onset_age: 18.0,
        security: Some("PSY"),
        meds: &[],
    },
    Chronic {
        kind: Kind::Bipolar,
        variants: &[v(dx("F31.9", "Bipolar disorder, unspecified"), 1.0)],
        prevalence: |a, _| band(a, &[(18.0, 0.008)]),
        min_onset_age: 18.0,
        security: Some("PSY"),
        meds: &[],
    },
    Chronic {
        kind: Kind::AlcoholDependence,
        variants: &[v(dx("F10.20", "Alcohol dependence, uncomplicated"), 1.0)],
        prevalence: |a, f| band(a, &[(18.0, if f { 0.006 } else { 0.014 })]),
        min_onset_age: 18.0,
        security: Some("ETH"),
        meds: &[],
    },
    Chronic {
        kind: Kind::Hiv,
        variants: &[v(
            dx("B20", "Human immunodeficiency virus [HIV] disease"),
            1.0,
        )],
        prevalence: |a, f| band(a, &[(18.0, if f { 0.0015 } else { 0.004 })]),
        min_onset_age: 18.0,
        security: Some("HIV"),
        meds: &[],
    },
];

/// Male-breast variant used instead of the female-breast codes for men.
pub const MALE_BREAST: Dx = dx(
    "C50.921",
    "Malignant neoplasm of unspecified site of right male breast",
);
