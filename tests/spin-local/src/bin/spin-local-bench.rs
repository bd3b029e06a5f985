//! The runtime benchmark (not a test): starts `spin-local up` on the fixture app as a child
//! process and prints, for the one-KV-read handler (`/bench`), requests/s and p50/p99 latency
//! at 1 and 8 requests in flight, the server's peak RSS, and the time from process start to
//! the first 200 with a warm compilation cache.
//!
//! Run: `cargo run --profile host -p spin-local --bin spin-local-bench [-- SECONDS]`

use anyhow::{Context, Result, bail};
use http::Method;
use spin_local::bench::{LoadReport, LoadSpec, fetch, run_load};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn main() -> Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    // One thread for the load generator leaves the other core to the server.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(Duration::from_secs(seconds)))
}

async fn run(duration: Duration) -> Result<()> {
    let manifest = spin_local::fixtures::build_fixtures().map_err(anyhow::Error::msg)?;
    let binary = spin_local_binary()?;
    let state = std::env::temp_dir().join(format!("spin-local-bench-{}", std::process::id()));

    // First start fills the compilation cache; the measured start then loads from it.
    let (warm_up, _) = Server::start(&binary, &manifest, &state).await?;
    warm_up.stop();
    let (server, first_200) = Server::start(&binary, &manifest, &state).await?;
    let url = format!("http://{}", server.addr);
    fetch(Method::POST, &format!("{url}/kv/spin/set/bench-key"), &[], "bench-value").await?;

    let target = format!("{url}/bench");
    let _warm = run_load(&LoadSpec::get(&target, 8, Duration::from_millis(500))).await?;
    let one = run_load(&LoadSpec::get(&target, 1, duration)).await?;
    let eight = run_load(&LoadSpec::get(&target, 8, duration)).await?;
    let rss = peak_rss_kib(server.child.id())?;
    server.stop();
    let _ = std::fs::remove_dir_all(&state);
    print_report(&one, &eight, rss, first_200);
    Ok(())
}

fn print_report(one: &LoadReport, eight: &LoadReport, rss_kib: u64, first_200: Duration) {
    println!("spin-local benchmark: GET /bench (one key-value read, SQLite store)");
    println!("  1 in flight: {one}");
    println!("  8 in flight: {eight}");
    println!("  peak RSS (VmHWM) of the server: {:.1} MiB", rss_kib as f64 / 1024.0);
    println!("  process start to first 200 (warm compilation cache): {:.1} ms", first_200.as_secs_f64() * 1000.0);
    let checks = [
        ("req/s at 8 in flight >= 4000", eight.requests_per_sec >= 4000.0),
        ("p99 at 8 in flight < 5 ms", eight.p99 < Duration::from_millis(5)),
        ("first 200 within 300 ms", first_200 < Duration::from_millis(300)),
        ("peak RSS < 100 MiB", rss_kib < 100 * 1024),
    ];
    for (what, ok) in checks {
        println!("  [{}] {what}", if ok { "ok" } else { "MISSED" });
    }
}

struct Server {
    child: Child,
    addr: std::net::SocketAddr,
}

impl Server {
    /// Spawns `spin-local up` and polls `/bench` until it answers 200; returns the time taken.
    async fn start(binary: &Path, manifest: &Path, state: &Path) -> Result<(Server, Duration)> {
        let addr = free_port()?;
        let started = Instant::now();
        let child = Command::new(binary)
            .args(["up", "--quiet", "--variable", "secret=bench", "--listen"])
            .arg(addr.to_string())
            .arg("--from")
            .arg(manifest)
            .arg("--state-dir")
            .arg(state)
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let mut server = Server { child, addr };
        let url = format!("http://{addr}/bench");
        while started.elapsed() < Duration::from_secs(120) {
            if let Ok((status, _, _)) = fetch(Method::GET, &url, &[], "").await
                && status == 200
            {
                return Ok((server, started.elapsed()));
            }
            if let Some(status) = server.child.try_wait()? {
                bail!("spin-local exited early: {status}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        server.stop();
        bail!("spin-local did not answer within 120 s")
    }

    fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<std::net::SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

fn peak_rss_kib(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmHWM in /proc/<pid>/status")
}

/// `spin-local` beside this binary (same profile); built with cargo if it is not there yet.
fn spin_local_binary() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let dir = me.parent().context("no parent directory")?;
    let binary = dir.join("spin-local");
    if binary.exists() {
        return Ok(binary);
    }
    let profile = dir.file_name().and_then(|n| n.to_str()).unwrap_or("debug");
    let profile = if profile == "debug" { "dev" } else { profile };
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(cargo)
        .args(["build", "-p", "spin-local", "--bin", "spin-local", "--profile", profile])
        .status()?;
    if !status.success() || !binary.exists() {
        bail!("could not build spin-local (cargo build --profile {profile} -p spin-local)");
    }
    Ok(binary)
}
