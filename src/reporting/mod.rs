//! Reporting: registry extracts and de-identification, reading the typed projection
//! tables and stored resources. Never imports `http`.

pub mod deid;
pub mod registry;
