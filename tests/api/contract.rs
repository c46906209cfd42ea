//! The OpenAPI contract: schemathesis (PyPI) generates requests from the committed
//! `openapi/openapi.json` for Patient and Condition (every interaction), the system
//! interactions and every operation, against a live server on each store: no 5xx, every response matches its schema.
//! scripts/install-test-tools.sh installs it into target/tools-venv.

use crate::helpers::{spawn, Backend};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The operations exercised (the full document has ~1,800; the other types share these code
/// paths, and the run must stay within a few minutes of CI on 2 cores).
const PATHS: &str = "^/fhir/(Patient|Condition)(/|$)\
                     |^/fhir/(CodeSystem|ValueSet)/\\$|^/fhir/\\$\
                     |^/fhir/(metadata|_history|AuditEvent|\\.well-known/.*)$|^/fhir$\
                     |^/health|^/metrics|^/admin|^/openapi";

/// Generated cases per operation in the fuzzing phase (the coverage phase adds its boundary
/// cases): about 7,000 requests, 1.5 minutes per store.
const EXAMPLES: &str = "5";

const PRELOADED_CLI: &str = "import sys\n\
import schemathesis.transport.asgi, schemathesis.transport.requests, schemathesis.transport.wsgi\n\
from schemathesis.cli import schemathesis\n\
sys.argv[0] = 'st'\n\
sys.exit(schemathesis())";

/// A Python test tool from target/tools-venv, installing the tools first when missing.
pub fn tool(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("target/tools-venv/bin").join(name);
    // several tests may need the tools at once; one of them installs
    static INSTALL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = INSTALL.lock().unwrap_or_else(|e| e.into_inner());
    if !path.exists() {
        let status = Command::new("bash")
            .arg(root.join("scripts/install-test-tools.sh"))
            .status();
        assert!(
            status.is_ok_and(|s| s.success()) && path.exists(),
            "{name} is not installed and scripts/install-test-tools.sh could not install it \
             (needs python3 with venv and PyPI): run `bash scripts/install-test-tools.sh` \
             (.ci/run does) and rerun the tests"
        );
    }
    path
}

fn contract(backend: Backend) {
    // schemathesis imports its transports lazily, and two workers doing it at once can fail
    // (ImportError): import them before its CLI starts
    let python = tool("st").with_file_name("python3");
    let app = spawn(backend);
    // load the coding tables before the clock of the first terminology request starts
    let warm = app
        .get("CodeSystem/$lookup?system=http://hl7.org/fhir/sid/icd-10-cm&code=E11.9")
        .send()
        .unwrap();
    assert_eq!(warm.status(), 200);
    let work = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("contract-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&work).unwrap();
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/openapi.json");
    let output = Command::new(python)
        .current_dir(&work)
        .args(["-c", PRELOADED_CLI, "run"])
        .arg(&document)
        .args(["--url", app.root()])
        .args(["--checks", "not_a_server_error,response_schema_conformance"])
        // one worker: with two, hypothesis' example generation races on a shared cache and
        // reports a flaky runtime error (not a server finding) now and then
        .args(["--max-examples", EXAMPLES, "--workers", "1", "--seed", "7"])
        .args(["--request-timeout", "60", "--suppress-health-check", "all"])
        .args(["--include-path-regex", PATHS])
        .env("NO_COLOR", "1")
        .output()
        .expect("run schemathesis");
    let text = String::from_utf8_lossy(&output.stdout);
    let _ = std::fs::remove_dir_all(&work);
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{text}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.contains(" passed"), "{text}");
}
crate::on_both_backends!(contract);
