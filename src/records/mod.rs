//! Records-room work (HIM) on top of the store: the coding workflow per encounter, the
//! billing view of a final encounter, DNFB, the deficiency worklist, the master patient
//! index and the classic registers (disease, procedure and physician indexes). Work items
//! are FHIR `Task`s written through the ordinary store path. Nothing here knows HTTP.

pub mod billing;
pub mod claim;
pub mod coding_review;
pub mod coding_status;
pub mod coding_task;
pub mod coding_workflow;
pub mod csv;
pub mod deficiency;
pub mod dnfb;
pub mod indexes;
pub mod mpi;
