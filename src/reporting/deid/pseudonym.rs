//! Stable per-registry pseudonyms: HMAC-SHA256 under a key derived from the configured
//! secret and the registry name, so the same input gives the same pseudonym in every run
//! of one registry and unrelated pseudonyms in another.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Keyed pseudonyms for one registry.
#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
    /// URI of the identifier system pseudonymised identifiers are issued in.
    pub system: String,
}

fn mac(key: &[u8], parts: &[&str]) -> [u8; 32] {
    // HMAC accepts keys of any length; new_from_slice cannot fail for it
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    for (i, part) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(&[0]);
        }
        mac.update(part.as_bytes());
    }
    mac.finalize().into_bytes().into()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Pseudonymizer {
    pub fn new(secret: &[u8], registry: &str) -> Pseudonymizer {
        Pseudonymizer {
            key: mac(secret, &["chartroom registry pseudonym key", registry]).to_vec(),
            system: format!("urn:chartroom:registry:{registry}:pseudonym"),
        }
    }

    /// 32 hex digits (128 bits) for a resource id; a valid FHIR id.
    pub fn id(&self, res_type: &str, id: &str) -> String {
        hex(&mac(&self.key, &["id", res_type, id])[..16])
    }

    /// 32 hex digits for an identifier value within its system.
    pub fn identifier(&self, system: &str, value: &str) -> String {
        hex(&mac(&self.key, &["identifier", system, value])[..16])
    }

    /// A UUID-shaped pseudonym for `urn:uuid:` references.
    pub fn uuid(&self, value: &str) -> String {
        let h = hex(&mac(&self.key, &["uuid", value])[..16]);
        format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..32]
        )
    }
}
