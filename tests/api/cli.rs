//! The README's run command as a user meets it: `chartroom serve` with no settings creates a
//! SQLite file and a development secret, refuses requests without a token, and accepts a
//! token minted by `chartroom token`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn serve_with_defaults_and_a_dev_token() {
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("serve-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&dir).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut server = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .arg("serve")
        .current_dir(&dir)
        .env("CHARTROOM_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("CHARTROOM_DATABASE_URL")
        .env_remove("CHARTROOM_AUTH")
        .env("CHARTROOM_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let base = format!("http://127.0.0.1:{port}/fhir");
    let client = reqwest::blocking::Client::new();
    let started = Instant::now();
    while client.get(format!("{base}/metadata")).send().is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        client
            .get(format!("{base}/Patient"))
            .send()
            .unwrap()
            .status(),
        401
    );
    let token = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["token", "--scope", "user/*.cruds"])
        .current_dir(&dir)
        .env_remove("CHARTROOM_DATABASE_URL")
        .output()
        .unwrap();
    assert!(token.status.success());
    let token = String::from_utf8(token.stdout).unwrap();
    let response = client
        .get(format!("{base}/Patient"))
        .bearer_auth(token.trim())
        .send()
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(dir.join("chartroom.db").exists() && dir.join("chartroom-dev-secret").exists());
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
