//! Bearer tokens: verification (HS256 with a shared secret; RS256/ES256 with keys from a
//! JWKS file) with `iss`/`aud`/`exp`/`nbf` checks, and minting of development tokens.
//! A failed check says only "invalid token": no detail helps a forger.

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
    pub fn into_principal(self) -> Principal {
        let scope = if self.scope.trim().is_empty() {
            self.chartroom_roles
                .iter()
                .filter_map(|r| super::roles::default_scopes(r))
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
    jwks: Option<JwkSet>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
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
        let jwks = match jwks_path {
            Some(path) if path.starts_with("http://") || path.starts_with("https://") => {
                return Err("a JWKS URL is not supported yet; give a JWKS file path".into())
            }
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("cannot read JWKS file {path}: {e}"))?;
                Some(
                    serde_json::from_str::<JwkSet>(&text)
                        .map_err(|e| format!("JWKS file {path}: {e}"))?,
                )
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
            leeway: 30,
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
                let set = self
                    .jwks
                    .as_ref()
                    .ok_or_else(|| TokenError("no JWKS configured".into()))?;
                let jwk = match &header.kid {
                    Some(kid) => set.find(kid),
                    None if set.keys.len() == 1 => set.keys.first(),
                    None => None,
                }
                .ok_or_else(|| TokenError("unknown key id".into()))?;
                DecodingKey::from_jwk(jwk).map_err(|e| TokenError(format!("jwk: {e}")))?
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
