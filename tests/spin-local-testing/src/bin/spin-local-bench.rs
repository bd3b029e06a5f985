//! The runtime benchmark (not a test): starts `spin-local up` on the fixture app as a child
//! process (without `TCP_NODELAY`, like Spin) and prints, for the one-KV-read handler (`/bench`),
//! requests/s, p50/p99 latency and the server's CPU time per request, one at a time on one
//! keep-alive connection and at 8 in flight, the server's peak RSS, and the time from process
//! start to the first 200 with a warm compilation cache.
//!
//! Run: `cargo run --profile host -p spin-local-testing --bin spin-local-bench [-- SECONDS]`

#![allow(clippy::print_stdout, reason = "a benchmark: printing its numbers is its job")]

use anyhow::Result;
use http::Method;
use spin_local_testing::bench::{LoadReport, LoadSpec, fetch, run_load};
use spin_local_testing::process::{ServerProcess, spin_local_binary};
use std::ffi::OsString;
use std::path::Path;
use std::time::Duration;

fn main() -> Result<()> {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(5);
    // One thread for the load generator leaves the other core to the server.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(Duration::from_secs(seconds)))
}

async fn run(duration: Duration) -> Result<()> {
    let manifest = spin_local_testing::fixtures::build_fixtures().map_err(anyhow::Error::msg)?;
    let binary = spin_local_binary()?;
    let state = std::env::temp_dir().join(format!("spin-local-bench-{}", std::process::id()));
    let args = up_args(&manifest, &state);

    // First start fills the compilation cache; the measured start then loads from it.
    drop(ServerProcess::start(&binary, &args, &[], "/bench").await?);
    let (server, first_200) = ServerProcess::start(&binary, &args, &[], "/bench").await?;
    let url = server.url();
    fetch(Method::POST, &format!("{url}/kv/spin/set/bench-key"), &[], "bench-value").await?;

    let target = format!("{url}/bench");
    let _warm = run_load(&LoadSpec::get(&target, 8, Duration::from_millis(500))).await?;
    let one = measured(&server, &LoadSpec::get(&target, 1, duration)).await?;
    let eight = measured(&server, &LoadSpec::get(&target, 8, duration)).await?;
    let rss = server.peak_rss_kib()?;
    drop(server);
    let _ = std::fs::remove_dir_all(&state);
    print_report(&one, &eight, rss, first_200);
    Ok(())
}

/// A run and the server's CPU time per request during it (which other load on a shared
/// machine changes far less than throughput).
async fn measured(server: &ServerProcess, spec: &LoadSpec) -> Result<(LoadReport, Duration)> {
    let before = server.cpu_time()?;
    let report = run_load(spec).await?;
    let per_request = server.cpu_time()?.saturating_sub(before).div_f64(report.requests.max(1) as f64);
    Ok((report, per_request))
}

fn up_args(manifest: &Path, state: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = ["--variable", "secret=bench", "--from"].map(OsString::from).into();
    args.extend([manifest.as_os_str().to_owned(), "--state-dir".into(), state.as_os_str().to_owned()]);
    args
}

fn print_report(one: &(LoadReport, Duration), eight: &(LoadReport, Duration), rss_kib: u64, first_200: Duration) {
    let cpu = |d: Duration| format!("server CPU {:.0} µs/request", d.as_secs_f64() * 1e6);
    println!("spin-local benchmark: GET /bench (one key-value read, SQLite store)");
    println!("  1 in flight (one keep-alive connection): {}; {}", one.0, cpu(one.1));
    println!("  8 in flight: {}; {}", eight.0, cpu(eight.1));
    let (one, eight) = (&one.0, &eight.0);
    println!("  peak RSS (VmHWM) of the server: {:.1} MiB", rss_kib as f64 / 1024.0);
    println!("  process start to first 200 (warm compilation cache): {:.1} ms", first_200.as_secs_f64() * 1000.0);
    let checks = [
        ("p99 one at a time < 2 ms", one.p99 < Duration::from_millis(2)),
        ("req/s at 8 in flight >= 4000", eight.requests_per_sec >= 4000.0),
        ("p99 at 8 in flight < 5 ms", eight.p99 < Duration::from_millis(5)),
        ("first 200 within 300 ms", first_200 < Duration::from_millis(300)),
        ("peak RSS < 100 MiB", rss_kib < 100 * 1024),
    ];
    for (what, ok) in checks {
        println!("  [{}] {what}", if ok { "ok" } else { "MISSED" });
    }
}
