//! The end-to-end test harness: the real app (the three wasm components on `spin-local`) plus the
//! mock Clerk, on free loopback ports, with a temporary state directory.
//!
//! ```no_run
//! use e2e::{Browser, TestApp};
//! let app = TestApp::start();                       // builds the components once per process
//! let client = app.register_client(false);          // public client (PKCE, no secret)
//! let mut browser = Browser::new();
//! let auth = app.authorize_as(&mut browser, &client, "admin@example.com");
//! let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
//! assert_eq!(tokens.status, 200);
//! let access = tokens.json()["access_token"].as_str().unwrap().to_owned();
//! let mcp = e2e::http::send("POST", &app.url("/mcp"), &[("authorization", &format!("Bearer {access}")),
//!     ("content-type", "application/json"), ("accept", "application/json, text/event-stream")],
//!     br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#);
//! # drop(mcp);
//! ```
//!
//! - [`TestApp`]: start ([`TestApp::start`], or [`TestApp::builder`] for extra Spin variables, a
//!   Redis store and how it does compare-and-swap, more runtime config, a client metadata
//!   document server ([`TestAppBuilder::document_server`], test only), a compilation cache dir,
//!   or `spin-local up` in a child process instead of the runtime in this process; [`TestApp::start_peer`] for a second instance of the same deployment),
//!   [`TestApp::url`], [`TestApp::clerk`] (the [`mock_clerk::MockClerk`]: pick the user, make it
//!   slow/down/malformed), [`TestApp::kv_snapshot`] (every key and value of the `default` store,
//!   read from the SQLite file, for "nothing changed" checks; [`TestApp::kv_records`] without
//!   rate-limit counters), [`TestApp::audit_events`] (the audit trail, from the components'
//!   stdout logs in the state dir).
//! - [`http`]: a tiny blocking HTTP/1.1 client that never follows redirects
//!   ([`http::send`], [`http::Response`] with `status`, `header()`, `json()`, `location()`).
//! - [`Browser`]: the same with a cookie jar (one browser profile); `raw_set_cookies` keeps the
//!   `Set-Cookie` lines for attribute checks.
//! - Flow helpers in [`flow`]: [`TestApp::register_client`], [`TestApp::authorize_url`],
//!   [`TestApp::authorize_as`] (GET /authorize -> consent approve -> mock Clerk -> /callback ->
//!   code), [`TestApp::exchange_code`], [`TestApp::refresh`], [`TestApp::revoke`], [`Pkce`].
//! - The connected-apps page in [`apps`]: [`TestApp::sign_in_to_apps`], [`TestApp::apps_listing`],
//!   [`TestApp::revoke_app`].
//!
//! Building: the first `TestApp::start` in a process runs
//! `cargo build --target wasm32-wasip2 --release -p oauth-provider -p clerk-callback -p mcp-handler`
//! into the test binary's own target directory (cargo releases its lock before running tests, so
//! this does not deadlock; `E2E_WASM_TARGET_DIR` overrides the directory) and serves a copy of
//! `spin.toml` whose `source`s point there; `spin.toml` itself is untouched. Set
//! `E2E_SKIP_BUILD=1` to use the existing files.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "the end-to-end test harness: a step that fails fails the test, with the step named"
)]

pub mod apps;
pub mod browser;
pub mod build;
pub mod fixture_app;
pub mod flow;
mod host;
pub mod http;
pub mod store;

pub use browser::Browser;
pub use flow::{Authorized, Client, Pkce};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Which runtime serves an app ([`TestAppBuilder::runtime`], [`fixture_app::FixtureSettings`]).
pub use host::Runtime;
use mock_clerk::MockClerk;
/// How the Redis store behaves ([`TestAppBuilder::redis_mode`]).
pub use spin_local::kv::RedisMode;

/// A running app plus its mock Clerk. Everything stops when it is dropped.
pub struct TestApp {
    /// First, so it is dropped first: the runtime stops before its state dir and mock Clerk go.
    host: host::Host,
    base_url: String,
    /// Shared with peers ([`TestApp::start_peer`]); the first instance started it.
    clerk: Arc<MockClerk>,
    state_dir: tempfile::TempDir,
    /// The Spin variables this app runs with (mock Clerk, cookie key, builder extras).
    variables: Vec<(String, String)>,
    /// Runtime config and compilation cache, shared with peers.
    settings: RuntimeSettings,
    /// The `cookie_encryption_key` this app runs with (hex).
    pub cookie_key: String,
}

/// How spin-local runs the app, beyond variables: the same for an app and its peers.
#[derive(Clone, Default)]
struct RuntimeSettings {
    /// The Spin runtime config text (the Redis `default` store, `[[client_tls]]`,
    /// `[outbound_networking]`), if any.
    runtime_config: Option<String>,
    /// TEST ONLY: origins added to the `allowed_outbound_hosts` of the components that fetch
    /// client metadata documents, in this app's copy of `spin.toml` ([`TestAppBuilder::document_server`]).
    extra_document_hosts: Vec<String>,
    /// Compare-and-swap on a `type = "redis"` store: like Spin 4.1 (default) or correct.
    redis_mode: RedisMode,
    /// Compiled-component cache; `None` = spin-local's shared default.
    cache_dir: Option<std::path::PathBuf>,
    /// Run `spin-local up` as a child process instead of in this process.
    separate_process: bool,
    /// spin-local or a real Spin (default: as `E2E_SPIN_BINARY` says).
    runtime: host::Runtime,
    /// Instance slots (`None`: spin-local's default); in this process only.
    max_instances: Option<u32>,
    /// spin-local's limits for slow clients (`None`: its defaults); in this process only.
    limits: Option<spin_local::trigger::Limits>,
}

/// Extra settings for [`TestApp::builder`].
#[derive(Default)]
pub struct TestAppBuilder {
    variables: Vec<(String, String)>,
    settings: RuntimeSettings,
}

impl TestAppBuilder {
    /// An extra (or overriding) Spin variable.
    pub fn variable(mut self, name: &str, value: &str) -> Self {
        self.variables.push((name.to_owned(), value.to_owned()));
        self
    }

    /// Keeps the `default` key-value store in the Redis at `url` (e.g. `redis://127.0.0.1:6379`)
    /// instead of the SQLite file: a `runtime-config.toml` in the state dir, passed as
    /// `runtime_config_file`. [`TestApp::kv_snapshot`] only reads SQLite, so it sees nothing then.
    /// The store behaves like Spin 4.1's Redis backend (every compare-and-swap reports a conflict,
    /// after writing) unless [`TestAppBuilder::redis_mode`] says otherwise.
    pub fn redis(self, url: &str) -> Self {
        self.runtime_config(&format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n"))
    }

    /// Appends `toml` to the app's Spin runtime config (a `runtime-config.toml` in the state
    /// dir, passed as `runtime_config_file`, as `spin up --runtime-config-file` takes it).
    pub fn runtime_config(mut self, toml: &str) -> Self {
        let config = self.settings.runtime_config.get_or_insert_with(String::new);
        config.push_str(toml);
        config.push('\n');
        self
    }

    /// Keeps the `default` key-value store in memory (Spin's `type = "spin"` without a `path`):
    /// gone when the app stops, and not shared with peers.
    pub fn memory_store(self) -> Self {
        self.runtime_config("[key_value_store.default]\ntype = \"spin\"\n")
    }

    /// Serves client metadata documents from `server` (a [`spin_local_testing::HttpsServer`] on
    /// loopback): the runtime config trusts its test CA for `localhost` in the two components
    /// that fetch documents (`[[client_tls]] ca_roots_file`, as in Spin), and, **for tests
    /// only**, this app's copy of `spin.toml` lets those components reach the server's origin
    /// (`https://localhost:<port>`; the real manifest allows documents on port 443 only).
    pub fn document_server(mut self, server: &spin_local_testing::HttpsServer) -> Self {
        self.settings.extra_document_hosts.push(format!("https://localhost:{}", server.port()));
        self.runtime_config(&format!(
            "[[client_tls]]\ncomponent_ids = [\"oauth-provider\", \"clerk-callback\"]\nhosts = [\"localhost\"]\nca_roots_file = \"{}\"\n",
            server.ca_file().display()
        ))
    }

    /// `[outbound_networking] block_networks = ["private"]` in the runtime config, as the
    /// README's production setup has it: outbound connections to non-public addresses fail.
    pub fn block_private_networks(self) -> Self {
        self.runtime_config("[outbound_networking]\nblock_networks = [\"private\"]\n")
    }

    /// How a Redis store ([`TestAppBuilder::redis`]) does compare-and-swap:
    /// [`RedisMode::Spin41`] (the default, what real Spin does) or [`RedisMode::Correct`].
    pub fn redis_mode(mut self, mode: RedisMode) -> Self {
        self.settings.redis_mode = mode;
        self
    }

    /// Where spin-local keeps compiled components (default: its shared cache). An empty directory
    /// makes this start compile every component, as a first `spin up` does.
    pub fn cache_dir(mut self, dir: &std::path::Path) -> Self {
        self.settings.cache_dir = Some(dir.to_path_buf());
        self
    }

    /// Runs the app in a `spin-local up` child process, as users do, instead of in this process:
    /// slower to start, but [`TestApp::peak_rss_kib`] then measures the runtime alone.
    pub fn separate_process(mut self) -> Self {
        self.settings.separate_process = true;
        self
    }

    /// Runs the app under `runtime` instead of the one `E2E_SPIN_BINARY` chooses (a benchmark
    /// putting spin-local and a real Spin side by side).
    pub fn runtime(mut self, runtime: Runtime) -> Self {
        self.settings.runtime = runtime;
        self
    }

    /// Runs the app with this many instance slots (in this process only).
    pub fn max_instances(mut self, slots: u32) -> Self {
        self.settings.max_instances = Some(slots);
        self
    }

    /// Runs the app with these limits for slow clients (in this process only).
    pub fn limits(mut self, limits: spin_local::trigger::Limits) -> Self {
        self.settings.limits = Some(limits);
        self
    }

    pub fn start(self) -> TestApp {
        let started = (|| {
            let clerk = Arc::new(MockClerk::start()?);
            let cookie_key = hex::encode(platform::secret::random_bytes::<32>()?);
            let mut variables = clerk.variables();
            variables.push(("cookie_encryption_key".into(), cookie_key.clone()));
            variables.extend(self.variables);
            TestApp::start_inner(clerk, variables, self.settings, cookie_key)
        })();
        started.unwrap_or_else(|e| panic!("cannot start the test app: {e:#}"))
    }
}

impl TestApp {
    /// Builds the components (once per process), starts the mock Clerk and the app.
    pub fn start() -> TestApp {
        Self::builder().start()
    }

    pub fn builder() -> TestAppBuilder {
        TestAppBuilder::default()
    }

    /// A second instance of the same deployment, as behind a load balancer: the same mock Clerk
    /// (not a new one), variables, `cookie_encryption_key` and runtime config (so, with
    /// [`TestAppBuilder::redis`], the same store), its own port and state dir, and
    /// `public_base_url` set to this app's origin, so tokens bound to this app's resource are
    /// accepted there. Useful only with a shared store.
    pub fn start_peer(&self) -> TestApp {
        // spin-local collects `AppOptions.variables` into a map, so the last `public_base_url` wins.
        let mut variables = self.variables.clone();
        variables.retain(|(name, _)| name != "public_base_url");
        variables.push(("public_base_url".into(), self.base_url.clone()));
        Self::start_inner(self.clerk.clone(), variables, self.settings.clone(), self.cookie_key.clone())
            .unwrap_or_else(|e| panic!("cannot start the peer app: {e:#}"))
    }

    fn start_inner(
        clerk: Arc<MockClerk>,
        variables: Vec<(String, String)>,
        settings: RuntimeSettings,
        cookie_key: String,
    ) -> anyhow::Result<TestApp> {
        let manifest_dir = build::components()?;
        let state_dir = tempfile::tempdir()?;
        let runtime_config_file =
            crate::host::write_runtime_config(state_dir.path(), settings.runtime_config.as_deref())?;
        let manifest = match settings.extra_document_hosts.as_slice() {
            [] => manifest_dir.join("spin.toml"),
            extra => build::manifest_with_document_hosts(&manifest_dir.join("spin.toml"), extra, state_dir.path())?,
        };
        let needs_process = settings.separate_process || settings.runtime.needs_process();
        let launch = host::Launch {
            runtime: settings.runtime.clone(),
            manifest,
            variables: &variables,
            state_dir: state_dir.path(),
            runtime_config_file,
            redis_mode: settings.redis_mode,
            cache_dir: settings.cache_dir.as_deref(),
            max_instances: settings.max_instances,
            limits: settings.limits,
            ready_path: "/.well-known/oauth-authorization-server",
        };
        let (host, base_url) =
            if needs_process { host::Host::process(launch)? } else { host::Host::in_process(launch)? };
        Ok(TestApp { base_url, clerk, state_dir, host, variables, settings, cookie_key })
    }

    /// The app's origin, e.g. `http://127.0.0.1:41234`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// `base_url` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The mock Clerk behind the app.
    pub fn clerk(&self) -> &MockClerk {
        &self.clerk
    }

    /// The state directory (`sqlite_key_value.db`, `logs/`).
    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    /// Every key and value of the `default` store, for "nothing changed" checks.
    pub fn kv_snapshot(&self) -> BTreeMap<String, Vec<u8>> {
        let path = self.state_dir.path().join("sqlite_key_value.db");
        let read = || -> rusqlite::Result<BTreeMap<String, Vec<u8>>> {
            let conn = rusqlite::Connection::open_with_flags(&path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
            let mut stmt = conn.prepare("SELECT key, value FROM spin_key_value WHERE store = 'default'")?;
            let rows = stmt.query_map([], |row| Ok((row.get::<_, String>(0)?, row.get::<_, Vec<u8>>(1)?)))?;
            rows.collect()
        };
        read().unwrap_or_default()
    }

    /// [`kv_snapshot`](Self::kv_snapshot) without the expiry index and the sweep's keys
    /// (`expiry:`). A request that stores something sweeps its share *after* its response is
    /// sent, so a snapshot taken right after one can race with that housekeeping.
    pub fn kv_without_housekeeping(&self) -> BTreeMap<String, Vec<u8>> {
        let mut records = self.kv_snapshot();
        records.retain(|key, _| !platform::housekeeping::is_housekeeping_key(key));
        records
    }

    /// [`kv_without_housekeeping`](Self::kv_without_housekeeping) without the rate-limit counters
    /// (`ratelimit:`) either, which every counted request writes: for "nothing else changed"
    /// checks of refused requests.
    pub fn kv_records(&self) -> BTreeMap<String, Vec<u8>> {
        let mut records = self.kv_without_housekeeping();
        records.retain(|key, _| !key.starts_with("ratelimit:"));
        records
    }

    /// Everything the components wrote to stdout so far (the audit trail), from
    /// `<state dir>/logs/<component>_stdout.txt`, as Spin keeps it.
    pub fn audit_text(&self) -> String {
        ["oauth-provider", "clerk-callback", "mcp-handler", "account"]
            .iter()
            .map(|component| self.state_dir().join("logs").join(format!("{component}_stdout.txt")))
            .filter_map(|path| std::fs::read_to_string(path).ok())
            .collect()
    }

    /// The audit trail's lines, each parsed as the one JSON object it must be.
    pub fn audit_events(&self) -> Vec<serde_json::Value> {
        self.audit_text()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not a JSON audit line ({e}): {line}")))
            .collect()
    }

    /// Peak RSS, in KiB, of the process running the runtime: the `spin-local up` child with
    /// [`TestAppBuilder::separate_process`], else this whole test process.
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        self.host.peak_rss_kib()
    }

    /// The processes serving the app when it runs as a child process (`spin-local up`, or a
    /// real `spin up` and its trigger processes); empty when it runs in this process.
    pub fn process_group(&self) -> Vec<u32> {
        self.host.process_group()
    }

    /// CPU time used so far by the process running the runtime (see [`TestApp::peak_rss_kib`]).
    pub fn cpu_time(&self) -> anyhow::Result<std::time::Duration> {
        self.host.cpu_time()
    }

    /// Writes (`Some`) or deletes (`None`) one key of the `default` store, straight in the SQLite
    /// file, as another instance or an operator would: for states no request can reach in a
    /// test's time, such as a record past its expiry.
    pub fn kv_write(&self, key: &str, value: Option<&[u8]>) {
        let path = self.state_dir.path().join("sqlite_key_value.db");
        let conn = rusqlite::Connection::open(&path).expect("open the SQLite store");
        let done = match value {
            Some(value) => conn.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
                rusqlite::params![key, value],
            ),
            None => conn.execute("DELETE FROM spin_key_value WHERE store = 'default' AND key = ?1", [key]),
        };
        done.expect("write the SQLite store");
    }

    /// Rewrites the JSON record at `key` as expired (`expires_at` = 1), as time would.
    pub fn expire_record(&self, key: &str) {
        let raw = self.kv_snapshot().remove(key).unwrap_or_else(|| panic!("no record at {key}"));
        let mut record: serde_json::Value = serde_json::from_slice(&raw).expect("a JSON record");
        record["expires_at"] = serde_json::json!(1);
        self.kv_write(key, Some(&serde_json::to_vec(&record).expect("JSON")));
    }

    /// The `default` store, straight in its SQLite file (see [`store::SqliteFile`]).
    pub fn store(&self) -> store::SqliteFile {
        store::SqliteFile::new(self.state_dir.path().join("sqlite_key_value.db"))
    }

    /// [`store::age_record`] in this app's SQLite store.
    pub fn age_record(&self, key: &str, helpers: &[platform::record::Helper]) {
        store::age_record(&self.store(), key, helpers);
    }

    /// Waits, up to 10 seconds, until `done` holds, for what the app does after its response is
    /// out (its share of the sweep); panics naming `what` otherwise.
    pub fn wait_until(&self, what: &str, done: impl Fn() -> bool) {
        self.wait_until_within(what, std::time::Duration::from_secs(10), done);
    }

    /// [`wait_until`](Self::wait_until) with a deadline of `within`.
    pub fn wait_until_within(&self, what: &str, within: std::time::Duration, done: impl Fn() -> bool) {
        let deadline = std::time::Instant::now() + within;
        while !done() {
            assert!(std::time::Instant::now() < deadline, "timed out waiting until {what}");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    /// Keys of the `default` store that start with `prefix`.
    pub fn kv_keys(&self, prefix: &str) -> Vec<String> {
        self.kv_snapshot().into_keys().filter(|k| k.starts_with(prefix)).collect()
    }
}

/// True when the apps run under a real Spin (`E2E_SPIN_BINARY`) instead of spin-local.
pub fn under_real_spin() -> bool {
    host::real_spin().is_some()
}

/// For a test of something spin-local does and Spin does not: true, after a loud message naming
/// `reason`, when the apps run under a real Spin, and the test then returns without checking
/// anything. The README lists every such test ("Spin versions").
#[allow(clippy::print_stderr, reason = "a skipped check says so where the test runner shows it")]
pub fn skip_under_real_spin(reason: &str) -> bool {
    let skip = under_real_spin();
    if skip {
        eprintln!("\n!!!!! SKIPPED under real Spin: {reason} !!!!!\n");
    }
    skip
}

/// The workspace root (where `spin.toml` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().unwrap_or_else(|_| PathBuf::from("../.."))
}
