//! FHIR search (search.html): parsing a query into clauses and result parameters, running
//! it through `db::search`, and assembling the searchset Bundle (paging, includes,
//! `_summary`, `_elements`). Pure except for the calls into `db`.

pub mod bundle;
pub mod elements;
pub mod parse;
pub mod prefix;
pub mod run;
pub mod value_set;

pub use parse::{parse, Clause, ClauseKind, SearchRequest};
