//! De-identification of FHIR resource JSON for disclosures: HIPAA Safe Harbor (the 18
//! identifier kinds removed or generalised), a limited data set (dates and city/ZIP kept),
//! or none. Pure: walks any resource, not only the typed ones; no I/O.

mod patterns;
mod pseudonym;
mod walk;
mod zip;

#[cfg(test)]
mod tests;

pub use pseudonym::Pseudonymizer;
pub use zip::{restricted_zip3, zip3};

use chrono::NaiveDate;
use serde_json::Value;

/// How much of the record leaves the building.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// HIPAA Safe Harbor, 45 CFR 164.514(b)(2): names, addresses below state (3-digit ZIP
    /// where allowed), all date elements but the year, ages over 89, contact details,
    /// record/account/licence/device numbers, URLs, IPs, photos and free text removed;
    /// identifiers and ids replaced by keyed pseudonyms.
    SafeHarbor,
    /// Limited data set, 45 CFR 164.514(e): as Safe Harbor, but dates, city, county and
    /// full ZIP code are kept.
    Limited,
    /// Identified (e.g. a central cancer registry, which the law entitles to it).
    None,
}

impl Mode {
    /// `safe-harbor`, `limited` or `none`.
    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "safe-harbor" => Some(Mode::SafeHarbor),
            "limited" => Some(Mode::Limited),
            "none" => Some(Mode::None),
            _ => None,
        }
    }

    /// The parameter spelling.
    pub fn code(self) -> &'static str {
        match self {
            Mode::SafeHarbor => "safe-harbor",
            Mode::Limited => "limited",
            Mode::None => "none",
        }
    }
}

/// Extension added to a Safe Harbor Patient whose age is over 89 (its birth date is removed).
pub const AGE_GROUP_EXTENSION: &str = "http://chartroom.dev/fhir/StructureDefinition/age-group";

/// Applies one mode with one registry's pseudonyms, as of one day (for the 90+ rule).
pub struct Deidentifier {
    pub mode: Mode,
    pseudonyms: Pseudonymizer,
    today: NaiveDate,
}

impl Deidentifier {
    /// `secret` is the configured pseudonym secret; `registry` separates the pseudonyms of
    /// different recipients (the same patient gets unrelated pseudonyms in two registries).
    pub fn new(mode: Mode, secret: &[u8], registry: &str, today: NaiveDate) -> Deidentifier {
        Deidentifier {
            mode,
            pseudonyms: Pseudonymizer::new(secret, registry),
            today,
        }
    }

    /// The de-identified copy of one resource (unchanged in mode `None`).
    pub fn resource(&self, resource: &Value) -> Value {
        if self.mode == Mode::None {
            return resource.clone();
        }
        walk::resource(self, resource)
    }

    /// The pseudonym of `res_type/id` in this registry (the id itself in mode `None`).
    pub fn id(&self, res_type: &str, id: &str) -> String {
        if self.mode == Mode::None {
            id.to_string()
        } else {
            self.pseudonyms.id(res_type, id)
        }
    }
}
