//! The whole-app benchmark, with the app under `spin-local up` in a child process (without
//! `TCP_NODELAY`, like Spin): start to first 200 (empty and warm compilation cache), the OAuth
//! flow (register -> authorize -> consent -> Clerk -> callback -> token), sequential keep-alive
//! latency of one route per component on one connection (for mcp-handler: authenticated
//! `tools/call add`), `tools/call add` throughput and latency at 8 requests in flight, the
//! legacy SSE round trip, the runtime's peak RSS, and each component's wasm size.
//!
//! Run (optimised host, so the numbers are the runtime's and not a debug build's):
//! `cargo test -p e2e --profile host mcp_bench:: -- --ignored --nocapture`
//! `MCP_BENCH_SECONDS` sets the length of each load run (default 5).

#![allow(clippy::print_stdout, reason = "a benchmark: printing its numbers is its job")]

use std::time::{Duration, Instant};

use crate::mcp_support::*;
use e2e::TestApp;
use spin_local_testing::bench::{LoadSpec, run_load};

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn mcp_benchmark() {
    let seconds = std::env::var("MCP_BENCH_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(5);
    e2e::build::components().expect("the components build");
    e2e::build::spin_local_binary().expect("spin-local builds");
    let cache = tempfile::tempdir().expect("temp dir");
    // Thousands of sign-in requests a second from one address are what the sign-in limit and
    // the cap on sign-ins in progress stop; raised far out of the way, they still count every
    // request (the same store writes as with the defaults), so pages are measured with their
    // real cost.
    let in_child = || {
        TestApp::builder()
            .separate_process()
            .cache_dir(cache.path())
            .variable("rate_limit_sign_in_per_minute", "1000000000")
            .variable("sign_in_max_pending_per_address", "1000000000")
    };
    let (first_start, app) = start_to_first_200(in_child());
    drop(app);
    let (warm_start, app) = start_to_first_200(in_child());

    println!("\n== MCP benchmark (spin-local up as a child process, SQLite store, {} cores) ==", cores());
    println!("process start to first 200 (spawn, manifest, store, components ready; mock Clerk in the harness):");
    println!("  first start, empty compilation cache (compiles 3 components): {:.1} ms", ms(first_start));
    println!("  cold start, warm compilation cache (as every later start): {:.1} ms", ms(warm_start));
    print_oauth_flow_times(&app);
    let token = token_for(&app, "user@example.com");
    assert_eq!(mcp(&app, &token, ADD).status, 200, "warm-up call");
    // One thread for the load generator leaves the other core to the server process.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    // Each run's report, and the server's CPU time per request during it (which other load on
    // a shared machine changes far less than throughput).
    let run = |spec: &LoadSpec| {
        let cpu_before = app.cpu_time().expect("server CPU time");
        let report = runtime.block_on(run_load(spec)).expect("load run");
        let cpu = app.cpu_time().expect("server CPU time").saturating_sub(cpu_before);
        assert_eq!(report.non_2xx + report.errors, 0, "every request succeeded");
        let per_request = cpu.as_secs_f64() * 1e6 / report.requests.max(1) as f64;
        format!("{report}; server CPU {per_request:.0} µs/request")
    };
    println!("sequential keep-alive latency, one connection, {seconds} s per route:");
    for (component, spec) in sequential_routes(&app, &token, seconds) {
        println!("  {component}: {}", run(&spec));
    }
    let eight = run(&add_calls(&app, &token, 8, Duration::from_secs(seconds)));
    println!("tools/call add, 8 in flight (8 keep-alive connections): {eight}");

    let mut stream = SseStream::open(&app, &token);
    let endpoint = stream.endpoint();
    let mut round_trips = Vec::new();
    for _ in 0..200 {
        let started = Instant::now();
        assert_eq!(sse_post(&app, &token, &endpoint, ADD).status, 202);
        stream.next_message();
        round_trips.push(started.elapsed());
    }
    println!("SSE round trip (POST /sse/message -> event on GET /sse), 200 sequential: {}", summary(round_trips));
    let rss = app.peak_rss_kib().expect("peak RSS of the runtime process");
    println!("peak RSS (VmHWM) of the spin-local process: {:.1} MiB", rss as f64 / 1024.0);

    let release = e2e::build::components().expect("built").join("../wasm32-wasip2/release");
    for name in ["oauth_provider", "clerk_callback", "mcp_handler", "health", "account"] {
        let size = std::fs::metadata(release.join(format!("{name}.wasm"))).map(|m| m.len()).unwrap_or(0);
        println!(
            "{name}.wasm: {size} bytes ({:.0} KiB){}",
            size as f64 / 1024.0,
            if size < 1 << 20 { "" } else { "  OVER 1 MiB" }
        );
    }
}

/// Authenticated `tools/call add` on `/mcp`, `in_flight` keep-alive connections.
fn add_calls(app: &TestApp, token: &str, in_flight: usize, duration: Duration) -> LoadSpec {
    add_call_load(app.url("/mcp"), token, in_flight, duration)
}

/// One route of each component, each sent one request at a time on one keep-alive connection:
/// where a response head sent apart from its body costs ~40 ms on Spin.
fn sequential_routes(app: &TestApp, token: &str, seconds: u64) -> Vec<(&'static str, LoadSpec)> {
    let duration = Duration::from_secs(seconds);
    let client = app.register_client(false);
    let consent_page = app.authorize_url(&client, &e2e::Pkce::new(), "bench");
    vec![
        (
            "oauth-provider, GET /.well-known/oauth-authorization-server",
            LoadSpec::get(app.url("/.well-known/oauth-authorization-server"), 1, duration),
        ),
        ("clerk-callback, GET /authorize (consent page)", LoadSpec::get(consent_page, 1, duration)),
        ("mcp-handler, POST /mcp tools/call add", add_calls(app, token, 1, duration)),
    ]
}

/// Starts the app and times it until its first request is answered.
fn start_to_first_200(builder: e2e::TestAppBuilder) -> (Duration, TestApp) {
    let started = Instant::now();
    let app = builder.start();
    let metadata = e2e::http::get(&app.url("/.well-known/oauth-authorization-server"));
    assert_eq!(metadata.status, 200);
    (started.elapsed(), app)
}

/// Register -> authorize (consent, mock Clerk, callback) -> token, for a fresh client each time.
fn print_oauth_flow_times(app: &TestApp) {
    let mut flows = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        let client = app.register_client(false);
        let mut browser = e2e::Browser::new();
        let auth = app.authorize_as(&mut browser, &client, "user@example.com");
        let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
        flows.push(started.elapsed());
        assert_eq!(tokens.status, 200, "the flow ends with tokens");
    }
    println!(
        "OAuth flow (register to token, through consent, mock Clerk and callback), 50 sequential: {}",
        summary(flows)
    );
}

fn summary(mut samples: Vec<Duration>) -> String {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    format!("p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms", ms(pick(0.5)), ms(pick(0.99)), ms(pick(1.0)))
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
