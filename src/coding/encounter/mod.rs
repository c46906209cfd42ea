//! The coding audit of one encounter as a service: gathers the facts the edits need
//! (from the typed projections of a stored encounter, or from a Bundle holding a
//! not-yet-stored one), runs [`crate::coding::audit`], and reports the findings as
//! OperationOutcome issues. Also the sweep over all encounters discharged since a date.

mod bundle;
mod claim;
mod facts;
mod stored;
mod sweep;

pub use bundle::audit_bundle;
pub use claim::Resolve;
pub use facts::{finding_issues, findings_outcome, DxFact, EncounterFacts, PxFact};
pub use stored::{audit_encounter, encounter_findings};
pub use sweep::{sweep, sweep_with, SweepReport, SweptEncounter};
