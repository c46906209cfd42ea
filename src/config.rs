//! Typed settings: defaults, an optional TOML file (`CHARTROOM_CONFIG`), then `CHARTROOM_*`
//! environment variables and command-line flags, in rising order of precedence.

use serde::Deserialize;
use std::path::Path;

/// Every setting chartroom reads. Field names match the TOML keys; the environment
/// variable is the upper-cased name prefixed with `CHARTROOM_`.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address the HTTP server binds to.
    pub listen: String,
    /// `sqlite://path.db` (embedded, default) or `postgres://user@host:port/db`.
    pub database_url: String,
    /// `on` (default) requires a Bearer token; `off` is for local development only.
    pub auth: String,
    /// Shared secret for HS256 development tokens.
    pub jwt_hs256_secret: Option<String>,
    /// JWKS file path or URL for RS256/ES256 tokens.
    pub jwt_jwks: Option<String>,
    /// PEM file of CA certificates trusted for an `https://` JWKS URL besides the
    /// operating system's roots (a private PKI).
    pub jwt_jwks_ca: Option<String>,
    /// Expected `iss` claim.
    pub jwt_issuer: Option<String>,
    /// Expected `aud` claim.
    pub jwt_audience: Option<String>,
    /// tracing filter, e.g. `info` or `chartroom=debug,actix_web=info`.
    pub log: String,
    /// Public FHIR base URL used in links (`http://host:port/fhir`); derived from the request when unset.
    pub base_url: Option<String>,
    /// Largest accepted request body in bytes.
    pub max_body_bytes: usize,
    /// Page size when a search or history request gives no `_count`.
    pub default_count: usize,
    /// Largest `_count` a client may ask for.
    pub max_count: usize,
    /// Database connections per server process (PostgreSQL; SQLite readers).
    pub pool_size: u32,
    /// SQLite `synchronous` pragma: FULL (default: an acknowledged write survives power loss) or NORMAL.
    pub sqlite_synchronous: String,
    /// ICD-10-CM/PCS codes on write: `off`, `warn` (default: stored, warnings reported) or
    /// `strict` (unknown codes refused with 422).
    pub coding_validation: String,
    /// Deficiency rules on write: `on` (default: judged in each write's transaction) or
    /// `off` (bulk loads; `chartroom sweep` finds the gaps later).
    pub deficiency_rules: String,
    /// Leeway in seconds for the `exp` and `nbf` token checks.
    pub jwt_leeway_seconds: u64,
    /// Seconds a JWKS fetched from a URL is kept before it is fetched again; an unknown
    /// `kid` fetches it at most once per `jwks_refresh_seconds`.
    pub jwks_cache_seconds: u64,
    /// Least seconds between two JWKS fetches caused by unknown key ids.
    pub jwks_refresh_seconds: u64,
    /// Seconds the active patient-privacy Consents are cached per process (0 = no cache).
    pub consent_cache_seconds: u64,
    /// Most entries in one transaction or batch Bundle.
    pub max_bundle_entries: usize,
    /// Most `_include` plus `_revinclude` parameters in one search.
    pub max_includes: usize,
    /// Most resources a search may include (`_include`/`_revinclude`, all rounds).
    pub max_included: usize,
    /// Deepest nesting of chains and `_has` in one search parameter.
    pub max_chain_depth: usize,
    /// When false, successful reads and searches are not audited (benchmark comparison
    /// only; writes, refusals and operations are always audited).
    pub audit_reads: bool,
    /// Default scopes per role (`[roles]` table), replacing the built-in ones.
    pub roles: std::collections::BTreeMap<String, String>,
    /// Directory for Bulk Data export files; empty: `chartroom-export` beside the SQLite
    /// file (or in the working directory for PostgreSQL). Replicas need a shared volume.
    pub export_dir: String,
    /// An export file is closed before it would pass this many bytes.
    pub export_file_bytes: usize,
    /// Export worker threads in this server process (0: this process runs no exports).
    pub export_workers: usize,
    /// A running export's lease: another process takes the job over when it expires.
    pub export_lease_seconds: usize,
    /// Pause after each finished export file, in milliseconds (tests; 0 in production).
    pub export_throttle_ms: usize,
    /// Seconds a finished (completed, failed or cancelled) export job and its files are
    /// kept; then the status and file URLs answer 404 and the worker deletes them.
    pub export_retention_seconds: usize,
    /// Reports: counts below this are suppressed (with complementary suppression) for
    /// callers without the identified-data permission.
    pub report_min_cell: usize,
    /// Reports: default age bands (`0-17,18-44,45-64,65-`).
    pub report_age_bands: String,
    /// Secret of the keyed pseudonyms in de-identified registry extracts (HMAC-SHA256 with
    /// a key derived per registry); de-identified extracts are refused while it is unset.
    pub registry_secret: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://chartroom.db".into(),
            auth: "on".into(),
            jwt_hs256_secret: None,
            jwt_jwks: None,
            jwt_jwks_ca: None,
            jwt_issuer: None,
            jwt_audience: None,
            log: "info".into(),
            base_url: None,
            max_body_bytes: 64 * 1024 * 1024,
            default_count: 50,
            max_count: 1000,
            pool_size: 8,
            sqlite_synchronous: "FULL".into(),
            coding_validation: "warn".into(),
            deficiency_rules: "on".into(),
            jwt_leeway_seconds: 30,
            jwks_cache_seconds: 3600,
            jwks_refresh_seconds: 30,
            consent_cache_seconds: 5,
            max_bundle_entries: 10_000,
            max_includes: 10,
            max_included: 5_000,
            max_chain_depth: 4,
            audit_reads: true,
            roles: Default::default(),
            export_dir: String::new(),
            export_file_bytes: 100 * 1024 * 1024,
            export_workers: 1,
            export_lease_seconds: 60,
            export_throttle_ms: 0,
            export_retention_seconds: 24 * 3600,
            report_min_cell: 11,
            report_age_bands: "0-17,18-44,45-64,65-".into(),
            registry_secret: None,
        }
    }
}

/// The names of all settings, for `--help` and the README table.
pub const SETTINGS: &[(&str, &str)] = &[
    ("listen", "127.0.0.1:8080"),
    ("database_url", "sqlite://chartroom.db"),
    ("auth", "on"),
    ("jwt_hs256_secret", ""),
    ("jwt_jwks", ""),
    ("jwt_jwks_ca", ""),
    ("jwt_issuer", ""),
    ("jwt_audience", ""),
    ("log", "info"),
    ("base_url", ""),
    ("max_body_bytes", "67108864"),
    ("default_count", "50"),
    ("max_count", "1000"),
    ("pool_size", "8"),
    ("sqlite_synchronous", "FULL"),
    ("coding_validation", "warn"),
    ("deficiency_rules", "on"),
    ("jwt_leeway_seconds", "30"),
    ("jwks_cache_seconds", "3600"),
    ("jwks_refresh_seconds", "30"),
    ("consent_cache_seconds", "5"),
    ("max_bundle_entries", "10000"),
    ("max_includes", "10"),
    ("max_included", "5000"),
    ("max_chain_depth", "4"),
    ("audit_reads", "true"),
    ("export_dir", ""),
    ("export_file_bytes", "104857600"),
    ("export_workers", "1"),
    ("export_lease_seconds", "60"),
    ("export_throttle_ms", "0"),
    ("export_retention_seconds", "86400"),
    ("report_min_cell", "11"),
    ("report_age_bands", "0-17,18-44,45-64,65-"),
    ("registry_secret", ""),
];

impl Config {
    /// Defaults, then the TOML file named by `CHARTROOM_CONFIG` (if any), then `CHARTROOM_*` variables.
    pub fn load() -> Result<Config, String> {
        let mut config = match std::env::var("CHARTROOM_CONFIG") {
            Ok(path) if !path.is_empty() => Config::from_file(Path::new(&path))?,
            _ => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    fn from_file(path: &Path) -> Result<Config, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read config file {}: {e}", path.display()))?;
        toml::from_str(&text).map_err(|e| format!("config file {}: {e}", path.display()))
    }

    /// Overrides from variables named `CHARTROOM_<SETTING>`; `lookup` returns a variable's value.
    pub fn apply_env(&mut self, lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
        for (name, _) in SETTINGS {
            if let Some(value) = lookup(&format!("CHARTROOM_{}", name.to_uppercase())) {
                self.set(name, &value)?;
            }
        }
        Ok(())
    }

    /// Sets one setting from its text form.
    pub fn set(&mut self, name: &str, value: &str) -> Result<(), String> {
        let number = |v: &str| {
            v.parse::<usize>()
                .map_err(|_| format!("setting {name}: '{v}' is not a whole number"))
        };
        let optional = |v: &str| (!v.is_empty()).then(|| v.to_string());
        match name {
            "listen" => self.listen = value.into(),
            "database_url" => self.database_url = value.into(),
            "auth" => self.auth = value.into(),
            "jwt_hs256_secret" => self.jwt_hs256_secret = optional(value),
            "jwt_jwks" => self.jwt_jwks = optional(value),
            "jwt_jwks_ca" => self.jwt_jwks_ca = optional(value),
            "jwt_issuer" => self.jwt_issuer = optional(value),
            "jwt_audience" => self.jwt_audience = optional(value),
            "log" => self.log = value.into(),
            "base_url" => {
                self.base_url = optional(value).map(|v| v.trim_end_matches('/').to_string())
            }
            "max_body_bytes" => self.max_body_bytes = number(value)?,
            "default_count" => self.default_count = number(value)?,
            "max_count" => self.max_count = number(value)?,
            "pool_size" => self.pool_size = number(value)? as u32,
            "sqlite_synchronous" => self.sqlite_synchronous = value.to_uppercase(),
            "coding_validation" => self.coding_validation = value.to_lowercase(),
            "deficiency_rules" => self.deficiency_rules = value.to_lowercase(),
            "jwt_leeway_seconds" => self.jwt_leeway_seconds = number(value)? as u64,
            "jwks_cache_seconds" => self.jwks_cache_seconds = number(value)? as u64,
            "jwks_refresh_seconds" => self.jwks_refresh_seconds = number(value)? as u64,
            "consent_cache_seconds" => self.consent_cache_seconds = number(value)? as u64,
            "max_bundle_entries" => self.max_bundle_entries = number(value)?,
            "max_includes" => self.max_includes = number(value)?,
            "max_included" => self.max_included = number(value)?,
            "max_chain_depth" => self.max_chain_depth = number(value)?,
            "audit_reads" => {
                self.audit_reads = match value {
                    "true" | "on" | "1" => true,
                    "false" | "off" | "0" => false,
                    _ => return Err(format!("setting {name}: '{value}' is not true or false")),
                }
            }
            "export_dir" => self.export_dir = value.into(),
            "export_file_bytes" => self.export_file_bytes = number(value)?.max(1),
            "export_workers" => self.export_workers = number(value)?,
            "export_lease_seconds" => self.export_lease_seconds = number(value)?.max(1),
            "export_throttle_ms" => self.export_throttle_ms = number(value)?,
            "export_retention_seconds" => self.export_retention_seconds = number(value)?.max(1),
            "report_min_cell" => self.report_min_cell = number(value)?,
            "report_age_bands" => self.report_age_bands = value.into(),
            "registry_secret" => self.registry_secret = optional(value),
            _ => return Err(format!("unknown setting {name}")),
        }
        self.check()
    }

    fn check(&self) -> Result<(), String> {
        if !matches!(self.auth.as_str(), "on" | "off") {
            return Err(format!("auth must be 'on' or 'off', not '{}'", self.auth));
        }
        if !matches!(self.sqlite_synchronous.as_str(), "FULL" | "NORMAL") {
            return Err("sqlite_synchronous must be FULL or NORMAL".into());
        }
        if !matches!(self.coding_validation.as_str(), "off" | "warn" | "strict") {
            return Err("coding_validation must be off, warn or strict".into());
        }
        if !matches!(self.deficiency_rules.as_str(), "on" | "off") {
            return Err("deficiency_rules must be on or off".into());
        }
        Ok(())
    }

    /// True when the deficiency rules run on write.
    pub fn deficiency_rules_on(&self) -> bool {
        self.deficiency_rules == "on"
    }

    /// True when requests need no token (explicit `auth = off`).
    pub fn auth_disabled(&self) -> bool {
        self.auth == "off"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides_defaults() {
        let mut config = Config::default();
        config
            .apply_env(|name| match name {
                "CHARTROOM_LISTEN" => Some("0.0.0.0:9000".into()),
                "CHARTROOM_MAX_COUNT" => Some("20".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000");
        assert_eq!(config.max_count, 20);
        assert_eq!(config.database_url, "sqlite://chartroom.db");
    }

    #[test]
    fn roles_table_in_the_file() {
        let config: Config =
            toml::from_str("max_includes = 3\n[roles]\ncoder = \"user/Condition.rs\"\n").unwrap();
        assert_eq!(config.roles["coder"], "user/Condition.rs");
        assert_eq!(config.max_includes, 3);
        let mut config = Config::default();
        assert!(config.set("audit_reads", "false").is_ok() && !config.audit_reads);
        assert!(config.set("audit_reads", "maybe").is_err());
    }

    #[test]
    fn bad_values_are_refused() {
        let mut config = Config::default();
        assert!(config.set("max_count", "many").is_err());
        assert!(config.set("auth", "maybe").is_err());
    }
}
