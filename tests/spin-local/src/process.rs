//! `spin-local up` as a child process, the way users run it: for benchmarks that measure the
//! runtime alone (start-up time, peak RSS) without the load generator in the same process.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::Method;

use crate::bench::fetch;

/// How long a start may take before it counts as failed (a first start compiles components).
const START_LIMIT: Duration = Duration::from_secs(120);

/// A running `spin-local up` process; killed on drop.
pub struct ServerProcess {
    child: Child,
    addr: std::net::SocketAddr,
}

impl ServerProcess {
    /// Spawns `binary up --quiet --listen <free port> <args>` (with `envs` added to its
    /// environment) and polls `ready_path` until it answers 200. Returns the process and the time
    /// from spawn to that first 200.
    pub async fn start(
        binary: &Path,
        args: &[OsString],
        envs: &[(&str, &OsStr)],
        ready_path: &str,
    ) -> Result<(ServerProcess, Duration)> {
        let addr = free_addr()?;
        let started = Instant::now();
        let child = Command::new(binary)
            .args(["up", "--quiet", "--listen", &addr.to_string()])
            .args(args)
            .envs(envs.iter().copied())
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = ServerProcess { child, addr };
        let url = format!("{}{ready_path}", server.url());
        while started.elapsed() < START_LIMIT {
            if let Ok((http::StatusCode::OK, _, _)) = fetch(Method::GET, &url, &[], "").await {
                return Ok((server, started.elapsed()));
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("{} exited early: {status}", binary.display());
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        bail!("{} did not answer {ready_path} within {START_LIMIT:?}", binary.display())
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The process's peak resident set size, in KiB.
    pub fn peak_rss_kib(&self) -> Result<u64> {
        peak_rss_kib(self.child.id())
    }

    /// CPU time (user + system) the process has used so far.
    pub fn cpu_time(&self) -> Result<Duration> {
        cpu_time(self.child.id())
    }
}

/// CPU time (user + system) used by process `pid`; Linux only. Divided by the requests of a run,
/// it is the server's cost per request, which other load on the machine barely changes.
pub fn cpu_time(pid: u32) -> Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may contain spaces.
    let fields: Vec<&str> =
        stat.rsplit_once(')').map(|(_, rest)| rest.split_whitespace().collect()).unwrap_or_default();
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name; in clock ticks.
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<u64>().ok()).context("malformed /proc/<pid>/stat");
    let total = ticks(11)? + ticks(12)?;
    Ok(Duration::from_secs_f64(total as f64 / CLOCK_TICKS_PER_SECOND))
}

/// `sysconf(_SC_CLK_TCK)` on Linux: 100 on every architecture Rust targets there.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

/// Peak resident set size (`VmHWM`) of process `pid`, in KiB; Linux only.
pub fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A loopback address with a port that was free a moment ago.
fn free_addr() -> Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// The `spin-local` binary of the calling executable's target directory and profile, built (or
/// brought up to date) with cargo first. The caller is a binary in `<target>/<profile>/` or a
/// test in `<target>/<profile>/deps/`.
pub fn spin_local_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let mut dir = me.parent().context("no parent directory")?;
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().context("no profile directory")?;
    }
    let target = dir.parent().context("no target directory")?;
    let profile = match dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") | None => "dev",
        Some(other) => other,
    };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-q", "-p", "spin-local", "--bin", "spin-local", "--profile", profile])
        .env("CARGO_TARGET_DIR", target)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .context("running cargo build for spin-local")?;
    let binary = dir.join("spin-local");
    if !status.success() || !binary.exists() {
        bail!("could not build spin-local (cargo build --profile {profile} -p spin-local)");
    }
    Ok(binary)
}
