//! deploy/: the Kubernetes manifests validate against the bundled Kubernetes schemas
//! (kubernetes-validate --strict), docker-compose.yml against the compose spec
//! (check-jsonschema), the Dockerfile passes hadolint; and the image's start command and
//! healthcheck, read from the Dockerfile, work when run on this host.

use crate::contract::tool;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn deploy(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("deploy")
        .join(file)
}

fn run(program: &Path, args: &[&std::ffi::OsStr]) -> (bool, String) {
    let output = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn kubernetes_manifests_validate() {
    let validate = tool("kubernetes-validate");
    let mut files: Vec<PathBuf> = std::fs::read_dir(deploy("k8s"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    let kinds: String = files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect();
    for kind in [
        "kind: Deployment",
        "kind: Service",
        "kind: ConfigMap",
        "kind: Secret",
        "kind: HorizontalPodAutoscaler",
        "kind: PodDisruptionBudget",
    ] {
        assert!(kinds.contains(kind), "no {kind} in deploy/k8s");
    }
    let mut args: Vec<&std::ffi::OsStr> = vec!["--strict".as_ref()];
    args.extend(files.iter().map(|f| f.as_os_str()));
    let (ok, text) = run(&validate, &args);
    assert!(ok, "{text}");
    assert_eq!(text.matches(" passed ").count(), 8, "{text}");
    // the validator does refuse a broken manifest
    let broken = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("broken-deployment.yaml");
    let deployment = std::fs::read_to_string(deploy("k8s/deployment.yaml")).unwrap();
    std::fs::write(
        &broken,
        deployment.replace("replicas: 3", "replicas: three"),
    )
    .unwrap();
    let (ok, text) = run(&validate, &["--strict".as_ref(), broken.as_os_str()]);
    assert!(!ok, "a broken manifest passed: {text}");
}

#[test]
fn compose_file_matches_the_compose_spec() {
    let check = tool("check-jsonschema");
    let compose = deploy("docker-compose.yml");
    let (ok, text) = run(
        &check,
        &[
            "--builtin-schema".as_ref(),
            "vendor.compose-spec".as_ref(),
            compose.as_os_str(),
        ],
    );
    assert!(ok, "{text}");
    let text = std::fs::read_to_string(&compose).unwrap();
    for service in ["chartroom:", "postgres:", "otel-collector:"] {
        assert!(
            text.contains(&format!("\n  {service}")),
            "no {service} service"
        );
    }
    assert!(deploy("otel-collector.yaml").exists());
}

#[test]
fn dockerfile_passes_hadolint() {
    let hadolint = tool("hadolint");
    let (ok, text) = run(&hadolint, &[deploy("Dockerfile").as_os_str()]);
    assert!(ok, "{text}");
}

/// The runtime stage of the Dockerfile: ENV pairs, ENTRYPOINT + CMD, HEALTHCHECK command.
struct Runtime {
    env: Vec<(String, String)>,
    command: Vec<String>,
    healthcheck: Vec<String>,
    user: String,
}

fn json_array(text: &str) -> Vec<String> {
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("not a JSON array: {text}: {e}"))
}

fn runtime_stage() -> Runtime {
    let text = std::fs::read_to_string(deploy("Dockerfile")).unwrap();
    let joined = text.replace("\\\n", " ");
    let stage = joined.rsplit("\nFROM ").next().unwrap();
    let (mut env, mut entrypoint, mut cmd, mut healthcheck, mut user) =
        (vec![], vec![], vec![], vec![], String::new());
    for line in stage.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("ENV ") {
            for pair in rest.split_whitespace() {
                let (k, v) = pair.split_once('=').expect("ENV KEY=VALUE");
                env.push((k.to_string(), v.to_string()));
            }
        } else if let Some(rest) = line.strip_prefix("ENTRYPOINT ") {
            entrypoint = json_array(rest);
        } else if let Some(rest) = line.strip_prefix("CMD ") {
            cmd = json_array(rest);
        } else if let Some(rest) = line.strip_prefix("HEALTHCHECK ") {
            healthcheck = json_array(rest.split_once(" CMD ").expect("HEALTHCHECK CMD").1);
        } else if let Some(rest) = line.strip_prefix("USER ") {
            user = rest.to_string();
        }
    }
    entrypoint.extend(cmd);
    Runtime {
        env,
        command: entrypoint,
        healthcheck,
        user,
    }
}

/// The image's paths and port mapped onto this host.
fn on_host(arg: &str, data: &Path, port: u16) -> String {
    arg.replace("/usr/local/bin/chartroom", env!("CARGO_BIN_EXE_chartroom"))
        .replace("/var/lib/chartroom", &data.display().to_string())
        .replace("0.0.0.0:8080", &format!("127.0.0.1:{port}"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"))
}

#[test]
fn image_start_command_and_healthcheck_work_on_the_host() {
    let image = runtime_stage();
    assert_eq!(image.command, ["/usr/local/bin/chartroom", "serve"]);
    assert!(!image.user.is_empty() && !image.user.starts_with('0') && image.user != "root");
    assert!(image.env.iter().any(|(k, _)| k == "CHARTROOM_LISTEN"));
    let data = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("image-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(&data).unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let host = |args: &[String]| -> Command {
        let mut c = Command::new(on_host(&args[0], &data, port));
        c.args(args[1..].iter().map(|a| on_host(a, &data, port)));
        c.current_dir(&data).env_clear();
        for (k, v) in &image.env {
            c.env(k, on_host(v, &data, port));
        }
        c
    };
    let mut server = host(&image.command)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let healthy = loop {
        let status = host(&image.healthcheck).output().unwrap().status;
        if status.success() {
            break true;
        }
        if started.elapsed() > Duration::from_secs(60) || server.try_wait().unwrap().is_some() {
            break false;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    // the Deployment's probes answer on the same server
    let live = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["probe", &format!("http://127.0.0.1:{port}/health/live")])
        .status()
        .unwrap();
    let missing = Command::new(env!("CARGO_BIN_EXE_chartroom"))
        .args(["probe", &format!("http://127.0.0.1:{port}/health/nothing")])
        .status()
        .unwrap();
    let _ = server.kill();
    let _ = server.wait();
    let database = data.join("chartroom.db").exists();
    let _ = std::fs::remove_dir_all(&data);
    assert!(healthy, "the HEALTHCHECK command never succeeded");
    assert!(live.success());
    assert!(!missing.success(), "probe accepted a 404");
    assert!(database, "the image's database URL was not used");
    let deployment = std::fs::read_to_string(deploy("k8s/deployment.yaml")).unwrap();
    for path in [
        "path: /health/live",
        "path: /health/ready",
        "args: [\"serve\"]",
    ] {
        assert!(deployment.contains(path), "deployment lacks {path}");
    }
}

#[test]
fn readme_configuration_table_lists_every_setting() {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    for (name, default) in chartroom::config::SETTINGS {
        let variable = format!("`CHARTROOM_{}`", name.to_uppercase());
        // settings without a default say what happens instead ("unset", "derived from ...")
        let row = if default.is_empty() {
            format!("| {name} | {variable} | ")
        } else {
            format!("| {name} | {variable} | `{default}` |")
        };
        assert!(
            readme.lines().any(|l| l.starts_with(&row)),
            "README's configuration table lacks a row `{row}`"
        );
    }
}
