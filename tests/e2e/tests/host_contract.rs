//! The host contract: every behaviour of the Spin host that the components rely on, one test
//! each, on spin-local (CI) and under a real Spin:
//!
//! ```sh
//! E2E_SPIN_BINARY=/path/to/spin cargo test -p e2e host_contract::
//! ```
//!
//! Where the components themselves do not show a behaviour, the kitchen-sink fixture
//! (`tests/fixtures`) does ([`FixtureApp`]). A behaviour spin-local does not share with Spin
//! is checked on spin-local only, and the test prints why it skips under Spin; the README
//! ("Spin versions") lists those.

#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic, reason = "test code: a failed step fails the test")]

use std::time::{Duration, Instant};

use crate::response_framing::assert_whole_responses;
use e2e::TestApp;
use e2e::fixture_app::{FixtureApp, FixtureSettings};
use e2e::http::{self, Response, send};
use spin_local_testing::{HttpsServer, TestResponse, redis_server};

fn fixture(settings: FixtureSettings) -> FixtureApp {
    FixtureApp::start(settings).unwrap_or_else(|e| panic!("the fixture app does not start: {e:#}"))
}

fn default_fixture() -> FixtureApp {
    fixture(FixtureSettings::default())
}

/// The values of `name` in an echo reply (`name=value` lines, in the order the guest got them).
fn echoed(response: &Response, name: &str) -> Vec<String> {
    let prefix = format!("{name}=");
    response.text().lines().filter_map(|line| line.strip_prefix(&prefix).map(str::to_owned)).collect()
}

/// `url` as a query value for the fixture's `/outbound?url=`.
fn outbound(app: &FixtureApp, url: &str) -> Response {
    http::get(&app.url(&format!("/outbound?{}", platform::web::encode_pairs([("url", url)]))))
}

/// Polls `check` for up to 10 s.
fn eventually(what: &str, check: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

// Request headers.

#[test]
fn spin_appends_its_request_headers_after_the_caller_s_copies_of_them() {
    let app = default_fixture();
    let forged = [
        ("spin-client-addr", "198.51.100.7:1"),
        ("spin-full-url", "http://127.0.0.1:1/forged"),
        ("spin-path-info", "/forged"),
        ("spin-matched-route", "/forged"),
    ];
    let response = send("GET", &app.url("/echo/deep/a/b?q=1"), &forged, b"");
    assert_eq!(response.status, 200, "{}", response.text());
    let own_url = app.url("/echo/deep/a/b?q=1");
    assert_eq!(echoed(&response, "spin-full-url"), ["http://127.0.0.1:1/forged", own_url.as_str()]);
    assert_eq!(echoed(&response, "spin-path-info"), ["/forged", "/a/b"]);
    assert_eq!(echoed(&response, "spin-matched-route"), ["/forged", "/echo/deep/..."]);
    let addresses = echoed(&response, "spin-client-addr");
    assert_eq!(addresses.len(), 2, "{}", response.text());
    assert_eq!(addresses[0], "198.51.100.7:1", "the caller's copy stays, first");
    assert!(addresses[1].starts_with("127.0.0.1:"), "Spin's value last: {}", response.text());
    assert_eq!(echoed(&response, "spin-raw-component-route"), ["/echo/deep/..."]);
    assert_eq!(echoed(&response, "spin-component-route"), ["/echo/deep"]);
    assert_eq!(echoed(&response, "spin-base-path"), ["/"]);
    let param = http::get(&app.url("/users/42/profile"));
    assert_eq!(echoed(&param, "spin-path-match-id"), ["42"]);
}

#[test]
fn spin_full_url_is_built_from_the_host_header_with_the_listener_s_scheme() {
    let app = default_fixture();
    let response = send("GET", &app.url("/echo?x=1"), &[("host", "evil.example:3223")], b"");
    assert_eq!(echoed(&response, "spin-full-url"), ["http://evil.example:3223/echo?x=1"]);
}

// Response framing.

#[test]
fn a_response_finished_before_it_is_handed_over_leaves_in_one_write() {
    let app = default_fixture();
    assert_whole_responses(app.base_url(), "fixture: GET /echo", |c| c.exchange("GET", "/echo", &[], b""), 200);
}

// Key-value.

#[test]
fn the_default_store_is_shared_by_both_key_value_apis_and_increments_are_atomic() {
    let app = default_fixture();
    assert_eq!(send("POST", &app.url("/kv/spin/set/alpha"), &[], b"one").status, 200);
    assert_eq!(http::get(&app.url("/kv/wasi/get/alpha")).text(), "one");
    assert_eq!(http::get(&app.url("/kv/spin/exists/alpha")).text(), "true");
    let keys = http::get(&app.url("/kv/wasi/keys/")).text();
    assert!(keys.lines().any(|key| key == "alpha"), "{keys}");
    assert_eq!(send("POST", &app.url("/kv/spin/delete/alpha"), &[], b"").status, 200);
    assert_eq!(http::get(&app.url("/kv/wasi/get/alpha")).status, 404);
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let url = app.url("/kv/incr/counter?delta=1");
            std::thread::spawn(move || http::get(&url).status)
        })
        .collect();
    assert!(racers.into_iter().all(|racer| racer.join().unwrap() == 200));
    assert_eq!(http::get(&app.url("/kv/incr/counter?delta=0")).text(), "16", "every increment counted once");
    assert_eq!(
        http::get(&app.url("/kv/spin/get/counter?hex=1")).text(),
        "1000000000000000",
        "SQLite: an 8-byte little-endian counter"
    );
}

/// Spin opens its SQLite store with SQLite's defaults (`key-value-spin`: `Connection::open`, no
/// pragma): a rollback journal and a sync to disk at every commit, so every write costs what a
/// durable commit costs. A runtime that switched the file to WAL would make writes look far
/// cheaper than users will see them.
#[test]
fn the_sqlite_store_keeps_sqlite_s_default_rollback_journal() {
    let app = default_fixture();
    assert_eq!(send("POST", &app.url("/kv/spin/set/alpha"), &[], b"one").status, 200);
    let file = rusqlite::Connection::open(app.state_dir().join("sqlite_key_value.db")).expect("the store's file");
    let mode: String = file.query_row("PRAGMA journal_mode", [], |row| row.get(0)).expect("journal mode");
    assert_eq!(mode, "delete", "the store's journal mode");
}

/// The fixture on the Redis at `url`.
fn fixture_on_redis(url: &str) -> FixtureApp {
    let store = format!("[key_value_store.default]\ntype = \"redis\"\nurl = \"{url}\"\n");
    fixture(FixtureSettings { runtime_config: Some(store), ..FixtureSettings::default() })
}

#[test]
fn redis_swap_writes_the_value_and_then_reports_cas_failed() {
    let Some(redis) = redis_server() else { return };
    let app = fixture_on_redis(&redis.url);
    assert_eq!(send("POST", &app.url("/kv/spin/set/c"), &[], b"v1").status, 200);
    let swapped = send("POST", &app.url("/kv/cas/c?from=v1"), &[], b"v2");
    assert_eq!((swapped.status, swapped.text().as_str()), (409, "cas-failed"), "the swap reports a conflict");
    assert_eq!(http::get(&app.url("/kv/spin/get/c")).text(), "v2", "and yet it wrote");
}

#[test]
fn redis_counters_are_decimal_text_and_get_many_of_several_keys_fails() {
    let Some(redis) = redis_server() else { return };
    let app = fixture_on_redis(&redis.url);
    assert_eq!(http::get(&app.url("/kv/incr/n?delta=32")).text(), "32");
    assert_eq!(http::get(&app.url("/kv/spin/get/n")).text(), "32", "a counter reads back as decimal text");
    send("POST", &app.url("/kv/spin/set/a"), &[], b"1");
    send("POST", &app.url("/kv/spin/set/b"), &[], b"2");
    let many = http::get(&app.url("/kv/get-many?keys=a,b"));
    assert_eq!(many.status, 500, "get-many of two keys is an error on Redis: {}", many.text());
    let absent = http::get(&app.url("/kv/get-many?keys=nothing-here"));
    assert_eq!((absent.status, absent.text().as_str()), (200, ""), "one absent key: an empty answer");
}

#[test]
fn a_redis_store_serves_again_soon_after_redis_restarts() {
    if e2e::skip_under_real_spin(
        "Spin 3.5.0-4.0.2 hang every key-value call while Redis is down and for up to two minutes after it is \
         back (redis-rs 0.32 ConnectionManager's backoff); spin-local answers at once and reconnects",
    ) {
        return;
    }
    let Some(mut redis) = redis_server() else { return };
    let app = fixture_on_redis(&redis.url);
    assert_eq!(send("POST", &app.url("/kv/spin/set/kept"), &[], b"yes").status, 200);
    redis.stop();
    let started = Instant::now();
    assert_eq!(http::get(&app.url("/kv/spin/get/kept")).status, 500, "the store's error reaches the guest");
    assert!(started.elapsed() < Duration::from_secs(2), "an answer, not a hang");
    redis.start_again();
    let back = Instant::now();
    eventually("the store serves again", || http::get(&app.url("/kv/spin/get/kept")).text() == "yes");
    assert!(back.elapsed() < Duration::from_secs(2), "{:?}", back.elapsed());
}

// Logs.

#[test]
fn a_guest_s_stdout_and_stderr_are_kept_in_log_files_in_the_state_dir() {
    let app = default_fixture();
    let printed = http::get(&app.url("/print?out=audit-line-1&err=diagnostic-line-1"));
    assert_eq!(printed.status, 200);
    let log = |name: &str| std::fs::read_to_string(app.state_dir().join("logs").join(name)).unwrap_or_default();
    eventually("both lines are in the logs", || {
        log("printer_stdout.txt").contains("audit-line-1\n")
            && log("printer_stderr.txt").contains("diagnostic-line-1\n")
    });
    assert!(!log("printer_stdout.txt").contains("diagnostic-line-1"), "stderr is kept apart from stdout");
}

// Outbound networking.

fn document_server() -> HttpsServer {
    HttpsServer::start(|_| TestResponse::json(r#"{"pong":true}"#))
}

fn client_tls(server: &HttpsServer) -> String {
    format!(
        "[[client_tls]]\ncomponent_ids = [\"outbound\"]\nhosts = [\"localhost\"]\nca_roots_file = \"{}\"\n",
        server.ca_file().display()
    )
}

#[test]
fn outbound_requests_to_hosts_not_in_allowed_outbound_hosts_are_denied() {
    let server = document_server();
    let app = default_fixture();
    let denied = outbound(&app, &server.url("/ping"));
    assert_eq!(denied.status, 502, "{}", denied.text());
    assert!(denied.text().contains("HttpRequestDenied"), "{}", denied.text());
}

/// A plain HTTP/1.1 server on loopback answering `pong` on keep-alive connections; counts the
/// connections it accepted.
fn counting_server() -> (u16, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = accepted.clone();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut chunk = [0u8; 4096];
                while let Ok(n) = stream.read(&mut chunk) {
                    if n == 0 {
                        break;
                    }
                    request.extend_from_slice(&chunk[..n]);
                    while let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        request.drain(..end + 4);
                        let _ = stream.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\npong");
                    }
                }
            });
        }
    });
    (port, accepted)
}

#[test]
fn outbound_connections_are_pooled_and_reused_by_later_requests() {
    let (port, accepted) = counting_server();
    let origin = format!("http://127.0.0.1:{port}");
    let app = fixture(FixtureSettings {
        variables: vec![("outbound_allowed".to_owned(), origin.clone())],
        ..FixtureSettings::default()
    });
    for _ in 0..3 {
        let fetched = outbound(&app, &format!("{origin}/ping"));
        assert_eq!(fetched.status, 200, "{}", fetched.text());
        assert!(fetched.text().ends_with("pong"), "{}", fetched.text());
    }
    assert_eq!(
        accepted.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "three requests from three instances, one connection: a server fault that only refuses new \
         connections does not reach them"
    );
}

#[test]
fn client_tls_trusts_a_private_ca_for_the_hosts_it_names() {
    let server = document_server();
    let origin = format!("https://localhost:{}", server.port());
    let allowed = vec![("outbound_allowed".to_owned(), origin.clone())];
    let trusting = fixture(FixtureSettings {
        variables: allowed.clone(),
        runtime_config: Some(client_tls(&server)),
        ..FixtureSettings::default()
    });
    let fetched = outbound(&trusting, &format!("{origin}/ping"));
    assert_eq!(fetched.status, 200, "{}", fetched.text());
    assert!(fetched.text().contains(r#"{"pong":true}"#), "{}", fetched.text());
    drop(trusting);
    let untrusting = fixture(FixtureSettings { variables: allowed, ..FixtureSettings::default() });
    let refused = outbound(&untrusting, &format!("{origin}/ping"));
    assert_eq!(refused.status, 502, "an unknown CA: {}", refused.text());
}

#[test]
fn block_networks_refuses_private_addresses_even_for_allowed_hosts() {
    let server = document_server();
    let origin = format!("https://localhost:{}", server.port());
    let app = fixture(FixtureSettings {
        variables: vec![("outbound_allowed".to_owned(), origin.clone())],
        runtime_config: Some(format!("{}[outbound_networking]\nblock_networks = [\"private\"]\n", client_tls(&server))),
        ..FixtureSettings::default()
    });
    let refused = outbound(&app, &format!("{origin}/ping"));
    assert_eq!(refused.status, 502, "{}", refused.text());
    assert!(refused.text().contains("DestinationIpProhibited"), "{}", refused.text());
}

// Variables.

#[test]
fn variables_resolve_from_flags_defaults_and_templates() {
    let app = default_fixture();
    assert_eq!(http::get(&app.url("/vars/greeting")).text(), "hello, world", "the default, through a template");
    assert_eq!(http::get(&app.url("/vars/literal")).text(), "plain");
    assert_eq!(http::get(&app.url("/vars/secret")).text(), "s3cret");
    assert_eq!(http::get(&app.url("/vars/nothing")).status, 404, "a variable the component does not declare");
    let flagged = fixture(FixtureSettings {
        variables: vec![("greeting".to_owned(), "hi".to_owned())],
        ..FixtureSettings::default()
    });
    assert_eq!(http::get(&flagged.url("/vars/greeting")).text(), "hi, world");
}

/// `wasi:config/store` (which the components read all their variables through, in one call):
/// `get-all` answers every variable of the component, rendered; `get` answers one, and `none`
/// for a name the component does not declare or cannot be a variable's.
#[test]
fn wasi_config_answers_every_variable_at_once_and_none_for_an_unknown_one() {
    let app = default_fixture();
    assert_eq!(
        http::get(&app.url("/vars/?all=1")).text(),
        "greeting=hello, world\nliteral=plain\nsecret=s3cret\n",
        "get-all: every variable of the component, sorted by the fixture"
    );
    assert_eq!(http::get(&app.url("/vars/greeting?config=1")).text(), "hello, world");
    assert_eq!(http::get(&app.url("/vars/nothing?config=1")).status, 404, "an undeclared variable is none");
    assert_eq!(http::get(&app.url("/vars/Not-A-Name?config=1")).status, 404, "an invalid name is none, not an error");
}

#[test]
fn an_app_missing_a_required_variable_does_not_start() {
    let started = FixtureApp::start(FixtureSettings { without_required_variable: true, ..FixtureSettings::default() });
    let error = started.err().map(|e| format!("{e:#}")).unwrap_or_default();
    assert!(!error.is_empty(), "the app started without its required variable `secret`");
}

// Health.

#[test]
fn spin_s_health_route_answers_without_a_component_and_the_app_s_healthz_reads_the_store() {
    let app = TestApp::start();
    let spin = http::get(&app.url("/.well-known/spin/health"));
    assert_eq!((spin.status, spin.text().as_str()), (200, "OK"));
    assert_eq!(http::get(&app.url("/.well-known/spin/nothing")).status, 404, "the prefix is Spin's");
    let healthz = http::get(&app.url("/healthz"));
    assert_eq!(healthz.status, 200, "{}", healthz.text());
    assert_eq!(healthz.json(), serde_json::json!({"status": "ok", "store": "ok"}));
    assert_eq!(healthz.header("cache-control"), Some("no-store"));
    assert_eq!(send("POST", &app.url("/healthz"), &[], b"").status, 405);
}

// After the response.

#[test]
fn a_guest_keeps_running_after_its_response_is_complete() {
    let app = default_fixture();
    let started = Instant::now();
    let answer = http::get(&app.url("/kv/after/late-key?ms=1500"));
    let took = started.elapsed();
    assert_eq!((answer.status, answer.text().as_str()), (200, "sent"));
    assert!(took < Duration::from_millis(1500), "the client had its answer before the guest's work: {took:?}");
    eventually("the guest's work after its response is done", || {
        http::get(&app.url("/kv/spin/get/late-key")).text() == "done"
    });
}

// The process.

#[test]
fn stopping_the_app_leaves_no_process_behind() {
    let app = fixture(FixtureSettings { separate_process: true, ..FixtureSettings::default() });
    let processes = app.process_group();
    assert!(!processes.is_empty(), "the app runs as a child process");
    eprintln!("host_contract: the app ran as {} process(es): {processes:?}", processes.len());
    drop(app);
    let alive =
        |pid: &u32| std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| !stat.contains(") Z "));
    eventually("every process of the app is gone", || !processes.iter().any(alive));
}
