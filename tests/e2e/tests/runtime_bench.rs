//! The app against what its runtime can serve at all: for spin-local and, with
//! `E2E_SPIN_BINARY=/path/to/spin`, for that real Spin too, side by side:
//! - the ceiling: the fixture guest's no-op `/echo` (tests/fixtures) sent the very request an MCP
//!   client sends (same headers, same body), 8 in flight on 8 keep-alive connections;
//! - the ceiling of any handler that reads the store once, as `/mcp` must (the access token's
//!   record): the fixture's `/bench`, which reads one 400-byte value from the `default` store;
//! - authenticated `tools/call add` on `/mcp`, the same client, the same 8 in flight;
//! - the OAuth flow (register, authorize, consent, mock Clerk, callback, token), sequential;
//! - a failed `/token` (a wrong code: it counts the failure), sequential on one connection.
//!
//! Both apps run as child processes (`spin-local up` or `spin up`), the load generator on one
//! thread of this process. The no-op, one-read and add loads run again from a Node client
//! (`tests/real-clients/load.mjs`: Node's `http` with a keep-alive agent, the client the issue
//! that set these targets measured with) when `node` is on the `PATH`; each client's shares are
//! its own runs against each other. The echo and add runs alternate, `MCP_BENCH_ROUNDS` times (default
//! 3), `MCP_BENCH_SECONDS` each (default 3), and the median round is reported, so a burst of
//! other load on a shared machine moves one round and not the result.
//!
//! Run (optimised host, so the numbers are the runtime's and not a debug build's):
//! `E2E_SPIN_BINARY=/path/to/spin cargo test -p e2e --profile host runtime_bench:: -- --ignored --nocapture`

#![allow(clippy::print_stdout, reason = "a benchmark: printing its numbers is its job")]
#![allow(clippy::expect_used, clippy::panic, reason = "a benchmark: a failed step ends it with its reason")]

use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::mcp_support::*;
use e2e::fixture_app::{FixtureApp, FixtureSettings};
use e2e::{Runtime, TestApp};
use spin_local_testing::bench::{LoadReport, LoadSpec, Method, run_load};

/// Limits raised far out of the way of a benchmark that signs in and fails thousands of times
/// from one address; every request is still counted (the same store writes as with defaults).
const RAISED_LIMITS: [&str; 4] = [
    "rate_limit_register_per_hour",
    "rate_limit_sign_in_per_minute",
    "sign_in_max_pending_per_address",
    "rate_limit_token_failures_per_minute",
];

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn app_against_the_runtime_ceiling() {
    let seconds = env_number("MCP_BENCH_SECONDS", 3);
    let rounds = env_number("MCP_BENCH_ROUNDS", 3).max(1);
    e2e::build::components().expect("the components build");
    e2e::build::spin_local_binary().expect("spin-local builds");
    let mut runtimes = vec![("spin-local".to_owned(), Runtime::SpinLocal)];
    if let Some(spin) = std::env::var_os("E2E_SPIN_BINARY").filter(|path| !path.is_empty()) {
        let spin = PathBuf::from(spin);
        runtimes.push((spin_version(&spin), Runtime::Spin(spin)));
    }
    println!(
        "\n== the app against its runtime's ceiling ({} cores, {rounds} rounds of {seconds} s, median) ==",
        cores()
    );
    let results: Vec<(String, Measured)> = runtimes
        .into_iter()
        .map(|(name, runtime)| {
            let measured = measure(runtime, Duration::from_secs(seconds), rounds);
            println!("{name}: no-op {}\n  one read {}\n  add {}", measured.echo, measured.one_read, measured.add);
            (name, measured)
        })
        .collect();
    print_table(&results);
}

/// One runtime's numbers.
#[derive(Debug)]
struct Measured {
    echo: LoadReport,
    one_read: LoadReport,
    add: LoadReport,
    /// The same three loads from the Node client, when there is a `node`.
    node: Option<[LoadReport; 3]>,
    oauth_flow_p50: Duration,
    failed_token_p50: Duration,
}

fn measure(runtime: Runtime, duration: Duration, rounds: u64) -> Measured {
    let fixture = FixtureApp::start(FixtureSettings { runtime: runtime.clone(), ..FixtureSettings::default() })
        .expect("the fixture app starts");
    let mut builder = TestApp::builder().runtime(runtime).separate_process();
    for limit in RAISED_LIMITS {
        builder = builder.variable(limit, "1000000000");
    }
    let app = builder.start();
    let oauth_flow_p50 = oauth_flow_p50(&app, 30);
    let token = token_for(&app, "user@example.com");
    assert_eq!(mcp(&app, &token, ADD).status, 200, "warm-up call");
    let record = "r".repeat(400);
    let stored = e2e::http::send("POST", &fixture.url("/kv/spin/set/bench-key"), &[], record.as_bytes());
    assert_eq!(stored.status, 200, "the fixture stores the value /bench reads");
    let echo = add_call_load(fixture.url("/echo"), &token, 8, duration);
    let one_read = add_call_load(fixture.url("/bench"), &token, 8, duration);
    let add = add_call_load(app.url("/mcp"), &token, 8, duration);
    // One thread for the load generator leaves the other core to the server process.
    let load = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    let run = |spec: &LoadSpec| {
        let report = load.block_on(run_load(spec)).expect("load run");
        assert_eq!(report.non_2xx + report.errors, 0, "every request succeeded: {report}");
        report
    };
    run(&LoadSpec { duration: Duration::from_millis(500), ..echo.clone() });
    run(&LoadSpec { duration: Duration::from_millis(500), ..add.clone() });
    let (mut echoes, mut reads, mut adds) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        echoes.push(run(&echo));
        reads.push(run(&one_read));
        adds.push(run(&add));
    }
    let node = node_available().then(|| {
        let mut runs: [Vec<LoadReport>; 3] = Default::default();
        for _ in 0..rounds {
            for (spec, reports) in [&echo, &one_read, &add].into_iter().zip(runs.iter_mut()) {
                reports.push(node_run(spec));
            }
        }
        runs.map(median)
    });
    let failed_token = load.block_on(run_load(&failed_token_requests(&app, duration))).expect("load run");
    assert_eq!(failed_token.non_2xx, failed_token.requests, "every wrong code failed: {failed_token}");
    Measured {
        echo: median(echoes),
        one_read: median(reads),
        add: median(adds),
        node,
        oauth_flow_p50,
        failed_token_p50: failed_token.p50,
    }
}

/// `/token` with a code that was never issued, for a registered public client, one at a time.
fn failed_token_requests(app: &TestApp, duration: Duration) -> LoadSpec {
    let client = app.register_client(false);
    let mut spec = LoadSpec::get(app.url("/token"), 1, duration);
    spec.method = Method::POST;
    spec.headers = vec![("content-type".into(), "application/x-www-form-urlencoded".into())];
    spec.body = format!(
        "grant_type=authorization_code&code=never-issued&code_verifier={}&redirect_uri={}&client_id={}",
        "v".repeat(43),
        url_encode(&client.redirect_uri),
        client.client_id
    )
    .into_bytes()
    .into();
    spec
}

/// Register -> authorize (consent, mock Clerk, callback) -> token, `count` times; the median.
fn oauth_flow_p50(app: &TestApp, count: usize) -> Duration {
    let mut flows: Vec<Duration> = (0..count)
        .map(|_| {
            let started = Instant::now();
            let client = app.register_client(false);
            let auth = app.authorize_as(&mut e2e::Browser::new(), &client, "user@example.com");
            let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
            assert_eq!(tokens.status, 200, "the flow ends with tokens");
            started.elapsed()
        })
        .collect();
    flows.sort();
    flows[flows.len() / 2]
}

/// The Node load client, next to this crate's tests.
fn node_client() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../real-clients/load.mjs")
}

fn node_available() -> bool {
    let answers = std::process::Command::new("node").arg("--version").output().is_ok_and(|out| out.status.success());
    if !answers {
        println!("(no `node` on the PATH: the Node client's runs are skipped)");
    }
    answers
}

/// `spec` run by the Node client ([`node_client`]) in its own process; every request must succeed.
fn node_run(spec: &LoadSpec) -> LoadReport {
    use std::io::Write;
    let mut command = std::process::Command::new("node");
    command
        .arg(node_client())
        .arg(&spec.url)
        .arg(spec.concurrency.to_string())
        .arg(spec.duration.as_secs_f64().to_string());
    command.args(spec.headers.iter().map(|(name, value)| format!("{name}: {value}")));
    let mut child =
        command.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().expect("node starts");
    child.stdin.take().expect("node's stdin").write_all(&spec.body).expect("the body reaches node");
    let out = child.wait_with_output().expect("node ends");
    assert!(out.status.success(), "the Node client ran: {}", String::from_utf8_lossy(&out.stdout));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the Node client's JSON line");
    let number = |key: &str| report[key].as_f64().unwrap_or_else(|| panic!("`{key}` in {report}"));
    let millis = |key: &str| Duration::from_secs_f64(number(key) / 1000.0);
    let report = LoadReport {
        requests: number("requests") as u64,
        errors: number("errors") as u64,
        non_2xx: number("non2xx") as u64,
        elapsed: Duration::from_secs_f64(number("seconds")),
        requests_per_sec: number("rps"),
        p50: millis("p50Ms"),
        p90: millis("p90Ms"),
        p99: millis("p99Ms"),
        max: millis("maxMs"),
    };
    assert_eq!(report.non_2xx + report.errors, 0, "every request from Node succeeded: {report}");
    report
}

fn print_table(results: &[(String, Measured)]) {
    println!(
        "\n| runtime | no-op guest | no-op + one store read | tools/call add | share of no-op | share of one read | add p99 | OAuth flow p50 | failed /token p50 |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for (name, m) in results {
        println!(
            "| {name} | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}% | {:.0}% | {:.2} ms | {:.1} ms | {:.2} ms |",
            m.echo.requests_per_sec,
            m.one_read.requests_per_sec,
            m.add.requests_per_sec,
            100.0 * m.add.requests_per_sec / m.echo.requests_per_sec,
            100.0 * m.add.requests_per_sec / m.one_read.requests_per_sec,
            ms(m.add.p99),
            ms(m.oauth_flow_p50),
            ms(m.failed_token_p50)
        );
    }
    if results.iter().any(|(_, m)| m.node.is_some()) {
        println!("\nThe same loads from one Node client (`tests/real-clients/load.mjs`):\n");
        println!(
            "| runtime | no-op guest | no-op + one store read | tools/call add | share of no-op | share of one read | add p99 |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- |");
    }
    for (name, m) in results {
        if let Some([echo, one_read, add]) = &m.node {
            println!(
                "| {name} | {:.0}/s | {:.0}/s | {:.0}/s | {:.0}% | {:.0}% | {:.2} ms |",
                echo.requests_per_sec,
                one_read.requests_per_sec,
                add.requests_per_sec,
                100.0 * add.requests_per_sec / echo.requests_per_sec,
                100.0 * add.requests_per_sec / one_read.requests_per_sec,
                ms(add.p99),
            );
        }
    }
    if let [(local, local_numbers), (spin, spin_numbers)] = results {
        println!(
            "OAuth flow, {spin} against {local}: {:.2}x",
            spin_numbers.oauth_flow_p50.as_secs_f64() / local_numbers.oauth_flow_p50.as_secs_f64()
        );
    }
}

/// The round with the median throughput.
fn median(mut reports: Vec<LoadReport>) -> LoadReport {
    reports.sort_by(|a, b| a.requests_per_sec.total_cmp(&b.requests_per_sec));
    reports.swap_remove(reports.len() / 2)
}

/// `spin --version`'s first line, e.g. `spin 4.0.2 (…)`, or the path when it does not answer.
fn spin_version(binary: &std::path::Path) -> String {
    std::process::Command::new(binary)
        .arg("--version")
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .and_then(|text| text.split_whitespace().take(2).collect::<Vec<_>>().join(" ").into())
        .filter(|name: &String| !name.is_empty())
        .unwrap_or_else(|| binary.display().to_string())
}

fn url_encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}
