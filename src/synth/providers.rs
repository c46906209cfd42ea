//! Hospitals (Organizations) and clinicians (Practitioners) with NPI identifiers, one
//! hospital per city of the geography table, and their own transaction bundle whose
//! entries are conditional updates by NPI, so reloading it never duplicates providers.

use serde_json::{json, Value};

use super::fhir::{self, NPI};
use super::geo::{all_cities, city_ordinal, CityRef, STATES};
use super::names::{FAMILY, FEMALE_GIVEN, MALE_GIVEN};
use super::rng::Rng;

const STREAM_PROVIDERS: u64 = 3;
/// Clinicians on staff at each hospital.
pub const CLINICIANS_PER_HOSPITAL: usize = 6;
const HOSPITAL_SUFFIXES: &[&str] = &[
    "General Hospital",
    "Regional Medical Center",
    "Memorial Hospital",
    "Community Hospital",
    "University Hospital",
];

/// A hospital.
pub struct Hospital {
    /// Entry UUID.
    pub uuid: String,
    /// Type-2 NPI.
    pub npi: String,
    /// Name.
    pub name: String,
    /// Location.
    pub city: CityRef,
    /// Street line.
    pub line: String,
    /// ZIP code.
    pub zip: String,
}

/// A clinician.
pub struct Clinician {
    /// Entry UUID.
    pub uuid: String,
    /// Type-1 NPI.
    pub npi: String,
    /// Given name.
    pub given: String,
    /// Family name.
    pub family: String,
    /// Female.
    pub female: bool,
    /// Index of the hospital in [`Providers::hospitals`].
    pub hospital: usize,
}

/// All providers of a population.
pub struct Providers {
    /// One per city, in [`all_cities`] order.
    pub hospitals: Vec<Hospital>,
    /// `CLINICIANS_PER_HOSPITAL` per hospital, grouped by hospital.
    pub clinicians: Vec<Clinician>,
}

/// An NPI-shaped number (9 digits from `serial`, Luhn check digit over the 80840 prefix).
pub fn npi(serial: u64) -> String {
    let base = format!("{:09}", 990_000_000 + serial % 10_000_000);
    let payload = format!("80840{base}");
    let mut sum = 0u32;
    for (i, ch) in payload.chars().rev().enumerate() {
        let mut d = ch.to_digit(10).unwrap_or(0);
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    format!("{base}{}", (10 - sum % 10) % 10)
}

impl Providers {
    /// The providers for a seed.
    pub fn new(seed: u64) -> Self {
        let mut rng = Rng::stream(seed, &[STREAM_PROVIDERS]);
        let mut hospitals = Vec::new();
        let mut clinicians = Vec::new();
        for (h, city) in all_cities().enumerate() {
            let city_name = STATES[city.state].cities[city.city].0;
            hospitals.push(Hospital {
                uuid: rng.uuid(),
                npi: npi(h as u64),
                name: format!("{city_name} {}", rng.pick(HOSPITAL_SUFFIXES)),
                city,
                line: format!("{} {}", rng.range(100, 4999), rng.pick(super::geo::STREETS)),
                zip: format!(
                    "{}{:02}",
                    STATES[city.state].cities[city.city].1,
                    rng.range(1, 99)
                ),
            });
            for k in 0..CLINICIANS_PER_HOSPITAL {
                let female = rng.chance(0.45);
                let given = if female {
                    rng.pick(FEMALE_GIVEN)
                } else {
                    rng.pick(MALE_GIVEN)
                };
                clinicians.push(Clinician {
                    uuid: rng.uuid(),
                    npi: npi(100_000 + (h * CLINICIANS_PER_HOSPITAL + k) as u64),
                    given: given.to_string(),
                    family: rng.pick(FAMILY).to_string(),
                    female,
                    hospital: h,
                });
            }
        }
        Providers {
            hospitals,
            clinicians,
        }
    }

    /// Index of the hospital serving a city.
    pub fn hospital_for(&self, city: CityRef) -> usize {
        city_ordinal(city).min(self.hospitals.len().saturating_sub(1))
    }

    /// The clinicians of a hospital.
    pub fn staff(&self, hospital: usize) -> &[Clinician] {
        let start = (hospital * CLINICIANS_PER_HOSPITAL).min(self.clinicians.len());
        let end = (start + CLINICIANS_PER_HOSPITAL).min(self.clinicians.len());
        &self.clinicians[start..end]
    }

    /// Conditional reference to a hospital.
    pub fn org_ref(&self, hospital: usize) -> Value {
        let h = &self.hospitals[hospital];
        fhir::npi_ref("Organization", &h.npi, &h.name)
    }

    /// Conditional reference to a clinician.
    pub fn practitioner_ref(c: &Clinician) -> Value {
        fhir::npi_ref(
            "Practitioner",
            &c.npi,
            &format!("Dr. {} {}", c.given, c.family),
        )
    }

    /// The provider transaction bundle: organizations first, then practitioners.
    pub fn bundle(&self) -> Value {
        let mut entries = Vec::with_capacity(self.hospitals.len() + self.clinicians.len());
        for (i, h) in self.hospitals.iter().enumerate() {
            let st = &STATES[h.city.state];
            let resource = json!({
                "resourceType": "Organization",
                "id": h.uuid,
                "identifier": [{"system": NPI, "value": h.npi}],
                "active": true,
                "type": [fhir::concept("http://terminology.hl7.org/CodeSystem/organization-type", "prov", "Healthcare Provider")],
                "name": h.name,
                "telecom": [{"system": "phone", "value": format!("{}-555-{:04}", st.area_code, 1000 + i)}],
                "address": [{"line": [h.line], "city": st.cities[h.city.city].0, "state": st.code, "postalCode": h.zip, "country": "US"}]
            });
            entries.push(conditional_put(&h.uuid, "Organization", &h.npi, resource));
        }
        for c in &self.clinicians {
            let h = &self.hospitals[c.hospital];
            let st = &STATES[h.city.state];
            let resource = json!({
                "resourceType": "Practitioner",
                "id": c.uuid,
                "identifier": [{"system": NPI, "value": c.npi}],
                "active": true,
                "name": [{"family": c.family, "given": [c.given], "prefix": ["Dr."]}],
                "telecom": [{"system": "email", "value": format!("{}.{}@example.org", c.given.to_lowercase(), c.family.to_lowercase()), "use": "work"}],
                "address": [{"line": [h.line], "city": st.cities[h.city.city].0, "state": st.code, "postalCode": h.zip, "country": "US"}],
                "gender": if c.female { "female" } else { "male" }
            });
            entries.push(conditional_put(&c.uuid, "Practitioner", &c.npi, resource));
        }
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries})
    }
}

fn conditional_put(uuid: &str, resource_type: &str, npi: &str, resource: Value) -> Value {
    json!({
        "fullUrl": fhir::urn(uuid),
        "resource": resource,
        "request": {"method": "PUT", "url": format!("{resource_type}?identifier={NPI}|{npi}")}
    })
}
