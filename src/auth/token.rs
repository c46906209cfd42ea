//! Bearer tokens: verification (HS256 with a shared secret; RS256/ES256 with keys from a
//! JWKS file or URL) with `iss`/`aud`/`exp`/`nbf` checks and a configurable leeway, and
//! minting of development tokens. A failed check says only "invalid token": no detail
//! helps a forger.

use super::principal::Principal;
use super::scopes::parse_all;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use serde::{Deserialize, Serialize};

/// The token claims chartroom reads (names fixed; clients rely on them).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Claims {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
    pub exp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    #[serde(default)]
    pub sub: String,
    #[serde(default)]
    pub scope: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(rename = "fhirUser", skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    #[serde(default)]
    pub chartroom_roles: Vec<String>,
    #[serde(default)]
    pub chartroom_clearances: Vec<String>,
    #[serde(default)]
    pub chartroom_btg: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub purpose_of_use: Option<String>,
}

impl Claims {
    /// The caller these claims describe; `roles` are the configured role scopes.
    pub fn into_principal(self, roles: &std::collections::BTreeMap<String, String>) -> Principal {
        let scope = if self.scope.trim().is_empty() {
            self.chartroom_roles
                .iter()
                .filter_map(|r| super::roles::default_scopes(r, roles))
                .collect::<Vec<_>>()
                .join(" ")
        } else {
            self.scope
        };
        Principal {
            subject: self.sub,
            scopes: parse_all(&scope),
            patient: self.patient,
            roles: self.chartroom_roles,
            clearances: self.chartroom_clearances,
            may_break_glass: self.chartroom_btg,
            purpose_of_use: self.purpose_of_use.unwrap_or_else(|| "TREAT".into()),
            fhir_user: self.fhir_user,
            unrestricted: false,
            break_glass_reason: None,
        }
    }
}

/// Checks tokens against the configured keys.
pub struct Verifier {
    secret: Option<DecodingKey>,
    jwks: Option<Keys>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
}

/// Where RS256/ES256 keys come from.
enum Keys {
    File(JwkSet),
    Url(super::jwks::RemoteJwks),
}

/// Why a token was refused (logged by the caller; the client sees only "invalid token").
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct TokenError(pub String);

impl Verifier {
    /// From the HS256 secret and/or a JWKS file; at least one is needed.
    pub fn new(
        secret: Option<&str>,
        jwks_path: Option<&str>,
        issuer: Option<String>,
        audience: Option<String>,
    ) -> Result<Verifier, String> {
        Verifier::with_options(secret, jwks_path, issuer, audience, &Options::default())
    }

    /// From the settings: keys, expected issuer and audience, leeway, JWKS caching.
    pub fn from_config(config: &crate::config::Config) -> Result<Verifier, String> {
        Verifier::with_options(
            config.jwt_hs256_secret.as_deref(),
            config.jwt_jwks.as_deref(),
            config.jwt_issuer.clone(),
            config.jwt_audience.clone(),
            &Options {
                leeway: config.jwt_leeway_seconds,
                jwks_ca: config.jwt_jwks_ca.clone(),
                jwks_max_age: std::time::Duration::from_secs(config.jwks_cache_seconds),
                jwks_min_refresh: std::time::Duration::from_secs(config.jwks_refresh_seconds),
            },
        )
    }

    fn with_options(
        secret: Option<&str>,
        jwks_path: Option<&str>,
        issuer: Option<String>,
        audience: Option<String>,
        options: &Options,
    ) -> Result<Verifier, String> {
        let jwks = match jwks_path {
            Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                Some(Keys::Url(super::jwks::RemoteJwks::fetch_at_start(
                    url,
                    options.jwks_ca.as_deref(),
                    options.jwks_max_age,
                    options.jwks_min_refresh,
                )?))
            }
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read JWKS file {path}: {e}"))?;
                Some(Keys::File(
                    serde_json::from_str::<JwkSet>(&text)
                        .map_err(|e| format!("JWKS file {path}: {e}"))?,
                ))
            }
            None => None,
        };
        if secret.is_none() && jwks.is_none() {
            return Err("authentication is on but neither CHARTROOM_JWT_HS256_SECRET nor CHARTROOM_JWT_JWKS is set".into());
        }
        Ok(Verifier {
            secret: secret.map(|s| DecodingKey::from_secret(s.as_bytes())),
            jwks,
            issuer,
            audience,
            leeway: options.leeway,
        })
    }

    /// Verifies a compact JWT and returns its claims.
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let header = decode_header(token).map_err(|e| TokenError(format!("header: {e}")))?;
        let key = match header.alg {
            Algorithm::HS256 => self
                .secret
                .clone()
                .ok_or_else(|| TokenError("HS256 not configured".into()))?,
            Algorithm::RS256 | Algorithm::ES256 => {
                let jwk = match self.jwks.as_ref() {
                    None => return Err(TokenError("no JWKS configured".into())),
                    Some(Keys::File(set)) => find_key(set, header.kid.as_deref()),
                    Some(Keys::Url(remote)) => remote.key(header.kid.as_deref()),
                }
                .ok_or_else(|| TokenError("unknown key id".into()))?;
                DecodingKey::from_jwk(&jwk).map_err(|e| TokenError(format!("jwk: {e}")))?
            }
            other => return Err(TokenError(format!("algorithm {other:?} refused"))),
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway;
        validation.validate_nbf = true;
        validation.set_required_spec_claims(&["exp"]);
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        if let Some(iss) = &self.issuer {
            validation.set_issuer(&[iss]);
        }
        decode::<Claims>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| TokenError(e.to_string()))
    }
}

/// Verification settings besides the keys.
struct Options {
    leeway: u64,
    /// Extra CA certificates (PEM file) for an `https://` JWKS URL.
    jwks_ca: Option<String>,
    jwks_max_age: std::time::Duration,
    jwks_min_refresh: std::time::Duration,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            leeway: 30,
            jwks_ca: None,
            jwks_max_age: std::time::Duration::from_secs(3600),
            jwks_min_refresh: std::time::Duration::from_secs(30),
        }
    }
}

/// The key named `kid` (or the only key when the token names none).
pub fn find_key(set: &JwkSet, kid: Option<&str>) -> Option<jsonwebtoken::jwk::Jwk> {
    match kid {
        Some(kid) => set.find(kid),
        None if set.keys.len() == 1 => set.keys.first(),
        None => None,
    }
    .cloned()
}

/// Mints an HS256 token (development and tests).
pub fn mint(claims: &Claims, secret: &str) -> Result<String, String> {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp_in: i64) -> Claims {
        Claims {
            exp: chrono::Utc::now().timestamp() + exp_in,
            sub: "u1".into(),
            scope: "user/*.cruds".into(),
            ..Claims::default()
        }
    }

    #[test]
    fn round_trip_and_refusals() {
        let verifier = Verifier::new(Some("s3cret"), None, None, Some("chartroom".into())).unwrap();
        let mut good = claims(600);
        good.aud = Some("chartroom".into());
        let token = mint(&good, "s3cret").unwrap();
        assert_eq!(verifier.verify(&token).unwrap().sub, "u1");
        assert!(
            verifier.verify(&mint(&good, "other").unwrap()).is_err(),
            "wrong key"
        );
        let mut expired = good.clone();
        expired.exp -= 3600;
        assert!(
            verifier.verify(&mint(&expired, "s3cret").unwrap()).is_err(),
            "expired"
        );
        let mut wrong_aud = good.clone();
        wrong_aud.aud = Some("elsewhere".into());
        assert!(
            verifier
                .verify(&mint(&wrong_aud, "s3cret").unwrap())
                .is_err(),
            "audience"
        );
        let parts: Vec<&str> = token.split('.').collect();
        let none_header = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0";
        assert!(
            verifier
                .verify(&format!("{none_header}.{}.", parts[1]))
                .is_err(),
            "alg none"
        );
        let tampered = format!("{}.{}x.{}", parts[0], parts[1], parts[2]);
        assert!(verifier.verify(&tampered).is_err(), "tampered payload");
    }
}
