//! ES256 tokens checked against a JWKS file and a JWKS URL served by a local server (on
//! 127.0.0.1) that rotates its keys: fetched at start, refreshed on an unknown `kid`, at
//! most once per `jwks_refresh_seconds`; wrong key, wrong `kid` and `https` refused.

use crate::helpers::{parts, spawn_with, Backend};
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

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

fn jwk(kid: &str, (x, y): (&str, &str)) -> serde_json::Value {
    json!({"kty": "EC", "crv": "P-256", "kid": kid, "use": "sig", "alg": "ES256", "x": x, "y": y})
}

fn es256(kid: &str, pem: &str) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.into());
    let claims = json!({"aud": "chartroom", "sub": "idp-user", "scope": "user/*.rs",
        "exp": chrono::Utc::now().timestamp() + 600});
    // PKCS#8 DER is the PEM body, base64-decoded (this build has no PEM parser)
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, body).unwrap();
    encode(&header, &claims, &EncodingKey::from_ec_der(&der)).unwrap()
}

/// A JWKS server on 127.0.0.1 answering every request with the current set; counts fetches.
struct JwksServer {
    url: String,
    set: Arc<Mutex<String>>,
    fetches: Arc<AtomicUsize>,
}

fn serve(initial: serde_json::Value) -> JwksServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let set = Arc::new(Mutex::new(initial.to_string()));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (shared, count) = (set.clone(), fetches.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            count.fetch_add(1, Ordering::SeqCst);
            let body = shared.lock().unwrap().clone();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    JwksServer { url, set, fetches }
}

fn status(app: &crate::helpers::TestApp, token: &str) -> u16 {
    parts(app.get("Patient").bearer_auth(token).send().unwrap()).0
}

fn jwks_url_rotation(backend: Backend) {
    let server = serve(json!({"keys": [jwk("one", PUBLIC_ONE)]}));
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
    std::thread::sleep(std::time::Duration::from_millis(2100));
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
    let dir = std::env::temp_dir().join(format!("jwks-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("jwks.json");
    std::fs::write(&path, json!({"keys": [jwk("one", PUBLIC_ONE)]}).to_string()).unwrap();
    let file = path.to_string_lossy().to_string();
    let app = spawn_with(backend, move |c| {
        c.auth = "on".into();
        c.jwt_jwks = Some(file);
        c.jwt_audience = Some("chartroom".into());
    });
    assert_eq!(status(&app, &es256("one", KEY_ONE)), 200);
    assert_eq!(status(&app, &es256("two", KEY_TWO)), 401, "wrong kid");
    assert_eq!(status(&app, &es256("one", KEY_TWO)), 401, "wrong key");
    // https needs a TLS backend this build does not carry: refused at start, clearly
    let config = chartroom::config::Config {
        auth: "on".into(),
        jwt_jwks: Some("https://idp.example/jwks.json".into()),
        ..Default::default()
    };
    let error = chartroom::verifier(&config).err().unwrap();
    assert!(error.contains("https"), "{error}");
    let _ = std::fs::remove_dir_all(dir);
}

crate::on_both_backends!(jwks_file_and_refusals);
