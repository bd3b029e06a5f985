//! Abuse limits, stream caps and the audit trail, over real HTTP against the components on
//! spin-local: each limit under, at and past its maximum (429 with `Retry-After`), a window that
//! ends, two instances on one Redis counting together, the trusted client-address header, and
//! the audit lines the components print (in `<state dir>/logs/<component>_stdout.txt`, as Spin
//! keeps them): their fields, and no token, code, secret or cookie in them.

use std::time::Duration;

use crate::mcp_support::*;
use e2e::http::{self, Response};
use e2e::{Browser, Pkce, TestApp};
use serde_json::{Value, json};
use spin_local_testing::redis_server;

#[allow(clippy::expect_used, reason = "test helper: a missing or malformed Retry-After fails the test")]
fn retry_after(response: &Response) -> u64 {
    response.header("retry-after").expect("Retry-After").parse().expect("whole seconds")
}

/// Waits, if need be, until at least 20 seconds of the current `window_secs` clock window are
/// left, so that the counting a test does falls in one window (the windows are aligned on the
/// clock) and a boundary passing mid-test cannot reset a count the test relies on.
#[allow(clippy::expect_used, reason = "test helper: a clock before 1970 fails the test")]
pub(crate) fn within_one_window(window_secs: u64) {
    let into = std::time::SystemTime::UNIX_EPOCH.elapsed().expect("clock").as_secs() % window_secs;
    if window_secs - into < 20 {
        std::thread::sleep(Duration::from_secs(window_secs - into));
    }
}

fn registration() -> Value {
    json!({"redirect_uris": ["http://127.0.0.1:9/cb"], "token_endpoint_auth_method": "none"})
}

/// Asserts an OAuth 429: `temporarily_unavailable`, the limit named, a `Retry-After`.
pub(crate) fn assert_oauth_limited(response: &Response, limit: &str, window: u64) {
    assert_eq!(response.status, 429, "{}", response.text());
    let body = response.json();
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].as_str().unwrap_or_default().contains(&format!("`{limit}`")), "{body}");
    assert!((1..=window).contains(&retry_after(response)));
}

/// The audit events named `event`.
pub(crate) fn events(app: &TestApp, event: &str) -> Vec<Value> {
    app.audit_events().into_iter().filter(|e| e["event"] == event).collect()
}

#[test]
fn registrations_past_the_per_address_limit_get_429_and_a_client_set_forwarded_header_changes_nothing() {
    let app = TestApp::builder().variable("rate_limit_register_per_hour", "3").start();
    within_one_window(3600);
    for _ in 0..3 {
        assert_eq!(app.register(&registration()).status, 201, "under and at the limit");
    }
    assert_oauth_limited(&app.register(&registration()), "register", 3600);
    let spoofed = http::post_json(&app.url("/register"), &registration(), &[("x-forwarded-for", "203.0.113.5")]);
    assert_oauth_limited(&spoofed, "register", 3600);
    let limited = events(&app, "rate_limited");
    assert_eq!(limited.len(), 2);
    assert_eq!(
        (limited[0]["limit"].as_str(), limited[0]["client_addr"].as_str()),
        (Some("register"), Some("127.0.0.1"))
    );
    assert_eq!(limited[1]["client_addr"], "127.0.0.1", "the header is not trusted unless configured");
}

#[test]
fn behind_the_proxy_named_by_client_addr_header_the_last_forwarded_entry_is_the_client() {
    // Behind a proxy the public origin is configured: without it, a request the proxy reports
    // as coming from another machine gets a 421 (spin_headers tests that).
    let app = TestApp::builder()
        .variable("public_base_url", "https://mcp.example.com")
        .variable("client_addr_header", "x-forwarded-for")
        .variable("rate_limit_register_per_hour", "1")
        .start();
    within_one_window(3600);
    let from = |chain: &str| http::post_json(&app.url("/register"), &registration(), &[("x-forwarded-for", chain)]);
    assert_eq!(from("203.0.113.5").status, 201);
    assert_oauth_limited(&from("198.51.100.7, 203.0.113.5"), "register", 3600);
    assert_eq!(from("203.0.113.5, 198.51.100.7").status, 201, "a client cannot choose the entry that counts");
    let registered: Vec<String> = events(&app, "client.registered")
        .iter()
        .map(|e| e["client_addr"].as_str().unwrap_or_default().to_owned())
        .collect();
    assert_eq!(registered, ["203.0.113.5", "198.51.100.7"]);
}

#[test]
fn token_failures_count_per_client_and_address_and_past_the_limit_every_token_request_of_that_client_there_gets_429() {
    let app = TestApp::builder().variable("rate_limit_token_failures_per_minute", "2").start();
    let (stuck, other) = (app.register_client(false), app.register_client(false));
    let auth = app.authorize_as(&mut Browser::new(), &stuck, "user@example.com");
    within_one_window(60);
    for _ in 0..2 {
        assert_eq!(app.refresh(&stuck, "a-dead-refresh-token").status, 400, "under and at the limit");
    }
    assert_oauth_limited(&app.refresh(&stuck, "a-dead-refresh-token"), "token_failures", 60);
    assert_oauth_limited(&app.exchange_code(&stuck, &auth.code, &auth.verifier), "token_failures", 60);
    assert_eq!(app.refresh(&other, "a-dead-refresh-token").status, 400, "another client has its own count");
    let made_up = e2e::Client { client_id: "made-up".into(), ..other.clone() };
    for _ in 0..2 {
        assert_eq!(app.refresh(&made_up, "x").status, 401);
    }
    assert_oauth_limited(&app.refresh(&made_up, "x"), "token_failures", 60);
    assert_eq!(app.refresh(&other, "a-dead-refresh-token").status, 400, "unknown clients count per address");
}

#[test]
fn sign_in_requests_past_the_per_address_limit_get_a_429_page_shared_by_authorize_and_callback() {
    let app = TestApp::builder().variable("rate_limit_sign_in_per_minute", "2").start();
    let client = app.register_client(false);
    let url = app.authorize_url(&client, &Pkce::new(), "s");
    let mut browser = Browser::new();
    within_one_window(60);
    for _ in 0..2 {
        assert_eq!(browser.get(&url).status, 200, "under and at the limit");
    }
    let refused = browser.get(&url);
    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("content-type"), Some("text/html; charset=utf-8"));
    assert!(refused.text().contains("Too many sign-in attempts"), "{}", refused.text());
    assert!((1..=60).contains(&retry_after(&refused)));
    let callback = browser.get(&app.url("/callback?state=whatever"));
    assert_eq!(callback.status, 429, "/callback shares the count");
    let limited = events(&app, "rate_limited");
    assert_eq!(limited.len(), 2);
    assert!(limited.iter().all(|e| e["limit"] == "sign_in" && e["component"] == "clerk-callback"), "{limited:?}");
}

#[test]
fn tool_calls_past_a_configured_limit_get_429_and_a_json_rpc_error() {
    let app = TestApp::builder().variable("rate_limit_tool_calls_per_minute", "2").start();
    let token = token_for(&app, "user@example.com");
    let other = token_for(&app, "admin@example.com");
    within_one_window(60);
    for _ in 0..2 {
        assert_eq!(mcp(&app, &token, ADD).status, 200, "under and at the limit");
    }
    let refused = mcp(&app, &token, ADD);
    assert_eq!(refused.status, 429, "{}", refused.text());
    let wait = retry_after(&refused);
    assert!((1..=60).contains(&wait));
    let body = refused.json();
    assert_eq!((body["id"].as_i64(), body["error"]["code"].as_i64()), (Some(3), Some(-32000)));
    assert!(body["error"]["message"].as_str().unwrap_or_default().contains("rate limit `tool_calls` exceeded"));
    assert_eq!(body["error"]["data"]["retryAfter"].as_u64(), Some(wait));
    assert_eq!(mcp(&app, &token, TOOLS_LIST).status, 200, "only tool calls count");
    assert_eq!(mcp(&app, &other, ADD).status, 200, "another user has their own count");
    let limited = events(&app, "rate_limited");
    assert_eq!(
        (limited.len(), limited[0]["limit"].as_str(), limited[0]["tool"].as_str()),
        (1, Some("tool_calls"), Some("add"))
    );
    assert_eq!(events(&app, "tool.called").len(), 3, "the refused call did not run");
}

/// Every per-minute limit, on the real components and the real clock: spent, then usable again
/// once its window has ended. (The hourly `register` window is moved on by a clock in the
/// oauth-core unit tests, through the same handler.)
#[test]
fn sign_in_token_failure_and_tool_call_limits_let_requests_through_again_when_the_minute_ends() {
    let sign_in = TestApp::builder().variable("rate_limit_sign_in_per_minute", "1").start();
    let calls = TestApp::builder()
        .variable("rate_limit_token_failures_per_minute", "1")
        .variable("rate_limit_tool_calls_per_minute", "1")
        .start();
    let url = sign_in.authorize_url(&sign_in.register_client(false), &Pkce::new(), "s");
    let client = calls.register_client(false);
    let token = token_for(&calls, "user@example.com");
    let mut browser = Browser::new();
    within_one_window(60);
    assert_eq!(browser.get(&url).status, 200);
    let sign_in_refused = browser.get(&url);
    assert_eq!(sign_in_refused.status, 429);
    assert_eq!(calls.refresh(&client, "dead").status, 400);
    let token_refused = calls.refresh(&client, "dead");
    assert_oauth_limited(&token_refused, "token_failures", 60);
    assert_eq!(mcp(&calls, &token, ADD).status, 200);
    let call_refused = mcp(&calls, &token, ADD);
    assert_eq!(call_refused.status, 429);
    let wait = [&sign_in_refused, &token_refused, &call_refused].into_iter().map(retry_after).max().unwrap_or(60);
    std::thread::sleep(Duration::from_secs(wait));
    assert_eq!(browser.get(&url).status, 200, "a new sign-in window");
    assert_eq!(calls.refresh(&client, "dead").status, 400, "a new token-failure window");
    assert_eq!(mcp(&calls, &token, ADD).status, 200, "a new tool-call window");
}

#[test]
fn sse_streams_past_the_per_user_cap_get_429() {
    let app = TestApp::builder().variable("sse_max_streams_per_user", "2").start();
    let token = token_for(&app, "user@example.com");
    let open: Vec<SseStream> = (0..2).map(|_| SseStream::open(&app, &token)).collect();
    assert!(open.iter().all(|stream| stream.status == 200), "under and at the cap");
    let refused = SseStream::open(&app, &token);
    assert_eq!(refused.status, 429, "{}", refused.head);
    assert!(refused.head.to_ascii_lowercase().contains("retry-after:"), "{}", refused.head);
    let other = token_for(&app, "admin@example.com");
    assert_eq!(SseStream::open(&app, &other).status, 200, "another user is not affected");
    let limited = events(&app, "rate_limited");
    assert_eq!((limited.len(), limited[0]["limit"].as_str()), (1, Some("sse_streams_per_user")));
}

#[test]
fn sse_streams_past_the_overall_cap_get_429_whoever_opens_them() {
    let app = TestApp::builder().variable("sse_max_streams", "2").start();
    let (user, admin) = (token_for(&app, "user@example.com"), token_for(&app, "admin@example.com"));
    let open = [SseStream::open(&app, &user), SseStream::open(&app, &admin)];
    assert!(open.iter().all(|stream| stream.status == 200), "under and at the cap");
    for token in [&user, &admin] {
        let refused = SseStream::open(&app, token);
        assert_eq!(refused.status, 429, "{}", refused.head);
        assert!(refused.head.to_ascii_lowercase().contains("retry-after:"), "{}", refused.head);
    }
    let limited = events(&app, "rate_limited");
    assert_eq!(limited.len(), 2);
    assert!(limited.iter().all(|e| e["limit"] == "sse_streams"), "{limited:?}");
}

#[test]
fn two_instances_on_one_redis_count_together() {
    let Some(redis) = redis_server() else { return };
    let a = TestApp::builder()
        .redis(&redis.url)
        .variable("rate_limit_register_per_hour", "4")
        .variable("rate_limit_token_failures_per_minute", "2")
        .variable("rate_limit_tool_calls_per_minute", "2")
        .variable("sse_max_streams_per_user", "2")
        .start();
    let b = a.start_peer();
    let client = a.register_client(false);
    let token = token_for(&a, "user@example.com");
    within_one_window(60);
    assert_eq!(a.refresh(&client, "dead").status, 400);
    assert_eq!(b.refresh(&client, "dead").status, 400);
    assert_oauth_limited(&a.refresh(&client, "dead"), "token_failures", 60);
    assert_oauth_limited(&b.refresh(&client, "dead"), "token_failures", 60);
    // `client` and the one `token_for` registered on `a` are registrations 1 and 2.
    for app in [&b, &a] {
        assert_eq!(app.register(&registration()).status, 201, "registrations 3 and 4 of 4");
    }
    assert_oauth_limited(&a.register(&registration()), "register", 3600);
    assert_oauth_limited(&b.register(&registration()), "register", 3600);
    assert_eq!(mcp(&a, &token, ADD).status, 200);
    assert_eq!(mcp(&b, &token, ADD).status, 200);
    assert_eq!(mcp(&a, &token, ADD).status, 429, "tool calls 3 of 2");
    let streams = [SseStream::open(&a, &token), SseStream::open(&b, &token)];
    assert!(streams.iter().all(|stream| stream.status == 200));
    assert_eq!(SseStream::open(&a, &token).status, 429, "streams 3 of 2");
    assert_eq!(SseStream::open(&b, &token).status, 429, "streams 3 of 2");
    assert!(a.kv_snapshot().is_empty() && b.kv_snapshot().is_empty(), "the counters are in Redis");
}

#[test]
fn the_audit_trail_is_one_json_line_per_event_with_fixed_fields_and_holds_no_secret() {
    let app = TestApp::builder().variable("refresh_grace_seconds", "0").start();
    let client = app.register_client(true);
    let mut browser = Browser::new();
    let pkce = Pkce::new();
    let page = browser.get(&app.authorize_url(&client, &pkce, "denied-state"));
    assert_eq!(app.submit_consent(&mut browser, &page, "deny").status, 200, "our own page");
    // A grant used, refreshed, and its old refresh token replayed (no grace window here).
    let first = app.authorize_as(&mut browser, &client, "admin@example.com");
    let tokens = app.exchange_code(&client, &first.code, &first.verifier).json();
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    assert_eq!(mcp(&app, &access, ADD).status, 200);
    let refresh = tokens["refresh_token"].as_str().expect("refresh token").to_owned();
    let rotated = app.refresh(&client, &refresh).json();
    assert_eq!(app.refresh(&client, &refresh).status, 400, "the replay revokes the grant");
    // A grant revoked by its client (the approval is remembered now).
    let second = app.authorize_as(&mut browser, &client, "admin@example.com");
    let revoked = app.exchange_code(&client, &second.code, &second.verifier).json();
    let revoked_refresh = revoked["refresh_token"].as_str().expect("refresh token");
    assert_eq!(app.revoke(&client, revoked_refresh).status, 200);
    // A code presented twice.
    let third = app.authorize_as(&mut browser, &client, "admin@example.com");
    let reused = app.exchange_code(&client, &third.code, &third.verifier).json();
    assert_eq!(app.exchange_code(&client, &third.code, &third.verifier).status, 400);
    assert_eq!(browser.get(&app.url("/callback?state=unknown")).status, 400);

    let events = app.audit_events();
    for event in &events {
        let ts = event["ts"].as_str().unwrap_or_default();
        assert!(ts.len() == 20 && ts.ends_with('Z') && ts.as_bytes()[10] == b'T', "{event}");
        assert!(
            ["success", "failure", "denied", "limited"].contains(&event["outcome"].as_str().unwrap_or("")),
            "{event}"
        );
    }
    let kinds: Vec<&str> = events.iter().filter_map(|e| e["event"].as_str()).collect();
    for kind in [
        "client.registered",
        "consent.denied",
        "consent.approved",
        "sign_in.completed",
        "sign_in.failed",
        "token.issued",
        "token.refreshed",
        "token.refresh_reused",
        "token.revoked",
        "token.code_reused",
        "tool.called",
    ] {
        assert!(kinds.contains(&kind), "no {kind} in {kinds:?}");
    }
    let component_of = |kind: &str| events.iter().find(|e| e["event"] == kind).map(|e| e["component"].clone());
    assert_eq!(component_of("client.registered"), Some(json!("oauth-provider")));
    assert_eq!(component_of("consent.denied"), Some(json!("clerk-callback")));
    assert_eq!(component_of("tool.called"), Some(json!("mcp-handler")));
    let call = events.iter().find(|e| e["event"] == "tool.called").expect("a tool call");
    assert_eq!((call["tool"].as_str(), call["client_id"].as_str()), (Some("add"), Some(client.client_id.as_str())));
    assert!(call["user_id"].as_str().is_some_and(|id| !id.is_empty()) && call["duration_ms"].is_u64(), "{call}");
    let issued = events.iter().find(|e| e["event"] == "token.issued").expect("issued");
    let reuse = events.iter().find(|e| e["event"] == "token.refresh_reused").expect("reuse");
    assert_eq!(reuse["grant_id"], issued["grant_id"], "the revoked grant is named");

    let mut secrets: Vec<String> = vec![client.client_secret.clone().expect("confidential")];
    for auth in [&first, &second, &third] {
        secrets.extend([auth.code.clone(), auth.verifier.clone(), auth.state.clone()]);
    }
    for answer in [&tokens, &rotated, &revoked, &reused] {
        for field in ["access_token", "refresh_token"] {
            secrets.push(answer[field].as_str().expect(field).to_owned());
        }
    }
    secrets.extend(browser.cookies.values().cloned());
    secrets.push(app.cookie_key.clone());
    let clerk_secrets = app
        .clerk()
        .variables()
        .into_iter()
        .filter(|(name, _)| name.ends_with("secret_key") || name.ends_with("client_secret"));
    secrets.extend(clerk_secrets.map(|(_, value)| value));
    let trail = app.audit_text();
    assert!(trail.lines().count() >= events.len() && !trail.is_empty());
    // What Clerk handed the server at each sign-in: its access token (`oat_…`, the mock's form)
    // and ID token (a JWT, `eyJ…`).
    for prefix in ["oat_", "eyJ"] {
        assert!(!trail.contains(prefix), "the audit trail holds a Clerk token ({prefix}…)");
    }
    for secret in secrets {
        assert!(secret.len() >= 16, "a real secret: {secret}");
        assert!(!trail.contains(&secret), "the audit trail holds a secret: {secret}");
    }
}

#[test]
fn a_few_accounts_at_their_stream_cap_cannot_take_the_slots_kept_for_everyone_else() {
    // 8 in all: users' streams beyond their first two may take at most half of them.
    let app = TestApp::builder().variable("sse_max_streams", "8").start();
    let (heavy, other) = (token_for(&app, "user@example.com"), token_for(&app, "admin@example.com"));
    let held: Vec<SseStream> = (0..6).map(|_| SseStream::open(&app, &heavy)).collect();
    assert!(held.iter().all(|stream| stream.status == 200), "two first streams and four extra ones");
    let refused = SseStream::open(&app, &heavy);
    assert_eq!(refused.status, 429, "the extra share is full, though the user's cap (10) is not");
    assert!(refused.head.to_ascii_lowercase().contains("retry-after:"), "{}", refused.head);
    let others: Vec<SseStream> = (0..2).map(|_| SseStream::open(&app, &other)).collect();
    assert!(others.iter().all(|stream| stream.status == 200), "the slots kept free");
    let third = token_for(&app, "premium@example.com");
    assert_eq!(SseStream::open(&app, &third).status, 429, "the server is full now");
    let limited = events(&app, "rate_limited");
    let limits: Vec<&str> = limited.iter().filter_map(|e| e["limit"].as_str()).collect();
    assert_eq!(limits, ["sse_streams_extra", "sse_streams"]);
}
