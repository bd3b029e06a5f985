//! Shared helpers: build the fixtures, start the fixture app in-process, tiny HTTP calls,
//! a redis-server for the Redis tests.

#![allow(dead_code)] // each test binary uses a different subset

use http::Method;
use spin_local::bench::fetch;
use spin_local::{App, AppOptions, RunningServer, StateDir};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn fixture_manifest() -> PathBuf {
    spin_local::fixtures::build_fixtures().unwrap_or_else(|e| panic!("{e}"))
}

/// Options for the fixture app: the required `secret` set, no ambient env/.env, quiet.
pub fn options(state_dir: StateDir) -> AppOptions {
    AppOptions {
        variables: vec![("secret".into(), "s3cret".into())],
        env_variables: false,
        dotenv_path: None,
        state_dir,
        log_requests: false,
        ..AppOptions::default()
    }
}

pub struct TestApp {
    pub server: RunningServer,
    pub url: String,
    _state: Option<tempfile::TempDir>,
}

/// Starts the fixture app on a free loopback port with a fresh temp state dir.
pub async fn start(customise: impl FnOnce(&mut AppOptions)) -> TestApp {
    let state = tempfile::tempdir().expect("temp dir");
    let mut opts = options(StateDir::Path(state.path().to_path_buf()));
    customise(&mut opts);
    start_with(opts, Some(state)).await
}

pub async fn start_with(opts: AppOptions, state: Option<tempfile::TempDir>) -> TestApp {
    let app = App::load(fixture_manifest(), opts).await.expect("fixture app loads");
    let server = app.start("127.0.0.1:0".parse().expect("address")).await.expect("server starts");
    let url = server.url();
    TestApp { server, url, _state: state }
}

/// `(status, body as text)` of a GET.
pub async fn get(url: &str) -> (u16, String) {
    call(Method::GET, url, "").await
}

pub async fn post(url: &str, body: &str) -> (u16, String) {
    call(Method::POST, url, body.to_string()).await
}

pub async fn call(method: Method, url: &str, body: impl Into<bytes::Bytes>) -> (u16, String) {
    let (status, _, body) = fetch(method, url, &[], body).await.unwrap_or_else(|e| panic!("{url}: {e}"));
    (status.as_u16(), String::from_utf8_lossy(&body).into_owned())
}

/// The `key=value` lines of an echo reply.
pub fn field(body: &str, key: &str) -> Option<String> {
    body.lines().find_map(|l| l.strip_prefix(&format!("{key}=")).map(str::to_string))
}

/// A `redis-server` on a free loopback port with a temp dir, killed on drop.
pub struct RedisServer {
    child: Child,
    pub url: String,
    _dir: tempfile::TempDir,
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts redis-server, or `None` (after a loud message) when it is not installed. Under CI
/// (env `CI` set) a missing redis-server fails the test instead.
pub fn redis_server() -> Option<RedisServer> {
    let Some(binary) = find_in_path("redis-server") else {
        let msg = "redis-server is not installed (Debian: apt-get install redis-server)";
        if std::env::var_os("CI").is_some() {
            panic!("{msg}: the Redis key-value tests cannot run");
        }
        eprintln!("\n!!!!! SKIPPING the Redis backend test: {msg} !!!!!\n");
        return None;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let child = Command::new(binary)
        .args(["--bind", "127.0.0.1", "--port", &port.to_string(), "--save", "", "--appendonly", "no"])
        .arg("--dir")
        .arg(dir.path())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-server starts");
    let server = RedisServer { child, url: format!("redis://127.0.0.1:{port}"), _dir: dir };
    wait_for_port(port, Duration::from_secs(10));
    Some(server)
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

pub fn wait_for_port(port: u16, limit: Duration) {
    let start = Instant::now();
    while start.elapsed() < limit {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    panic!("nothing listens on port {port} after {limit:?}");
}

fn find_in_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin"), PathBuf::from("/usr/sbin")])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Writes a runtime config into `dir` and returns its path.
pub fn runtime_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).expect("write runtime config");
    path
}
