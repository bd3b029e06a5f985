//! Shared helpers: build the fixtures, start the fixture app in-process, tiny HTTP calls,
//! a redis-server for the Redis tests.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use http::Method;
use spin_local::{App, AppOptions, RunningServer, StateDir};
use spin_local_testing::bench::fetch;
use std::path::{Path, PathBuf};

pub use spin_local_testing::{free_port, redis_server};

pub fn fixture_manifest() -> PathBuf {
    spin_local_testing::fixtures::build_fixtures().unwrap_or_else(|e| panic!("{e}"))
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

/// Writes a runtime config into `dir` and returns its path.
pub fn runtime_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).expect("write runtime config");
    path
}

/// `url` as a query-parameter value (enough for the fixture's `?url=`).
pub fn encode(url: &str) -> String {
    url.replace(':', "%3A").replace('/', "%2F").replace('?', "%3F").replace('&', "%26")
}

/// What the fixture's `/outbound` answers for a GET of `target`: `(status, body)`.
pub async fn fetch_via_guest(app: &TestApp, target: &str) -> (u16, String) {
    get(&format!("{}/outbound?url={}", app.url, encode(target))).await
}
