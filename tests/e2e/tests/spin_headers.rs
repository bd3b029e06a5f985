//! A caller's own copies of the headers Spin adds (`Spin-Client-Addr`, `Spin-Full-URL`, ...)
//! change nothing, and without `public_base_url` only a loopback connection is served from the
//! request's origin (issue 20 items 1, 2 and 5; issue 21 finding 11).
//!
//! Spin appends its headers after the caller's (see `crates/spin-platform/src/inbound.rs`), and
//! spin-local does the same, so these tests see on spin-local what a component meets on Spin;
//! with `E2E_SPIN_BINARY` they run under real Spin. Every request here comes from 127.0.0.1, so
//! a request "from another machine" is one a trusted proxy (`client_addr_header`) reports as
//! such; a bare non-loopback connection is covered by `platform::web`'s unit tests.

use e2e::http::{self, Response, send};
use e2e::{Pkce, TestApp};
use serde_json::{Value, json};

fn registration() -> Value {
    json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})
}

fn events(app: &TestApp, event: &str) -> Vec<Value> {
    app.audit_events().into_iter().filter(|e| e["event"] == event).collect()
}

fn addresses(events: &[Value]) -> Vec<String> {
    events.iter().map(|e| e["client_addr"].as_str().unwrap_or("<none>").to_owned()).collect()
}

/// A fresh documentation address for request `n` (198.51.100.0/24, RFC 5737), with a port.
fn forged_addr(n: usize) -> String {
    format!("198.51.100.{}:{}", n % 250 + 1, 1000 + n)
}

/// Waits, if need be, until at least 20 seconds of the current `window_secs` clock window are
/// left, so that a burst falls in one rate-limit window.
fn within_one_window(window_secs: u64) {
    let into = std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_secs()) % window_secs;
    if window_secs - into < 20 {
        std::thread::sleep(std::time::Duration::from_secs(window_secs - into));
    }
}

fn assert_421_naming_the_variable(response: &Response, what: &str) {
    assert_eq!(response.status, 421, "{what}: {}", response.text());
    assert!(response.text().contains("public_base_url"), "{what}: {}", response.text());
}

#[test]
fn a_burst_of_registrations_each_with_its_own_spin_client_addr_is_limited_as_one_without() {
    let app = TestApp::builder().variable("rate_limit_register_per_hour", "3").start();
    within_one_window(3600);
    let statuses: Vec<u16> = (0..6)
        .map(|n| {
            let forged = forged_addr(n);
            http::post_json(&app.url("/register"), &registration(), &[("spin-client-addr", forged.as_str())]).status
        })
        .collect();
    assert_eq!(statuses, [201, 201, 201, 429, 429, 429], "counted as one address, the connection's");
    let counters = app.kv_keys("ratelimit:register:");
    assert_eq!(counters.len(), 1, "one counter, not one per forged address: {counters:?}");
    let registered = addresses(&events(&app, "client.registered"));
    let limited = addresses(&events(&app, "rate_limited"));
    assert_eq!((registered.len(), limited.len()), (3, 3));
    assert!(registered.iter().chain(&limited).all(|addr| addr == "127.0.0.1"), "{registered:?} {limited:?}");
}

#[test]
fn sign_in_requests_naming_another_address_count_against_the_caller_s_own() {
    let app = TestApp::builder().variable("rate_limit_sign_in_per_minute", "2").start();
    let victim = ("spin-client-addr", "198.51.100.7:443");
    within_one_window(60);
    let statuses: Vec<u16> = (0..4).map(|_| send("GET", &app.url("/apps"), &[victim], b"").status).collect();
    assert_eq!(statuses[2..], [429, 429], "the caller is limited, whatever address it names: {statuses:?}");
    assert!(statuses[..2].iter().all(|status| *status != 429), "{statuses:?}");
    let limited = addresses(&events(&app, "rate_limited"));
    assert_eq!(limited, ["127.0.0.1", "127.0.0.1"], "the audit trail names the connection's address");
}

#[test]
fn with_a_trusted_proxy_header_missing_the_connection_s_address_is_used_not_the_caller_s_spin_header() {
    let app = TestApp::builder()
        .variable("client_addr_header", "x-forwarded-for")
        .variable("rate_limit_register_per_hour", "1")
        .start();
    within_one_window(3600);
    let forged = [("spin-client-addr", "198.51.100.9:1")];
    assert_eq!(http::post_json(&app.url("/register"), &registration(), &forged).status, 201);
    let again = [("spin-client-addr", "198.51.100.10:1")];
    assert_eq!(http::post_json(&app.url("/register"), &registration(), &again).status, 429);
    assert_eq!(addresses(&events(&app, "client.registered")), ["127.0.0.1"]);
    assert_eq!(addresses(&events(&app, "rate_limited")), ["127.0.0.1"]);
}

#[test]
fn a_foreign_host_with_a_loopback_spin_full_url_gets_421_without_public_base_url() {
    let app = TestApp::start();
    let loopback_url = app.url("/.well-known/oauth-authorization-server");
    let forged = [("host", "evil.example:3223"), ("spin-full-url", loopback_url.as_str())];
    let metadata = send("GET", &loopback_url, &forged, b"");
    assert_421_naming_the_variable(&metadata, "metadata");
    assert!(!metadata.text().contains("evil.example"), "{}", metadata.text());

    let mcp_url = app.url("/mcp");
    let mcp_headers = [
        ("host", "evil.example:3223"),
        ("spin-full-url", mcp_url.as_str()),
        ("origin", "http://evil.example:3223"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    let initialize = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    assert_421_naming_the_variable(&send("POST", &mcp_url, &mcp_headers, initialize), "/mcp");

    let client = app.register_client(false);
    let authorize = app.authorize_url(&client, &Pkce::new(), "st");
    let page = send("GET", &authorize, &[("host", "evil.example:3223"), ("spin-full-url", authorize.as_str())], b"");
    assert_421_naming_the_variable(&page, "/authorize");
    assert!(page.location().is_none(), "no redirect");
    let apps_url = app.url("/apps");
    let apps = send("GET", &apps_url, &[("host", "evil.example:3223"), ("spin-full-url", apps_url.as_str())], b"");
    assert_421_naming_the_variable(&apps, "/apps");
}

#[test]
fn without_public_base_url_a_loopback_host_from_a_remote_client_gets_421() {
    // A proxy on this machine relays a remote client (it says so in the header the operator
    // trusts): the connection is loopback, the client is not, and its `Host: localhost` must
    // not make the server take its origin from the request or allow loopback documents.
    let app = TestApp::builder().variable("client_addr_header", "x-forwarded-for").start();
    let port = app.base_url().rsplit(':').next().unwrap_or_default().to_owned();
    let localhost = format!("localhost:{port}");
    let remote = [("host", localhost.as_str()), ("x-forwarded-for", "198.51.100.7")];
    let metadata = send("GET", &app.url("/.well-known/oauth-authorization-server"), &remote, b"");
    assert_421_naming_the_variable(&metadata, "metadata");
    let document_client = format!("http://localhost:{port}/client.json");
    let pkce = Pkce::new();
    let query = platform::web::encode_pairs([
        ("response_type", "code"),
        ("client_id", document_client.as_str()),
        ("redirect_uri", "http://127.0.0.1:9/cb"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ]);
    let authorize = format!("{}?{query}", app.url("/authorize"));
    assert_421_naming_the_variable(&send("GET", &authorize, &remote, b""), "/authorize");

    let local = [("host", localhost.as_str()), ("x-forwarded-for", "127.0.0.1")];
    let metadata = send("GET", &app.url("/.well-known/oauth-authorization-server"), &local, b"");
    assert_eq!(metadata.status, 200, "a local client through the local proxy: {}", metadata.text());
    assert_eq!(metadata.json()["issuer"], format!("http://{localhost}"));
    let direct = send("GET", &app.url("/.well-known/oauth-authorization-server"), &[], b"");
    assert_eq!(direct.status, 200, "the header missing: the connection decides: {}", direct.text());
}
