//! ES256/RS256 tokens checked against a JWKS file and a JWKS URL served by a local server
//! (on 127.0.0.1, over http or https) that rotates its keys: fetched at start, refreshed on
//! an unknown `kid`, at most once per `jwks_refresh_seconds`; wrong key and wrong `kid`
//! refused. Over https the server's certificate comes from a CA made at test time and
//! trusted through `jwt_jwks_ca`; a certificate from a CA nobody trusts fails the fetch.

use crate::helpers::{parts, spawn_traced, spawn_with, Backend};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

// test-only P-256 keys (PKCS#8) and their public coordinates
const KEY_ONE: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgig/NBKRntWJN5QHf
dgCry0IjU+ZY/0ZhFrDhMffo1ZyhRANCAASaaWAMxsxNpRU0yGrcddNCNbZ2SvFm
72UFTRfwUKC4cxFsoCX6auDgvnkYARrSspeUkH5xEy/08TLNInlCTmLn
-----END PRIVATE KEY-----
";
const PUBLIC_ONE: (&str, &str) = (
    "mmlgDMbMTaUVNMhq3HXTQjW2dkrxZu9lBU0X8FCguHM",
    "EWygJfpq4OC-eRgBGtKyl5SQfnETL_TxMs0ieUJOYuc",
);
const KEY_TWO: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgirUudqGR5ZKPBp91
FdxVTHhfQC0uOmPUUk3MzePH1eyhRANCAARZQ/aDBSr+pcC95pkBGIu+kU+rvb5H
xYSfjDpYZ0pG1b7Spjj2SckvEZcebzjkvcWoOiP6V/w3WUusnHX968vD
-----END PRIVATE KEY-----
";
const PUBLIC_TWO: (&str, &str) = (
    "WUP2gwUq_qXAveaZARiLvpFPq72-R8WEn4w6WGdKRtU",
    "vtKmOPZJyS8Rlx5vOOS9xag6I_pX_DdZS6ycdf3ry8M",
);

// a test-only RSA key (PKCS#1) and its modulus; the exponent is 65537
const KEY_RSA: &str = "-----BEGIN RSA PRIVATE KEY-----
MIIEowIBAAKCAQEAsS1tHQRV1oFoyf/g0fzk7XopvetsSliJFbZEOdyCzHDWyOUP
k8+luWWYSdVVXXl2Z3VZGn+HyYt3ntsE4aPYUF0IsSzSEP1x02ynnnivgZlgWt8n
f863PCxffUigrOKHsSmZWZnJ8aog4+bOtXwTxjUF5F5l6noI17VYLGREbUqiubd1
qPNwFfB1QDrEqbA/qhLvqVOgmdhkFyxvb1PZqjjmZowzn3BwpTw7V/KwiGJnkeOT
9kdgivYhhC4itat8bDtGya6SafU84bQ7/IutTkxBsYj6/NJVMdFCtb5HmH7cP64y
WnYFO7MTiBqwKo4kfFOvqFXMr7/hhNhpbYdptwIDAQABAoIBAEcZPo8FXVjN53og
B1zcyhUOD9AZuAQBkUk4MhqyBX76zQYi/WRIUG2cekcup6nyAvSzX4VFpfzXzbHe
nA/cCwL8wm8u2EFfIx0/nef28B7mqIbuw9AC6P7po4wH6ApYgTEzy0jscOBccARk
a5DicKD6SBoDU4yLWh8Ns4tk1RyxyqRnAdpTMe3EBPfATCzkiil5JfTKNkWnj7QJ
joBfsEC9yhO8KjpCxWo43HKmTDpdXTozNDAu1YWZod7yOC7+ZahqLZfSUV77WYdc
NXtEmv9JApUVlL6vHjY3NzOHv4tWhtSuopkq6yYfEfeHuC9xiI9Zqaf8zWWK7fFK
X9MQnsECgYEA3AB8lIYn8zy/4A60qxYqm61Wdgk4RLs7bvCyaBo9y8p8y9ZU0iIT
h2ckqPzQwWSnZxIwQKVA/XI6bmnRn2vjsRBWu6+c41Q1qnFfZjBg/b2gFGNM+geZ
IWrbgGJNxoJ6PA9k/TUnQps4TC/PI9BJqYa3jJo0NTMdevt7UfwlPRcCgYEAzisY
LymAU88xeKAy/+o/NAswQmTkXCc2ZP2Uqnp5MOc4UGXttnIcNgGwSQNzAvYyo615
7cP04MzLjVQfkNESEd2cyF5z6POw6Ecjhe70uftXCHrsLNZPFfVC8AVSqwyiM5T9
17V+2BwhktKvt07fGTWoqjBcqjjLIivLmlqhXGECgYATHGO2DzVXNtbAIubk2ccX
wOX62PAvYEhYacZFrsnhcxSGLHcvzc/+eiJAH74OnqzAEl9orjJIEe0rfDu+aoPb
9LxkD2xEfyMuTCzqVpeGUzudqcadDZ3qvjqVG3UAIoN1xiySplRjv9ITJDANP2G2
vUIij56rZGZSMZhT1eByPwKBgCN5vN6YqJFDTMLx5fStTRTafAJgs/67bJuyGru+
+U2V69XBxEapmfsdDUVzB35R+OK7PgjQuDlaZAg8mnXj09UpKgo8XnuOOzmszAsG
1CuQeShnZm5Mri0cF9mPQOtX8C0qDQfqHhp3tLs776p+Mtt2pUArtDZCMYn+uTkl
MTDhAoGBAKi4adenUhI2FCnGuLqbkrWj/RRNW8vco16E7sAjDW8WrY3b3suv/2hR
ghTyqpYiadUzKm2ydosFR9gZxX7YuDOCmTuu7osrXZ+gl5NLC/q0CaPlCvZxgADR
DD+m5ZWhp7qYsqgIgtbvtpt83Oj6RZKrrS6TUE26xUgWULnQkHjp
-----END RSA PRIVATE KEY-----
";
const PUBLIC_RSA: &str = "sS1tHQRV1oFoyf_g0fzk7XopvetsSliJFbZEOdyCzHDWyOUPk8-luWWYSdVVXXl2Z3VZGn-HyYt3ntsE4aPYUF0IsSzSEP1x02ynnnivgZlgWt8nf863PCxffUigrOKHsSmZWZnJ8aog4-bOtXwTxjUF5F5l6noI17VYLGREbUqiubd1qPNwFfB1QDrEqbA_qhLvqVOgmdhkFyxvb1PZqjjmZowzn3BwpTw7V_KwiGJnkeOT9kdgivYhhC4itat8bDtGya6SafU84bQ7_IutTkxBsYj6_NJVMdFCtb5HmH7cP64yWnYFO7MTiBqwKo4kfFOvqFXMr7_hhNhpbYdptw";

fn jwk(kid: &str, (x, y): (&str, &str)) -> serde_json::Value {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256", "x": x, "y": y})
}

fn rsa_jwk(kid: &str) -> serde_json::Value {
    json!({"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256", "n": PUBLIC_RSA, "e": "AQAB"})
}

/// DER is the PEM body, base64-decoded (this build has no PEM parser).
fn der(pem: &str) -> Vec<u8> {
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap()
}

/// A token for the audience `chartroom` expiring `exp_in` seconds from now.
fn signed(alg: Algorithm, kid: &str, pem: &str, exp_in: i64) -> String {
    let mut header = Header::new(alg);
    header.kid = Some(kid.into());
    let claims = json!({"aud": "chartroom", "sub": "idp-user", "scope": "user/*.rs",
        "exp": chrono::Utc::now().timestamp() + exp_in});
    let key = match alg {
        Algorithm::RS256 => EncodingKey::from_rsa_der(&der(pem)),
        _ => EncodingKey::from_ec_der(&der(pem)),
    };
    encode(&header, &claims, &key).unwrap()
}

fn es256(kid: &str, pem: &str) -> String {
    signed(Algorithm::ES256, kid, pem, 600)
}

/// A CA made for one test and a certificate it signed for 127.0.0.1 and localhost.
struct Pki {
    ca_pem: String,
    server: Arc<rustls::ServerConfig>,
}

fn pki(name: &str) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("{name} test CA"));
    let ca_pem = ca_params.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![cert.der().clone()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
        )
        .unwrap();
    Pki {
        ca_pem,
        server: Arc::new(server),
    }
}

/// A JWKS server on 127.0.0.1 answering every request with the current set (over TLS with
/// the current certificate when `tls` holds one); counts the requests it answered.
struct JwksServer {
    url: String,
    set: Arc<Mutex<String>>,
    tls: Arc<Mutex<Option<Arc<rustls::ServerConfig>>>>,
    fetches: Arc<AtomicUsize>,
}

fn serve(initial: serde_json::Value, tls: Option<Arc<rustls::ServerConfig>>) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let scheme = if tls.is_some() { "https" } else { "http" };
    let url = format!("{scheme}://{}/jwks.json", listener.local_addr().unwrap());
    let set = Arc::new(Mutex::new(initial.to_string()));
    let tls = Arc::new(Mutex::new(tls));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (shared, config, count) = (set.clone(), tls.clone(), fetches.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let body = shared.lock().unwrap().clone();
            let current = config.lock().unwrap().clone();
            let answered = match current {
                None => answer(stream, &body),
                Some(config) => {
                    let connection = rustls::ServerConnection::new(config).unwrap();
                    let mut stream = rustls::StreamOwned::new(connection, stream);
                    let answered = answer(&mut stream, &body);
                    stream.conn.send_close_notify();
                    let _ = stream.flush();
                    answered
                }
            };
            if answered {
                count.fetch_add(1, Ordering::SeqCst);
            }
        }
    });
    JwksServer {
        url,
        set,
        tls,
        fetches,
    }
}

/// Reads one request and answers it with `body`; false when no request arrived (a client
/// that gave up during the TLS handshake).
fn answer(mut stream: impl Read + Write, body: &str) -> bool {
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => request.extend_from_slice(&buf[..n]),
        }
    }
    write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .is_ok()
}

/// A file in a directory of its own under the temporary directory, removed on drop.
struct TempFile(std::path::PathBuf);

impl TempFile {
    fn new(name: &str, contents: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("jwks-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        TempFile(path)
    }

    fn path(&self) -> String {
        self.0.to_string_lossy().to_string()
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn status(app: &crate::helpers::TestApp, token: &str) -> u16 {
    parts(app.get("Patient").bearer_auth(token).send().unwrap()).0
}

fn jwks_url_rotation(backend: Backend) {
    let server = serve(json!({"keys": [jwk("one", PUBLIC_ONE)]}), None);
    let url = server.url.clone();
    let app = spawn_with(backend, move |c| {
        c.auth = "on".into();
        c.jwt_jwks = Some(url);
        c.jwt_audience = Some("chartroom".into());
        c.jwks_refresh_seconds = 2;
    });
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "fetched at start");
    assert_eq!(status(&app, &es256("one", KEY_ONE)), 200);
    assert_eq!(
        status(&app, &es256("one", KEY_TWO)),
        401,
        "wrong key for the kid"
    );
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "known kids come from the cache"
    );
    // the issuer rotates to key two: the unknown kid fetches the set once more
    *server.set.lock().unwrap() = json!({"keys": [jwk("two", PUBLIC_TWO)]}).to_string();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(status(&app, &es256("two", KEY_TWO)), 200);
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
    // unknown kids right after: refused without hammering the issuer
    for kid in ["three", "four", "one"] {
        assert_eq!(status(&app, &es256(kid, KEY_ONE)), 401, "kid {kid}");
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "at most one fetch per jwks_refresh_seconds"
    );
    assert_eq!(
        status(&app, &es256("two", KEY_TWO)),
        200,
        "the cached set still works"
    );
    let (_, outcome) = parts(
        app.get("Patient")
            .bearer_auth(es256("nine", KEY_TWO))
            .send()
            .unwrap(),
    );
    assert_eq!(outcome["issue"][0]["diagnostics"], "invalid token");
}

crate::on_both_backends!(jwks_url_rotation);

fn jwks_file_and_refusals(backend: Backend) {
    let jwks = TempFile::new(
        "jwks.json",
        &json!({"keys": [jwk("one", PUBLIC_ONE)]}).to_string(),
    );
    let file = jwks.path();
    let app = spawn_with(backend, move |c| {
        c.auth = "on".into();
        c.jwt_jwks = Some(file);
        c.jwt_audience = Some("chartroom".into());
    });
    assert_eq!(status(&app, &es256("one", KEY_ONE)), 200);
    assert_eq!(status(&app, &es256("two", KEY_TWO)), 401, "wrong kid");
    assert_eq!(status(&app, &es256("one", KEY_TWO)), 401, "wrong key");
}

crate::on_both_backends!(jwks_file_and_refusals);

fn jwks_over_https(backend: Backend) {
    let (ours, theirs) = (pki("chartroom"), pki("unknown"));
    let ca = TempFile::new("ca.pem", &ours.ca_pem);
    let server = serve(
        json!({"keys": [jwk("one", PUBLIC_ONE), rsa_jwk("rsa")]}),
        Some(ours.server.clone()),
    );
    let (url, ca_path) = (server.url.clone(), ca.path());
    let logs = Arc::new(Mutex::new(Vec::new()));
    let sink = logs.clone();
    let writer = move || crate::observability::Capture(sink.clone());
    let dispatch = chartroom::telemetry::subscriber("info", writer, None, "info");
    let app = spawn_traced(
        backend,
        move |c| {
            c.auth = "on".into();
            c.jwt_jwks = Some(url);
            c.jwt_jwks_ca = Some(ca_path);
            c.jwt_audience = Some("chartroom".into());
            c.jwks_refresh_seconds = 2;
        },
        Some(dispatch),
    );
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1, "fetched at start");
    assert_eq!(status(&app, &es256("one", KEY_ONE)), 200, "ES256");
    let rs256 = signed(Algorithm::RS256, "rsa", KEY_RSA, 600);
    assert_eq!(status(&app, &rs256), 200, "RS256");
    assert_eq!(status(&app, &es256("one", KEY_TWO)), 401, "wrong key");
    let expired = signed(Algorithm::ES256, "one", KEY_ONE, -3600);
    assert_eq!(status(&app, &expired), 401, "expired");
    let (head, rest) = rs256.split_once('.').unwrap();
    assert_eq!(status(&app, &format!("{head}.x{rest}")), 401, "tampered");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
    // key rotation: the unknown kid fetches the set again, over https
    *server.set.lock().unwrap() = json!({"keys": [jwk("two", PUBLIC_TWO)]}).to_string();
    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(status(&app, &es256("two", KEY_TWO)), 200, "rotated key");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2, "fetched again");
    // the issuer now shows a certificate from a CA nobody configured: the fetch fails in
    // the handshake, the token is refused, the cached keys still work
    *server.tls.lock().unwrap() = Some(theirs.server.clone());
    std::thread::sleep(Duration::from_millis(2100));
    let (code, outcome) = parts(
        app.get("Patient")
            .bearer_auth(es256("three", KEY_ONE))
            .send()
            .unwrap(),
    );
    assert_eq!(code, 401);
    assert_eq!(outcome["issue"][0]["diagnostics"], "invalid token");
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        2,
        "no request past the handshake"
    );
    let text = String::from_utf8(logs.lock().unwrap().clone()).unwrap();
    let failure = text
        .lines()
        .find(|l| l.contains("JWKS refresh failed"))
        .unwrap_or_else(|| panic!("the failed refresh was not logged:\n{text}"));
    assert!(failure.contains("invalid peer certificate"), "{failure}");
    assert_eq!(status(&app, &es256("two", KEY_TWO)), 200, "cached keys");
}

crate::on_both_backends!(jwks_over_https);

/// A JWKS URL whose certificate no configured CA vouches for stops the server at start
/// (as an unreachable one does), with the reason; so does a CA file without certificates.
#[test]
fn untrusted_jwks_certificate_refused_at_start() {
    let (ours, theirs) = (pki("chartroom"), pki("unknown"));
    let server = serve(json!({"keys": [jwk("one", PUBLIC_ONE)]}), Some(ours.server));
    let config = |ca: Option<String>| chartroom::config::Config {
        auth: "on".into(),
        jwt_jwks: Some(server.url.clone()),
        jwt_jwks_ca: ca,
        ..Default::default()
    };
    let error = chartroom::verifier(&config(None)).err().unwrap();
    assert!(error.contains(&server.url), "{error}");
    assert!(error.contains("invalid peer certificate"), "{error}");
    let other = TempFile::new("other.pem", &theirs.ca_pem);
    let error = chartroom::verifier(&config(Some(other.path())))
        .err()
        .unwrap();
    assert!(error.contains("invalid peer certificate"), "{error}");
    let junk = TempFile::new("junk.pem", "not a certificate\n");
    let error = chartroom::verifier(&config(Some(junk.path())))
        .err()
        .unwrap();
    assert!(error.contains("no PEM certificate"), "{error}");
    assert_eq!(server.fetches.load(Ordering::SeqCst), 0);
    let ca = TempFile::new("ca.pem", &ours.ca_pem);
    assert!(chartroom::verifier(&config(Some(ca.path()))).is_ok());
    assert_eq!(server.fetches.load(Ordering::SeqCst), 1);
}
