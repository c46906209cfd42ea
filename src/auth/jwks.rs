//! A JWKS fetched from a URL (`CHARTROOM_JWT_JWKS=https://...`): fetched at start, kept for
//! `jwks_cache_seconds`, fetched again when a token names an unknown `kid` — at most once
//! per `jwks_refresh_seconds`, so a flood of forged key ids cannot hammer the issuer.
//! `https://` is checked against the operating system's trust roots plus the CA
//! certificates of `CHARTROOM_JWT_JWKS_CA` (rustls with the ring provider); plain `http://`
//! still works (development, tests) but is warned about at start unless it stays on this host.

use jsonwebtoken::jwk::{Jwk, JwkSet};
use jwks_http::Certificate;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Keys from a JWKS URL, cached.
pub struct RemoteJwks {
    url: String,
    /// Trusted besides the operating system's roots.
    extra_roots: Vec<Certificate>,
    max_age: Duration,
    min_refresh: Duration,
    keys: RwLock<(JwkSet, Instant)>,
    /// When the last fetch was attempted (successful or not).
    last_attempt: Mutex<Instant>,
}

/// Fetches and parses the key set. Runs on a thread of its own: the blocking client may
/// not run on an async runtime's thread, and verification happens on one.
fn fetch(url: &str, extra_roots: &[Certificate]) -> Result<JwkSet, String> {
    let url = url.to_string();
    let extra_roots = extra_roots.to_vec();
    std::thread::spawn(move || -> Result<JwkSet, String> {
        let client = jwks_http::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .tls_certs_merge(extra_roots)
            .build()
            .map_err(|e| format!("JWKS client: {}", causes(&e)))?;
        let response = client
            .get(&url)
            .send()
            .map_err(|e| format!("JWKS {url}: {}", causes(&e)))?;
        if !response.status().is_success() {
            return Err(format!("JWKS {url}: HTTP {}", response.status()));
        }
        let text = response.text().map_err(|e| format!("JWKS {url}: {e}"))?;
        serde_json::from_str::<JwkSet>(&text).map_err(|e| format!("JWKS {url}: {e}"))
    })
    .join()
    .map_err(|_| "JWKS fetch thread failed".to_string())?
}

/// An error with its sources: reqwest's own message does not say why a TLS handshake failed.
fn causes(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The CA certificates of a PEM file (`CHARTROOM_JWT_JWKS_CA`).
fn read_roots(path: &str) -> Result<Vec<Certificate>, String> {
    let pem = std::fs::read(path).map_err(|e| format!("cannot read JWKS CA file {path}: {e}"))?;
    let roots =
        Certificate::from_pem_bundle(&pem).map_err(|e| format!("JWKS CA file {path}: {e}"))?;
    if roots.is_empty() {
        return Err(format!("JWKS CA file {path} holds no PEM certificate"));
    }
    Ok(roots)
}

/// True for plain `http://` to another host: keys anyone on the path could replace.
fn exposed(url: &str) -> bool {
    let Ok(url) = url::Url::parse(url) else {
        return false;
    };
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Domain(name)) => !name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => !ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => !ip.is_loopback(),
            None => true,
        }
}

impl RemoteJwks {
    /// Fetches the set once; the server does not start without it.
    pub fn fetch_at_start(
        url: &str,
        ca_file: Option<&str>,
        max_age: Duration,
        min_refresh: Duration,
    ) -> Result<RemoteJwks, String> {
        crate::tls::install_provider();
        let extra_roots = match ca_file {
            Some(path) => read_roots(path)?,
            None => Vec::new(),
        };
        if exposed(url) {
            tracing::warn!(
                url,
                "the JWKS URL is plain http to another host: the signing keys can be \
                 replaced in transit; use https"
            );
        }
        let set = fetch(url, &extra_roots)?;
        let now = Instant::now();
        Ok(RemoteJwks {
            url: url.to_string(),
            extra_roots,
            max_age,
            min_refresh,
            keys: RwLock::new((set, now)),
            last_attempt: Mutex::new(now),
        })
    }

    /// The key for `kid`: from the cache, or after one (rate-limited) fetch when the cache
    /// is stale or does not know the key.
    pub fn key(&self, kid: Option<&str>) -> Option<Jwk> {
        let (found, stale) = {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            (
                super::token::find_key(&keys.0, kid),
                keys.1.elapsed() >= self.max_age,
            )
        };
        if found.is_some() && !stale {
            return found;
        }
        if self.refresh() {
            let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
            return super::token::find_key(&keys.0, kid);
        }
        found
    }

    /// Fetches the set again unless a fetch was attempted less than `min_refresh` ago;
    /// true when a new set was stored.
    fn refresh(&self) -> bool {
        {
            let mut last = self.last_attempt.lock().unwrap_or_else(|e| e.into_inner());
            if last.elapsed() < self.min_refresh {
                return false;
            }
            *last = Instant::now();
        }
        match fetch(&self.url, &self.extra_roots) {
            Ok(set) => {
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = (set, Instant::now());
                tracing::info!(url = %self.url, "JWKS fetched again");
                true
            }
            Err(error) => {
                tracing::warn!(%error, "JWKS refresh failed; keeping the cached keys");
                false
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_exposed_unless_it_stays_on_this_host() {
        for url in [
            "http://idp.example/jwks.json",
            "http://10.0.0.7:8080/jwks",
            "http://[2001:db8::1]/jwks",
        ] {
            assert!(exposed(url), "{url}");
        }
        for url in [
            "https://idp.example/jwks.json",
            "http://localhost:8081/jwks",
            "http://LOCALHOST/jwks",
            "http://127.0.0.1:9000/jwks",
            "http://[::1]/jwks",
        ] {
            assert!(!exposed(url), "{url}");
        }
    }

    #[test]
    fn a_ca_file_must_hold_certificates() {
        let missing = read_roots("/nonexistent/ca.pem").err().unwrap();
        assert!(missing.contains("cannot read JWKS CA file"), "{missing}");
        let path = std::env::temp_dir().join(format!("jwks-ca-{}.pem", uuid::Uuid::new_v4()));
        std::fs::write(&path, "not a certificate\n").unwrap();
        let empty = read_roots(&path.to_string_lossy()).err().unwrap();
        let _ = std::fs::remove_file(&path);
        assert!(empty.contains("no PEM certificate"), "{empty}");
    }
}
