//! The `spin-local up` binary: start-up output, state dir, persistence across restarts,
//! variables from flags/env/.env, and its start-up errors.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use crate::common::{fixture_manifest, free_port, get, post};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_spin-local");

/// A running `spin-local up`, killed on drop.
struct Up {
    child: Child,
    url: String,
    stdout: Vec<String>,
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn command(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.arg("up")
        .args(args)
        .current_dir(cwd)
        .env_remove("SPIN_VARIABLE_SECRET")
        .env_remove("SPIN_VARIABLE_GREETING")
        .env_remove("SPIN_LOCAL_REDIS_MODE");
    cmd
}

/// Spawns and waits for the "Available Routes" listing (the server is up by then).
fn up(mut cmd: Command) -> Up {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::inherit()).spawn().expect("spawn spin-local");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut url = None;
    while let Ok(line) = rx.recv_timeout(Duration::from_secs(180)) {
        if let Some(u) = line.strip_prefix("Serving ") {
            url = Some(u.trim().to_string());
        }
        let done = line.contains("/bench");
        lines.push(line);
        if done {
            break;
        }
    }
    let url = url.unwrap_or_else(|| panic!("no `Serving` line; got {lines:?}"));
    Up { child, url, stdout: lines }
}

fn fixture_args(listen: &str, state: &Path) -> Vec<String> {
    vec![
        "--from".into(),
        fixture_manifest().display().to_string(),
        "--listen".into(),
        listen.into(),
        "--state-dir".into(),
        state.display().to_string(),
        "--variable".into(),
        "secret=s3cret".into(),
    ]
}

fn args_ref(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prints_serving_url_and_routes_and_creates_the_state_dir() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let listen = format!("127.0.0.1:{}", free_port());
    let server = up(command(dir.path(), &args_ref(&fixture_args(&listen, &state))));
    assert_eq!(server.url, format!("http://{listen}"));
    assert!(server.stdout.iter().any(|l| l == "Available Routes:"), "{:?}", server.stdout);
    assert!(
        server.stdout.iter().any(|l| l.trim() == format!("echo-wild: http://{listen}/echo (wildcard)")),
        "{:?}",
        server.stdout
    );
    assert!(state.join("logs").is_dir());
    assert!(state.join("sqlite_key_value.db").is_file());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_data_survives_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let state = dir.path().join("state");
    let listen = format!("127.0.0.1:{}", free_port());
    let args = fixture_args(&listen, &state);
    {
        let server = up(command(dir.path(), &args_ref(&args)));
        assert_eq!(post(&format!("{}/kv/spin/set/persisted", server.url), "still here").await.0, 200);
        assert_eq!(get(&format!("{}/kv/incr/count?delta=7", server.url)).await.1, "7");
    }
    let server = up(command(dir.path(), &args_ref(&args)));
    assert_eq!(get(&format!("{}/kv/wasi/get/persisted", server.url)).await, (200, "still here".into()));
    assert_eq!(get(&format!("{}/kv/incr/count?delta=1", server.url)).await.1, "8");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_come_from_flags_then_env_then_dotenv() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join(".env"), "SPIN_VARIABLE_SECRET=from-dotenv\nSPIN_VARIABLE_GREETING=dotenv\n")
        .expect("write .env");
    std::fs::write(dir.path().join("greeting.txt"), "from-file").expect("write file");
    let listen = format!("127.0.0.1:{}", free_port());
    let manifest = fixture_manifest().display().to_string();
    let base = ["--from", &manifest, "--listen", &listen, "--state-dir", ""];

    let mut cmd = command(dir.path(), &base);
    cmd.env("SPIN_VARIABLE_GREETING", "env");
    let server = up(cmd);
    assert_eq!(get(&format!("{}/vars/secret", server.url)).await.1, "from-dotenv");
    assert_eq!(get(&format!("{}/vars/greeting", server.url)).await.1, "env, world");
    drop(server);

    let mut with_flag = base.to_vec();
    with_flag.extend(["--variable", "greeting=@greeting.txt"]);
    let mut cmd = command(dir.path(), &with_flag);
    cmd.env("SPIN_VARIABLE_GREETING", "env");
    let server = up(cmd);
    assert_eq!(get(&format!("{}/vars/greeting", server.url)).await.1, "from-file, world");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_compare_and_swap_is_spin_4_1s_unless_the_flag_or_env_asks_for_correct() {
    let Some(redis) = crate::common::redis_server() else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let rc = crate::common::runtime_config(
        dir.path(),
        &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{}\"\n", redis.url),
    );
    let listen = format!("127.0.0.1:{}", free_port());
    let mut args = fixture_args(&listen, &dir.path().join("state"));
    args.extend(["--runtime-config-file".into(), rc.display().to_string()]);
    let mut with_flag = args.clone();
    with_flag.extend(["--redis-mode".into(), "correct".into()]);
    let mut with_env = command(dir.path(), &args_ref(&args));
    with_env.env("SPIN_LOCAL_REDIS_MODE", "correct");
    let runs = [
        (command(dir.path(), &args_ref(&args)), (409, "cas-failed")),
        (command(dir.path(), &args_ref(&with_flag)), (200, "won")),
        (with_env, (200, "won")),
    ];
    for (cmd, (status, outcome)) in runs {
        let server = up(cmd);
        post(&format!("{}/kv/spin/set/c", server.url), "v1").await;
        assert_eq!(post(&format!("{}/kv/cas/c?from=v1", server.url), "v2").await, (status, outcome.to_string()));
        assert_eq!(get(&format!("{}/kv/spin/get/c", server.url)).await.1, "v2", "written either way");
    }
}

/// `rediss://user:password@host:port`: the Redis URL the README recommends, in the form Spin's
/// Redis store takes it (redis-rs's URL syntax, TLS trusting the system roots, which
/// `SSL_CERT_FILE` replaces for both spin-local and Spin).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_store_over_tls_with_a_user_and_password_works_and_a_wrong_password_or_an_unknown_ca_fails() {
    let Some(redis) = spin_local_testing::secure_redis_server("app", "s3cret-pw") else { return };
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |url: &str, trust_test_ca: bool| {
        let rc = crate::common::runtime_config(
            dir.path(),
            &format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"),
        );
        let listen = format!("127.0.0.1:{}", free_port());
        let mut args = fixture_args(&listen, &dir.path().join("state"));
        args.extend(["--runtime-config-file".into(), rc.display().to_string()]);
        let mut cmd = command(dir.path(), &args_ref(&args));
        cmd.env_remove("SSL_CERT_FILE");
        if trust_test_ca {
            cmd.env("SSL_CERT_FILE", &redis.ca_file);
        }
        up(cmd)
    };
    let port = redis.port;
    let server = run(&format!("rediss://app:s3cret-pw@localhost:{port}"), true);
    assert_eq!(post(&format!("{}/kv/spin/set/k", server.url), "over tls").await.0, 200);
    assert_eq!(get(&format!("{}/kv/wasi/get/k", server.url)).await, (200, "over tls".into()));
    // Everything the app does, under the README's ACL: KEYS, INCRBY, DEL, Spin's CAS commands.
    assert_eq!(get(&format!("{}/kv/spin/keys/", server.url)).await, (200, "k".into()));
    assert_eq!(get(&format!("{}/kv/incr/n?delta=3", server.url)).await, (200, "3".into()));
    assert_eq!(post(&format!("{}/kv/cas/n?from=3", server.url), "4").await, (409, "cas-failed".into()));
    assert_eq!(post(&format!("{}/kv/spin/delete/n", server.url), "").await.0, 200);
    drop(server);
    let insecure = run(&format!("rediss://app:s3cret-pw@localhost:{port}/#insecure"), false);
    assert_eq!(get(&format!("{}/kv/spin/get/k", insecure.url)).await, (200, "over tls".into()), "#insecure: no check");
    drop(insecure);
    for (url, trust, why) in [
        (format!("rediss://app:wrong@localhost:{port}"), true, "wrong password"),
        (format!("rediss://localhost:{port}"), true, "no user"),
        (format!("rediss://app:s3cret-pw@localhost:{port}"), false, "a CA the system does not trust"),
        (format!("redis://app:s3cret-pw@localhost:{port}"), true, "plain text to a TLS port"),
    ] {
        let server = run(&url, trust);
        let (status, body) = get(&format!("{}/kv/spin/get/k", server.url)).await;
        assert_ne!(status, 200, "{why}: {body}");
        assert!(!body.contains("s3cret-pw"), "{why}: the password is not echoed: {body}");
    }
}

#[test]
fn an_unknown_redis_mode_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let stderr = fails(dir.path(), &["--redis-mode", "fixed", "--state-dir", ""]);
    assert!(stderr.contains("`fixed`") && stderr.contains("spin-4.1") && stderr.contains("correct"), "{stderr}");
}

/// Runs `spin-local up` expecting it to fail; returns stderr.
fn fails(cwd: &Path, args: &[&str]) -> String {
    let out = command(cwd, args).output().expect("run spin-local");
    assert!(!out.status.success(), "expected failure, stdout: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn a_missing_required_variable_is_named_at_startup() {
    let dir = tempfile::tempdir().expect("temp dir");
    let manifest = fixture_manifest().display().to_string();
    let stderr = fails(dir.path(), &["--from", &manifest, "--state-dir", "", "--listen", "127.0.0.1:0"]);
    assert!(stderr.contains("`secret`") && stderr.contains("SPIN_VARIABLE_SECRET"), "{stderr}");
}

#[test]
fn a_missing_component_source_says_how_to_build_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("spin.toml"),
        r#"spin_manifest_version = 2
[application]
name = "missing"
[[trigger.http]]
route = "/..."
component = "gone"
[component.gone]
source = "target/wasm32-wasip2/release/gone.wasm"
[component.gone.build]
command = "cargo build --target wasm32-wasip2 --release -p gone"
"#,
    )
    .expect("write manifest");
    let stderr = fails(dir.path(), &["--state-dir", "", "--listen", "127.0.0.1:0"]);
    assert!(stderr.contains("gone.wasm") && stderr.contains("does not exist"), "{stderr}");
    assert!(
        stderr.contains("spin build") && stderr.contains("cargo build --target wasm32-wasip2 --release -p gone"),
        "{stderr}"
    );
}

#[test]
fn a_port_in_use_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let listen = taken.local_addr().expect("addr").to_string();
    let args = fixture_args(&listen, &dir.path().join("state"));
    let stderr = fails(dir.path(), &args_ref(&args));
    assert!(stderr.contains("already in use") && stderr.contains(&listen), "{stderr}");
}

#[test]
fn an_outbound_host_template_with_an_empty_default_is_refused_like_released_spin() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        dir.path().join("spin.toml"),
        r#"spin_manifest_version = 2
[application]
name = "empty-origin"
[variables]
image_api_origin = { default = "" }
[[trigger.http]]
route = "/..."
component = "mcp-handler"
[component.mcp-handler]
source = "handler.wasm"
allowed_outbound_hosts = ["{{ image_api_origin }}"]
"#,
    )
    .expect("write manifest");
    // The check uses the defaults: a value given at start-up does not help (as in `spin up`).
    let args = ["--state-dir", "", "--listen", "127.0.0.1:0", "--variable", "image_api_origin=https://api.openai.com"];
    let stderr = fails(dir.path(), &args);
    let expected = [
        "Error: Failed to load application",
        "",
        "Caused by:",
        "   0: Failed to load manifest from \"spin.toml\"",
        "   1: Failed to load Spin app from \"spin.toml\"",
        "   2: Failed to load component `mcp-handler`",
        "   3: `allowed_outbound_hosts` is malformed",
        "   4: using default variable value(s) with template \"{{ image_api_origin }}\" results in invalid config \"\"",
        "   5: \"\" is not an allowed outbound host format.",
        "Hosts must be in the form <scheme>://<host>[:<port>], with '*' wildcards allowed for each.",
    ];
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.get(..expected.len()), Some(&expected[..]), "{stderr}");
}

/// A server process stands for `spin up`, which runs its trigger as a child: a script that
/// starts a child of its own, then becomes spin-local. Dropping the process ends both.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_process_and_every_process_it_started_are_gone_once_it_is_dropped() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("spin-with-a-child");
    std::fs::write(&script, "#!/bin/sh\nsleep 600 &\nexec \"$SPIN_LOCAL_BIN\" \"$@\"\n").unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let manifest = fixture_manifest();
    let args: Vec<std::ffi::OsString> =
        vec!["--from".into(), manifest.into(), "--state-dir".into(), "".into(), "--variable".into(), "secret=s".into()];
    let bin = std::ffi::OsString::from(BIN);
    let envs = [("SPIN_LOCAL_BIN", bin.as_os_str())];
    let (server, _) =
        spin_local_testing::process::ServerProcess::start(&script, &args, &envs, "/.well-known/spin/health")
            .await
            .expect("the script serves");
    let pids = server.group_pids();
    assert_eq!(pids.len(), 2, "spin-local and the script's child: {pids:?}");
    drop(server);
    let alive =
        |pid: &u32| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while pids.iter().any(alive) && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pids.iter().any(alive), "left behind: {:?}", pids.iter().filter(|p| alive(p)).collect::<Vec<_>>());
}
