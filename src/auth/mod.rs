//! Access control: bearer tokens → `Principal` (SMART scopes, patient, roles, clearances,
//! purpose of use), and the checks every interaction passes. Nothing here imports actix.

pub mod access;
pub mod audit;
pub mod jwks;
pub mod principal;
pub mod roles;
pub mod scopes;
pub mod token;

pub use access::Access;
pub use principal::Principal;
pub use scopes::{Action, Scope};
pub use token::{mint, Claims, Verifier};
