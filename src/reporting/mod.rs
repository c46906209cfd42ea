//! Reporting: statistics over the typed projection tables (prevalence, incidence,
//! predisposition, prescriptions, treatment response, procedure volumes, length of stay),
//! records-room operational reports, small-cell suppression and the renderers
//! (MeasureReport, JSON, CSV, SVG); registry extracts and de-identification. Reads with
//! SQL aggregates and stored resources; never imports HTTP.

pub mod caller;
pub mod clinical;
pub mod codes;
pub mod deid;
pub mod filters;
pub mod job;
pub mod model;
pub mod operational;
pub mod params;
pub mod registry;
pub mod render_csv;
pub mod render_fhir;
pub mod render_json;
pub mod render_svg;
pub mod rows;
pub mod run;
pub mod suppress;
pub mod treatment;
pub mod volume;
