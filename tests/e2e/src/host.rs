//! Where the runtime runs: in this process (the default: fast, and its state is easy to
//! inspect) or as a `spin-local up` child process, the way users run it (for measuring the
//! runtime alone: its start-up and its memory).
//!
//! With `E2E_SPIN_BINARY=/path/to/spin` every app runs as a child process of that binary
//! instead: the real Spin CLI, started with the same `spin up` flags. That is how the suite is
//! run by hand against real Spin (CI has no Spin). Tests of spin-local's own behaviour then test
//! Spin's.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use spin_local_testing::process::ServerProcess;

/// Which runtime serves an app.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Runtime {
    /// The real Spin of `E2E_SPIN_BINARY` when set, else spin-local: what every test uses.
    #[default]
    FromEnvironment,
    /// spin-local, whatever `E2E_SPIN_BINARY` says (a benchmark comparing the two runtimes).
    SpinLocal,
    /// This Spin CLI, always as a child process.
    Spin(PathBuf),
}

impl Runtime {
    /// The Spin CLI to run, or `None` for spin-local.
    fn spin_binary(&self) -> Option<PathBuf> {
        match self {
            Runtime::FromEnvironment => real_spin(),
            Runtime::SpinLocal => None,
            Runtime::Spin(binary) => Some(binary.clone()),
        }
    }

    /// Whether the app must run as a child process (every real Spin does).
    pub(crate) fn needs_process(&self) -> bool {
        self.spin_binary().is_some()
    }
}

/// What the app is started with, whichever the host.
pub(crate) struct Launch<'a> {
    pub runtime: Runtime,
    pub manifest: PathBuf,
    pub variables: &'a [(String, String)],
    pub state_dir: &'a Path,
    pub runtime_config_file: Option<PathBuf>,
    pub redis_mode: spin_local::kv::RedisMode,
    pub cache_dir: Option<&'a Path>,
    pub max_instances: Option<u32>,
    pub limits: Option<spin_local::trigger::Limits>,
    /// A route that answers `200` once the app is up (for a child process).
    pub ready_path: &'a str,
}

pub(crate) enum Host {
    InProcess { server: Option<spin_local::RunningServer>, runtime: tokio::runtime::Runtime },
    Process { process: ServerProcess },
}

impl Host {
    /// Loads the app into a runtime in this process; returns the host and its base URL.
    pub fn in_process(launch: Launch<'_>) -> anyhow::Result<(Host, String)> {
        let defaults = spin_local::AppOptions::default();
        let options = spin_local::AppOptions {
            variables: launch.variables.to_vec(),
            env_variables: false,
            dotenv_path: None,
            state_dir: spin_local::StateDir::Path(launch.state_dir.to_path_buf()),
            runtime_config_file: launch.runtime_config_file,
            log_requests: std::env::var("E2E_LOG").is_ok(),
            // The components' output (the audit trail) is in `<state dir>/logs/` either way.
            follow_component_output: std::env::var("E2E_LOG").is_ok(),
            cache_dir: launch.cache_dir.map(Path::to_path_buf),
            redis_mode: launch.redis_mode,
            max_instances: launch.max_instances.unwrap_or(defaults.max_instances),
            limits: launch.limits.unwrap_or(defaults.limits),
            ..defaults
        };
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let server = runtime.block_on(async {
            let app = spin_local::App::load(launch.manifest, options).await?;
            app.start(([127, 0, 0, 1], 0).into()).await
        })?;
        let url = server.url().trim_end_matches('/').to_owned();
        Ok((Host::InProcess { server: Some(server), runtime }, url))
    }

    /// Runs `spin-local up` (or the real Spin of `E2E_SPIN_BINARY`) with the same settings as
    /// flags; returns once the app answers.
    pub fn process(launch: Launch<'_>) -> anyhow::Result<(Host, String)> {
        if launch.max_instances.is_some() || launch.limits.is_some() {
            anyhow::bail!("instance slots and client limits are settable in this process only");
        }
        let binary = match launch.runtime.spin_binary() {
            Some(spin) => spin,
            None => crate::build::spin_local_binary()?,
        };
        let mut args: Vec<OsString> = vec!["--from".into(), launch.manifest.into(), "--state-dir".into()];
        args.push(launch.state_dir.into());
        for (name, value) in launch.variables {
            args.extend(["--variable".into(), format!("{name}={value}").into()]);
        }
        if let Some(file) = launch.runtime_config_file {
            args.extend(["--runtime-config-file".into(), file.into()]);
        }
        // spin-local's own settings go in its environment, so the command line stays `spin up`'s.
        let redis_mode = OsString::from(launch.redis_mode.to_string());
        let mut envs: Vec<(&str, &OsStr)> = vec![("SPIN_LOCAL_REDIS_MODE", &redis_mode)];
        if let Some(dir) = launch.cache_dir {
            envs.push(("SPIN_LOCAL_CACHE_DIR", dir.as_os_str()));
        }
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let (process, _) = runtime.block_on(ServerProcess::start(&binary, &args, &envs, launch.ready_path))?;
        let url = process.url();
        Ok((Host::Process { process }, url))
    }

    /// CPU time used so far by the runtime's process (this whole process, when in-process).
    pub fn cpu_time(&self) -> anyhow::Result<std::time::Duration> {
        match self {
            Host::Process { process } => process.cpu_time(),
            Host::InProcess { .. } => spin_local_testing::process::cpu_time(std::process::id()),
        }
    }

    /// The processes serving the app, when it runs as a child process: the child and every
    /// process of its group (`spin up`'s `spin trigger http`). Empty in this process.
    pub fn process_group(&self) -> Vec<u32> {
        match self {
            Host::Process { process } => process.group_pids(),
            Host::InProcess { .. } => Vec::new(),
        }
    }

    /// Peak RSS of the runtime's process in KiB (this process's, when in-process).
    pub fn peak_rss_kib(&self) -> anyhow::Result<u64> {
        match self {
            Host::Process { process } => process.peak_rss_kib(),
            Host::InProcess { .. } => spin_local_testing::process::peak_rss_kib(std::process::id()),
        }
    }
}

/// Writes `text`, if any, as `<state_dir>/runtime-config.toml`, the file `--runtime-config-file`
/// then names; its path.
pub(crate) fn write_runtime_config(state_dir: &Path, text: Option<&str>) -> std::io::Result<Option<PathBuf>> {
    let Some(text) = text else { return Ok(None) };
    let path = state_dir.join("runtime-config.toml");
    std::fs::write(&path, text)?;
    Ok(Some(path))
}

/// The real Spin CLI to run every app with (`E2E_SPIN_BINARY`), if set.
pub(crate) fn real_spin() -> Option<PathBuf> {
    std::env::var_os("E2E_SPIN_BINARY").filter(|path| !path.is_empty()).map(PathBuf::from)
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Host::InProcess { server, runtime } = self
            && let Some(server) = server.take()
        {
            runtime.block_on(server.shutdown());
        }
    }
}
