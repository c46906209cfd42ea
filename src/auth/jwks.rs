//! A JWKS fetched from a URL (`CHARTROOM_JWT_JWKS=http://...`): fetched at start, kept for
//! `jwks_cache_seconds`, fetched again when a token names an unknown `kid` — at most once
//! per `jwks_refresh_seconds`, so a flood of forged key ids cannot hammer the issuer.
//! Plain `http://` only: this build carries no TLS backend (an `https://` URL is refused
//! at start with a clear message).

use jsonwebtoken::jwk::{Jwk, JwkSet};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

/// Keys from a JWKS URL, cached.
pub struct RemoteJwks {
    url: String,
    max_age: Duration,
    min_refresh: Duration,
    keys: RwLock<(JwkSet, Instant)>,
    /// When the last fetch was attempted (successful or not).
    last_attempt: Mutex<Instant>,
}

/// Fetches and parses the key set. Runs on a thread of its own: the blocking client may
/// not run on an async runtime's thread, and verification happens on one.
fn fetch(url: &str) -> Result<JwkSet, String> {
    let url = url.to_string();
    std::thread::spawn(move || -> Result<JwkSet, String> {
        let client = jwks_http::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .map_err(|e| format!("JWKS client: {e}"))?;
        let response = client
            .get(&url)
            .send()
            .map_err(|e| format!("JWKS {url}: {e}"))?;
        if !response.status().is_success() {
            return Err(format!("JWKS {url}: HTTP {}", response.status()));
        }
        let text = response.text().map_err(|e| format!("JWKS {url}: {e}"))?;
        serde_json::from_str::<JwkSet>(&text).map_err(|e| format!("JWKS {url}: {e}"))
    })
    .join()
    .map_err(|_| "JWKS fetch thread failed".to_string())?
}

impl RemoteJwks {
    /// Fetches the set once; the server does not start without it.
    pub fn fetch_at_start(
        url: &str,
        max_age: Duration,
        min_refresh: Duration,
    ) -> Result<RemoteJwks, String> {
        if url.starts_with("https://") {
            return Err(format!(
                "JWKS URL {url}: https is not supported by this build (no TLS backend); \
                 serve the JWKS over http on a trusted network or give a JWKS file path"
            ));
        }
        let set = fetch(url)?;
        let now = Instant::now();
        Ok(RemoteJwks {
            url: url.to_string(),
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
        match fetch(&self.url) {
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
