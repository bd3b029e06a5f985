//! `spin-local up` as a child process, the way users run it: for benchmarks that measure the
//! runtime alone (start-up time, peak RSS) without the load generator in the same process, and
//! for the end-to-end tests under a real `spin up` (`E2E_SPIN_BINARY`).
//!
//! The child runs in a process group of its own, and stopping it ends the whole group: a real
//! `spin up` runs each trigger as a child process of its own (`spin trigger http`) and stops
//! them only from its SIGINT/SIGTERM handler (`src/commands/up.rs` `set_kill_on_ctrl_c`, 3.5.0
//! to 4.0.2), so killing `spin up` alone left its trigger serving on, one per test.

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use http::Method;

use crate::bench::fetch;

/// How long a start may take before it counts as failed (a first start compiles components).
const START_LIMIT: Duration = Duration::from_secs(120);

/// How long the processes of a stopped server get to exit on SIGTERM before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(2);

/// A running `spin-local up` (or `spin up`) process, in a process group of its own; the whole
/// group is ended on drop ([`ServerProcess::stop`]), also when a test panics.
pub struct ServerProcess {
    child: Child,
    addr: std::net::SocketAddr,
    /// Set once [`ServerProcess::stop`] ran: the group id may belong to someone else by then.
    stopped: bool,
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
            // Its own group (id = its pid), which its children join: see `stop`.
            .process_group(0)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = ServerProcess { child, addr, stopped: false };
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

impl ServerProcess {
    /// The process and every process of its group: the trigger children of a real `spin up`.
    pub fn group_pids(&self) -> Vec<u32> {
        group_members(self.child.id())
    }

    /// Ends the process and everything in its group: SIGTERM (Spin's `spin up` then stops its
    /// triggers itself), then SIGKILL to whatever is left after [`STOP_GRACE`], and reaps the
    /// child. Idempotent.
    pub fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        let group = rustix::process::Pid::from_child(&self.child);
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::TERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            // Reap our child (a zombie still counts as a member), then see whether any is left.
            let _ = self.child.try_wait();
            if rustix::process::test_kill_process_group(group).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = rustix::process::kill_process_group(group, rustix::process::Signal::KILL);
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The pids whose process group is `group` (Linux: from `/proc/<pid>/stat`).
pub fn group_members(group: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| process_group_of(*pid) == Some(group))
        .collect()
}

fn process_group_of(pid: u32) -> Option<u32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // After the parenthesised command: state, ppid, pgrp.
    stat.rsplit_once(')')?.1.split_whitespace().nth(2)?.parse().ok()
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
