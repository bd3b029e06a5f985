//! The kitchen-sink fixture app (`tests/fixtures`, one guest exercising every host interface)
//! under the same host as the end-to-end apps: spin-local in this process, or the real Spin of
//! `E2E_SPIN_BINARY`. For the host-contract tests, which check the host behaviours the
//! components rely on where the components themselves do not show them.

use std::path::Path;

use crate::host::{Host, Launch, Runtime};

/// A running fixture app; stops when dropped.
pub struct FixtureApp {
    /// First, so it is dropped first: the runtime stops before its state dir goes.
    host: Host,
    base_url: String,
    state_dir: tempfile::TempDir,
}

/// Settings for [`FixtureApp::start`].
#[derive(Default)]
pub struct FixtureSettings {
    /// Spin variables (`--variable`); the fixture requires `secret`, set unless given here.
    pub variables: Vec<(String, String)>,
    /// A runtime config (written to the state dir and passed as `--runtime-config-file`).
    pub runtime_config: Option<String>,
    /// Run as a child process even under spin-local (`spin-local up`).
    pub separate_process: bool,
    /// Leave the required variable `secret` unset (the app must then refuse to start).
    pub without_required_variable: bool,
    /// The runtime (default: `E2E_SPIN_BINARY`'s Spin if set, else spin-local).
    pub runtime: Runtime,
}

impl FixtureApp {
    /// Builds the fixture components (once per process) and starts the app.
    pub fn start(settings: FixtureSettings) -> anyhow::Result<FixtureApp> {
        let manifest = spin_local_testing::fixtures::build_fixtures().map_err(anyhow::Error::msg)?;
        let state_dir = tempfile::tempdir()?;
        let mut variables = settings.variables;
        if !settings.without_required_variable && !variables.iter().any(|(name, _)| name == "secret") {
            variables.push(("secret".into(), "s3cret".into()));
        }
        let runtime_config_file =
            crate::host::write_runtime_config(state_dir.path(), settings.runtime_config.as_deref())?;
        let needs_process = settings.separate_process || settings.runtime.needs_process();
        let launch = Launch {
            runtime: settings.runtime,
            manifest,
            variables: &variables,
            state_dir: state_dir.path(),
            runtime_config_file,
            redis_mode: spin_local::kv::RedisMode::default(),
            cache_dir: None,
            max_instances: None,
            limits: None,
            ready_path: "/.well-known/spin/health",
        };
        let (host, base_url) = if needs_process { Host::process(launch)? } else { Host::in_process(launch)? };
        Ok(FixtureApp { host, base_url, state_dir })
    }

    /// `http://127.0.0.1:<port>` + `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The app's origin.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The state directory (`logs/`, `sqlite_key_value.db`).
    pub fn state_dir(&self) -> &Path {
        self.state_dir.path()
    }

    /// The processes serving the app when it runs as a child process (see [`Host::process_group`]).
    pub fn process_group(&self) -> Vec<u32> {
        self.host.process_group()
    }
}
