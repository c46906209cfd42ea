//! `chartroom doctor` and `GET /admin/doctor`: checks configuration, database connectivity
//! and migrations, index consistency (repairable), the coding tables and clock skew, and
//! reports each as ok / warning / error.

use crate::config::Config;
use crate::db::{consistency, migrate, Db};
use crate::store::consistency::IndexReport;
use serde::Serialize;

/// How one check came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warning,
    Error,
}

/// One check and what it found.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub name: &'static str,
    pub status: Status,
    pub detail: String,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// False when any check is an error.
    pub ok: bool,
    pub checks: Vec<Check>,
    /// The index consistency details (absent when the database could not be checked).
    pub indexes: Option<IndexReport>,
}

/// Clock difference to the database that tokens' 30 s leeway still absorbs.
const SKEW_WARN_MS: i64 = 2_000;
const SKEW_ERROR_MS: i64 = 30_000;

fn check(name: &'static str, status: Status, detail: impl Into<String>) -> Check {
    Check {
        name,
        status,
        detail: detail.into(),
    }
}

/// Runs every check. `db` is None when the connection could not be opened (`open_error`
/// says why); `repair` rewrites drifted index rows and projections.
pub fn run(config: &Config, db: Result<&Db, String>, repair: bool) -> DoctorReport {
    let mut checks = configuration(config);
    let mut indexes = None;
    match db {
        Err(e) => checks.push(check("database", Status::Error, e)),
        Ok(db) => {
            let ping = db
                .read()
                .and_then(|mut c| c.batch("SELECT 1").map_err(crate::error::AppError::from));
            match ping {
                Err(e) => checks.push(check("database", Status::Error, e.to_string())),
                Ok(()) => {
                    checks.push(check(
                        "database",
                        Status::Ok,
                        format!("{} reachable", db.backend().name()),
                    ));
                    let migrated = migrations(db);
                    let current = migrated.status == Status::Ok;
                    checks.push(migrated);
                    if current {
                        let (c, report) = index_consistency(db, repair);
                        checks.push(c);
                        indexes = report;
                    }
                    checks.push(clock(db));
                }
            }
        }
    }
    checks.push(terminology());
    DoctorReport {
        ok: checks.iter().all(|c| c.status != Status::Error),
        checks,
        indexes,
    }
}

fn configuration(config: &Config) -> Vec<Check> {
    let mut problems: Vec<(Status, String)> = Vec::new();
    if config.listen.parse::<std::net::SocketAddr>().is_err() {
        problems.push((
            Status::Error,
            format!("listen '{}' is not an address:port", config.listen),
        ));
    }
    if let Some(base) = &config.base_url {
        match url::Url::parse(base) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {
                if !base.ends_with("/fhir") {
                    problems.push((
                        Status::Warning,
                        format!("base_url {base} does not end in /fhir"),
                    ));
                }
            }
            _ => problems.push((
                Status::Error,
                format!("base_url {base} is not an http(s) URL"),
            )),
        }
    }
    if !config.auth_disabled() && config.jwt_hs256_secret.is_none() && config.jwt_jwks.is_none() {
        let status = if config.database_url.starts_with("sqlite") {
            Status::Warning
        } else {
            Status::Error
        };
        problems.push((
            status,
            "no JWT key configured (CHARTROOM_JWT_HS256_SECRET or CHARTROOM_JWT_JWKS); \
             SQLite falls back to a development secret, PostgreSQL refuses to serve"
                .into(),
        ));
    }
    if let Some(jwks) = &config.jwt_jwks {
        let url = jwks.starts_with("http://") || jwks.starts_with("https://");
        if !url && !std::path::Path::new(jwks).is_file() {
            problems.push((
                Status::Error,
                format!("jwt_jwks file {jwks} does not exist"),
            ));
        }
    }
    if let Some(ca) = &config.jwt_jwks_ca {
        if !std::path::Path::new(ca).is_file() {
            problems.push((
                Status::Error,
                format!("jwt_jwks_ca file {ca} does not exist"),
            ));
        }
    }
    if config.auth_disabled() {
        problems.push((
            Status::Warning,
            "auth is off: every request is served without a token".into(),
        ));
    }
    if config.default_count > config.max_count {
        problems.push((
            Status::Warning,
            format!(
                "default_count {} is above max_count {}",
                config.default_count, config.max_count
            ),
        ));
    }
    if config.pool_size == 0 {
        problems.push((Status::Error, "pool_size is 0".into()));
    }
    if problems.is_empty() {
        return vec![check(
            "configuration",
            Status::Ok,
            "settings are consistent",
        )];
    }
    problems
        .into_iter()
        .map(|(status, detail)| check("configuration", status, detail))
        .collect()
}

fn migrations(db: &Db) -> Check {
    match migrate::pending(db) {
        Ok(p) if p.is_empty() => check("migrations", Status::Ok, "schema is current"),
        Ok(p) => check(
            "migrations",
            Status::Error,
            format!(
                "{} pending ({}): run `chartroom migrate` (serve applies them at start)",
                p.len(),
                p.join(", ")
            ),
        ),
        Err(e) => check("migrations", Status::Error, e),
    }
}

fn index_consistency(db: &Db, repair: bool) -> (Check, Option<IndexReport>) {
    match crate::store::consistency::check(db, repair, 500) {
        Err(e) => (check("indexes", Status::Error, e.to_string()), None),
        Ok(r) if r.clean() => (
            check(
                "indexes",
                Status::Ok,
                format!(
                    "{} current resource(s): index rows and projections match",
                    r.resources
                ),
            ),
            Some(r),
        ),
        Ok(r) => {
            let orphans: i64 = r.orphan_rows.values().sum();
            let what = format!(
                "{} of {} resource(s) drifted{}, {orphans} orphan row(s)",
                r.drifted_count,
                r.resources,
                if r.drifted.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", r.drifted.join(", "))
                }
            );
            let c = if r.repaired {
                check("indexes", Status::Ok, format!("repaired: {what}"))
            } else {
                check(
                    "indexes",
                    Status::Error,
                    format!("{what}: run `chartroom doctor --repair`"),
                )
            };
            (c, Some(r))
        }
    }
}

fn clock(db: &Db) -> Check {
    let db_ms = match db.read().and_then(|mut c| consistency::clock_ms(&mut c)) {
        Ok(ms) => ms,
        Err(e) => return check("clock", Status::Error, e.to_string()),
    };
    let skew = chrono::Utc::now().timestamp_millis() - db_ms;
    let status = match skew.abs() {
        s if s > SKEW_ERROR_MS => Status::Error,
        s if s > SKEW_WARN_MS => Status::Warning,
        _ => Status::Ok,
    };
    check(
        "clock",
        status,
        format!("this host is {skew} ms ahead of the database clock"),
    )
}

fn terminology() -> Check {
    match crate::coding::shared::terminology() {
        Ok(t) => {
            let s = t.stats();
            check(
                "terminology",
                Status::Ok,
                format!(
                    "ICD-10-CM {} codes, ICD-10-PCS {} codes, MCE {} rows",
                    s.cm_codes, s.pcs_codes, s.mce_rows
                ),
            )
        }
        Err(e) => check("terminology", Status::Error, e.to_string()),
    }
}

impl DoctorReport {
    /// The report as aligned text lines, ending in the verdict.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let status = match c.status {
                Status::Ok => "ok",
                Status::Warning => "WARNING",
                Status::Error => "ERROR",
            };
            out.push_str(&format!("{:<14} {:<8} {}\n", c.name, status, c.detail));
        }
        if let Some(r) = &self.indexes {
            for (table, n) in &r.orphan_rows {
                out.push_str(&format!(
                    "{:<14} {:<8} {table}: {n} orphan row(s)\n",
                    "", ""
                ));
            }
        }
        out.push_str(if self.ok {
            "doctor: no problems found\n"
        } else {
            "doctor: problems found\n"
        });
        out
    }
}

/// `chartroom probe URL`: GET an `http://host:port/path` URL and succeed on a 2xx status
/// (the container healthcheck; the runtime image has no curl).
pub fn probe(url: &str) -> Result<u16, String> {
    use std::io::{Read, Write};
    let parsed = url::Url::parse(url).map_err(|e| format!("{url}: {e}"))?;
    if parsed.scheme() != "http" {
        return Err(format!("{url}: only http:// URLs can be probed"));
    }
    let host = parsed.host_str().ok_or_else(|| format!("{url}: no host"))?;
    let port = parsed.port_or_known_default().unwrap_or(80);
    let timeout = std::time::Duration::from_secs(5);
    let address = std::net::ToSocketAddrs::to_socket_addrs(&(host, port))
        .map_err(|e| format!("{url}: {e}"))?
        .next()
        .ok_or_else(|| format!("{url}: no address"))?;
    let mut stream = std::net::TcpStream::connect_timeout(&address, timeout)
        .map_err(|e| format!("{url}: {e}"))?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n",
        parsed.path()
    );
    stream
        .write_all(request.as_bytes())
        .map_err(|e| format!("{url}: {e}"))?;
    let mut head = [0u8; 64];
    let n = stream.read(&mut head).map_err(|e| format!("{url}: {e}"))?;
    let status = String::from_utf8_lossy(&head[..n])
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("{url}: not an HTTP response"))?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(format!("{url}: HTTP {status}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jwks_url_is_not_a_missing_file() {
        let errors = |jwks: &str, ca: Option<&str>| {
            let config = Config {
                jwt_jwks: Some(jwks.into()),
                jwt_jwks_ca: ca.map(Into::into),
                ..Config::default()
            };
            configuration(&config)
                .into_iter()
                .filter(|c| c.status == Status::Error)
                .map(|c| c.detail)
                .collect::<Vec<_>>()
        };
        assert!(errors("https://idp.example/jwks.json", None).is_empty());
        assert!(errors("http://127.0.0.1:9000/jwks", None).is_empty());
        let missing = errors("/nonexistent/jwks.json", Some("/nonexistent/ca.pem"));
        assert_eq!(missing.len(), 2, "{missing:?}");
        assert!(missing[1].contains("jwt_jwks_ca"), "{missing:?}");
    }
}
