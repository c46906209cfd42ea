//! The deficiency kinds of the records-room Task contract, and the Task code system.

/// `Task.code` system of deficiency work items.
pub const SYSTEM: &str = "http://chartroom.dev/fhir/CodeSystem/deficiency";

/// One thing a record lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    MissingPrincipal,
    ProcedureMissingNote,
    ProcedureMissingPerformer,
    ProcedureMissingDate,
    DiagnosisUndocumented,
    DischargeSummaryMissing,
    DischargeSummaryUnsigned,
    ConditionMissingOnset,
    ConditionMissingVerification,
    PatientMissingBirthdate,
    PatientMissingSex,
    PatientMissingAddress,
    PatientMissingIdentifier,
}

/// Every kind, in contract order.
pub const ALL: &[Kind] = &[
    Kind::MissingPrincipal,
    Kind::ProcedureMissingNote,
    Kind::ProcedureMissingPerformer,
    Kind::ProcedureMissingDate,
    Kind::DiagnosisUndocumented,
    Kind::DischargeSummaryMissing,
    Kind::DischargeSummaryUnsigned,
    Kind::ConditionMissingOnset,
    Kind::ConditionMissingVerification,
    Kind::PatientMissingBirthdate,
    Kind::PatientMissingSex,
    Kind::PatientMissingAddress,
    Kind::PatientMissingIdentifier,
];

impl Kind {
    /// The `Task.code` code.
    pub fn code(self) -> &'static str {
        match self {
            Kind::MissingPrincipal => "missing-principal",
            Kind::ProcedureMissingNote => "procedure-missing-note",
            Kind::ProcedureMissingPerformer => "procedure-missing-performer",
            Kind::ProcedureMissingDate => "procedure-missing-date",
            Kind::DiagnosisUndocumented => "diagnosis-undocumented",
            Kind::DischargeSummaryMissing => "discharge-summary-missing",
            Kind::DischargeSummaryUnsigned => "discharge-summary-unsigned",
            Kind::ConditionMissingOnset => "condition-missing-onset",
            Kind::ConditionMissingVerification => "condition-missing-verification",
            Kind::PatientMissingBirthdate => "patient-missing-birthdate",
            Kind::PatientMissingSex => "patient-missing-sex",
            Kind::PatientMissingAddress => "patient-missing-address",
            Kind::PatientMissingIdentifier => "patient-missing-identifier",
        }
    }

    /// What the gap is, for `Task.description` and the code's display.
    pub fn display(self) -> &'static str {
        match self {
            Kind::MissingPrincipal => "Finished encounter has no principal diagnosis (rank 1)",
            Kind::ProcedureMissingNote => "Procedure has no operative or procedure note",
            Kind::ProcedureMissingPerformer => "Procedure has no performer",
            Kind::ProcedureMissingDate => "Procedure has no performed date",
            Kind::DiagnosisUndocumented => "Diagnosis has no supporting documentation",
            Kind::DischargeSummaryMissing => "Inpatient encounter has no discharge summary",
            Kind::DischargeSummaryUnsigned => "Discharge summary is not signed",
            Kind::ConditionMissingOnset => "Condition has no onset",
            Kind::ConditionMissingVerification => "Condition has no verification status",
            Kind::PatientMissingBirthdate => "Patient has no birth date",
            Kind::PatientMissingSex => "Patient has no administrative sex",
            Kind::PatientMissingAddress => "Patient has no address",
            Kind::PatientMissingIdentifier => "Patient has no identifier",
        }
    }

    /// The kind a `Task.code` code names.
    pub fn from_code(code: &str) -> Option<Kind> {
        ALL.iter().copied().find(|k| k.code() == code)
    }

    /// The resource type the kind's Tasks focus on.
    pub fn focus_type(self) -> &'static str {
        match self {
            Kind::MissingPrincipal
            | Kind::DischargeSummaryMissing
            | Kind::DischargeSummaryUnsigned => "Encounter",
            Kind::ProcedureMissingNote
            | Kind::ProcedureMissingPerformer
            | Kind::ProcedureMissingDate => "Procedure",
            Kind::DiagnosisUndocumented
            | Kind::ConditionMissingOnset
            | Kind::ConditionMissingVerification => "Condition",
            Kind::PatientMissingBirthdate
            | Kind::PatientMissingSex
            | Kind::PatientMissingAddress
            | Kind::PatientMissingIdentifier => "Patient",
        }
    }

    /// The kinds checked on a resource type (empty for types no rule looks at).
    pub fn of_type(res_type: &str) -> Vec<Kind> {
        ALL.iter()
            .copied()
            .filter(|k| k.focus_type() == res_type)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_cover_the_four_focus_types() {
        for kind in ALL {
            assert_eq!(Kind::from_code(kind.code()), Some(*kind));
        }
        let total: usize = ["Encounter", "Procedure", "Condition", "Patient"]
            .iter()
            .map(|t| Kind::of_type(t).len())
            .sum();
        assert_eq!(total, ALL.len());
        assert!(Kind::of_type("Observation").is_empty());
    }
}
