//! The second security review's findings about the OAuth endpoints (issue 21: findings 1 in part,
//! 2, 3, 6, 7, 8 and 12), each attacked through the real components on spin-local, as the
//! reviewer did against a running server, with the behaviour that must hold instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use std::sync::Arc;
use std::time::Duration;

use crate::abuse::{assert_oauth_limited, events as audit_events, within_one_window};
use crate::cimd::{Documents, app_with, document, document_client};
use crate::scale_out::{signed_in_tokens as signed_in, str_field};
use e2e::http;
use e2e::{Browser, Pkce, TestApp};
use serde_json::Value;
use spin_local_testing::{TestResponse, redis_server};

/// A document server, and an app fetching from it with one more Spin variable.
fn documents_and_app(variable: &str, value: &str) -> (Documents, TestApp) {
    let documents = Documents::start();
    let app = TestApp::builder().document_server(&documents.server).variable(variable, value).start();
    (documents, app)
}

/// What a component wrote to its log (stderr), as Spin keeps it in the state dir.
fn component_log(app: &TestApp, component: &str) -> String {
    std::fs::read_to_string(app.state_dir().join("logs").join(format!("{component}_stderr.txt"))).unwrap_or_default()
}

/// The JSON record stored at `key`.
fn record(app: &TestApp, key: &str) -> Value {
    let raw = app.kv_snapshot().remove(key).unwrap_or_else(|| panic!("no record at {key}"));
    serde_json::from_slice(&raw).unwrap()
}

fn now() -> u64 {
    std::time::SystemTime::UNIX_EPOCH.elapsed().unwrap().as_secs()
}

// Finding 1: what an unauthenticated caller, or one account, can make the server store.

#[test]
fn successful_refreshes_past_the_per_grant_limit_get_429_without_a_clerk_call_while_retries_still_pass() {
    let app = TestApp::builder().variable("rate_limit_refreshes_per_hour", "2").start();
    within_one_window(3600);
    let (client, tokens) = signed_in(&app, "user@example.com");
    let r1 = app.refresh(&client, &str_field(&tokens, "refresh_token"));
    assert_eq!(r1.status, 200, "{}", r1.text());
    let r1 = str_field(&r1.json(), "refresh_token");
    let r2 = app.refresh(&client, &r1);
    assert_eq!(r2.status, 200, "{}", r2.text());
    let r2 = r2.json();
    let retried = app.refresh(&client, &r1);
    assert_eq!(retried.status, 200, "a retry within the grace window is never refused: {}", retried.text());
    assert_eq!(retried.json()["refresh_token"], r2["refresh_token"]);

    let user_path = format!("/v1/users/{}", app.clerk().user("user@example.com").unwrap().id);
    let clerk_calls = app.clerk().hits(&user_path);
    let refused = app.refresh(&client, &str_field(&r2, "refresh_token"));
    assert_oauth_limited(&refused, "refreshes", 3600);
    assert_eq!(app.clerk().hits(&user_path), clerk_calls, "a refused refresh does not call Clerk");
    let kept = record(&app, &format!("oauth:refresh:{}", platform::secret::hash_hex(&str_field(&r2, "refresh_token"))));
    assert!(kept.get("rotated_at").is_none(), "the refused token is not used up: {kept}");
    assert_eq!(app.mcp_initialize(&str_field(&r2, "access_token")).status, 200, "the grant lives on");
    let limited = audit_events(&app, "rate_limited");
    assert_eq!((limited.len(), limited[0]["limit"].as_str()), (1, Some("refreshes")), "{limited:?}");
    assert!(limited[0]["grant_id"].is_string(), "{}", limited[0]);
}

#[test]
fn a_registration_lives_a_day_until_its_first_token_exchange_then_ninety_days_from_its_last_use() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let key = format!("oauth:client:{}", client.client_id);
    let registered = record(&app, &key);
    let first_lifetime =
        registered["expires_at"].as_u64().unwrap() - registered["client_id_issued_at"].as_u64().unwrap();
    assert_eq!(first_lifetime, 24 * 3600, "{registered}");

    let auth = app.authorize_as(&mut Browser::new(), &client, "user@example.com");
    assert_eq!(app.exchange_code(&client, &auth.code, &auth.verifier).status, 200);
    let used = record(&app, &key);
    let left = used["expires_at"].as_u64().unwrap() - now();
    assert!(left > 89 * 24 * 3600 && left <= 90 * 24 * 3600, "{used}");
}

// Finding 2: requests that name a document client, and what they make the server fetch and store.

#[test]
fn revoke_requests_naming_document_clients_count_per_address_before_anything_is_fetched() {
    let (documents, app) = documents_and_app("rate_limit_document_clients_per_minute", "3");
    within_one_window(60);
    for n in 0..6 {
        let client = document_client(&documents.url(&format!("/client-{n}.json")));
        let answer = app.revoke(&client, "some-token");
        if n < 3 {
            assert_eq!(answer.status, 401, "{n}: the 404 document is refused: {}", answer.text());
        } else {
            assert_oauth_limited(&answer, "document_clients", 60);
        }
    }
    assert_eq!(documents.requests(), 3, "nothing is fetched past the limit");
}

#[test]
fn parallel_token_requests_naming_document_clients_cannot_outrun_the_limit() {
    let (documents, app) = documents_and_app("rate_limit_document_clients_per_minute", "4");
    let app = Arc::new(app);
    within_one_window(60);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = e2e::flow::race(16, {
        let (app, base) = (app.clone(), documents.url("/parallel-"));
        move || {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            app.exchange_code(&document_client(&format!("{base}{n}.json")), "code", "verifier")
        }
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 12, "{statuses:?}");
    assert!(documents.requests() <= 4, "{} fetches for a limit of 4", documents.requests());
}

#[test]
fn a_refused_document_is_not_fetched_again_for_a_while() {
    let documents = Documents::start();
    let app = app_with(&documents);
    let client = document_client(&documents.url("/gone.json"));
    for _ in 0..3 {
        assert_eq!(app.exchange_code(&client, "code", "verifier").status, 401);
    }
    let page = http::get(&app.authorize_url(&client, &Pkce::new(), "st"));
    assert_eq!(page.status, 400);
    assert_eq!(documents.requests(), 1, "the refusal is remembered");
    let refusals = app.kv_keys("oauth:cimd-refused:");
    assert_eq!(refusals.len(), 1, "{refusals:?}");
    let kept = record(&app, &refusals[0]);
    assert!(kept["expires_at"].as_u64().unwrap() <= now() + 60, "briefly: {kept}");
}

#[test]
fn cached_documents_and_refusals_per_address_are_capped() {
    let (documents, app) = documents_and_app("rate_limit_document_cache_writes_per_hour", "2");
    within_one_window(3600);
    for n in 0..4 {
        let url = documents.serve_client(&format!("/valid-{n}.json"), "Valid");
        assert_eq!(app.revoke(&document_client(&url), "some-token").status, 200, "{n}");
    }
    assert_eq!(app.exchange_code(&document_client(&documents.url("/gone.json")), "c", "v").status, 401);
    let cached = app.kv_keys("oauth:cimd");
    assert_eq!(cached.len(), 2, "two writes an hour from this address: {cached:?}");
    let valid = document_client(&documents.url("/valid-3.json"));
    assert_eq!(app.revoke(&valid, "some-token").status, 200, "an uncached document still works, fetched again");
    assert_eq!(documents.requests(), 6);
}

#[test]
fn slow_document_fetches_in_flight_from_one_address_are_bounded() {
    let documents = Documents::start();
    let app = Arc::new(app_with(&documents));
    for n in 0..16 {
        let url = documents.url(&format!("/slow-{n}.json"));
        documents.serve(
            &format!("/slow-{n}.json"),
            TestResponse::json(document(&url, "Slow").to_string()).delay(Duration::from_secs(3)),
        );
    }
    // The fetches must start within one 10-second window.
    while now() % 10 > 4 {
        std::thread::sleep(Duration::from_millis(200));
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = e2e::flow::race(16, {
        let (app, base) = (app.clone(), documents.url("/slow-"));
        move || {
            let n = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            app.revoke(&document_client(&format!("{base}{n}.json")), "some-token")
        }
    });
    let statuses: Vec<u16> = responses.iter().map(|r| r.status).collect();
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), 10, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 6, "{statuses:?}");
    assert_eq!(documents.requests(), 10);
    let limited = audit_events(&app, "rate_limited");
    assert!(limited.iter().all(|e| e["limit"] == "document_fetches"), "{limited:?}");
}

#[test]
fn a_document_fetch_ends_within_its_timeout_even_when_the_server_keeps_sending() {
    let documents = Documents::start();
    let url = documents.url("/drip.json");
    let slow_head_then_drip = TestResponse::json(document(&url, "Drip").to_string())
        .delay(Duration::from_millis(4500))
        .trickle(Duration::from_millis(4500));
    documents.serve("/drip.json", slow_head_then_drip);
    let app = app_with(&documents);
    let started = std::time::Instant::now();
    let page = http::get(&app.authorize_url(&document_client(&url), &Pkce::new(), "st"));
    assert_eq!(page.status, 400, "{}", page.text());
    let took = started.elapsed();
    assert!(took < Duration::from_secs(7), "5 seconds in all, head and body: took {took:?}");
    assert!(component_log(&app, "clerk-callback").contains("timed out"), "{}", component_log(&app, "clerk-callback"));
}

// Finding 3: what the refusal page says, and fetching only where private networks are blocked.

#[test]
fn the_refusal_page_says_a_fixed_sentence_and_the_reason_goes_to_the_log_only() {
    let documents = Documents::start();
    documents.serve("/page.html", TestResponse::new(200).header("content-type", "text/html").body("<b>INJECTED</b>"));
    let mismatch = documents.url("/mismatch.json");
    let mut body = document(&mismatch, "Mismatch");
    body["client_id"] = "https://other.example/Injected text, ConnectionRefused".into();
    documents.serve("/mismatch.json", TestResponse::json(body.to_string()));
    let app = app_with(&documents);
    let cases = [
        (documents.url("/missing.json"), "HTTP 404"),
        (documents.url("/page.html"), "text/html"),
        (mismatch, "client_id is not exactly its URL"),
        (documents.url("/x.json?<b>INJECTED</b>"), "must not contain a query"),
    ];
    let mut pages = Vec::new();
    for (url, reason) in &cases {
        let page = http::get(&app.authorize_url(&document_client(url), &Pkce::new(), "st"));
        assert_eq!(page.status, 400, "{url}: {}", page.text());
        assert!(component_log(&app, "clerk-callback").contains(reason), "{url}: the log says why");
        pages.push(page.text());
    }
    for (page, (url, reason)) in pages.iter().zip(&cases) {
        assert!(page.contains("could not be verified"), "{url}: {page}");
        assert_eq!(page, &pages[0], "{url}: the same fixed page whatever went wrong");
        for leak in [*reason, "404", "text/html", "INJECTED", "Injected", "ConnectionRefused", "127.0.0.1"] {
            assert!(!page.contains(leak), "{url}: the page says `{leak}`: {page}");
        }
    }
}

fn public_app(runtime_config: Option<&str>) -> TestApp {
    let builder = TestApp::builder().variable("public_base_url", "https://mcp.example.com");
    match runtime_config {
        Some(config) => builder.runtime_config(config),
        None => builder,
    }
    .start()
}

/// The runtime config the README tells operators to pass to `spin up`.
const SHIPPED_RUNTIME_CONFIG: &str = include_str!("../../../runtime-config.toml");

#[test]
fn a_public_server_without_blocked_private_networks_fetches_no_document_and_says_why() {
    let app = public_app(None);
    let metadata = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(metadata.get("client_id_metadata_document_supported"), None, "not advertised: {metadata}");
    let before = app.kv_records();
    let client = document_client("https://docs.example.com/oauth/client.json");
    let page = http::get(&app.authorize_url(&client, &Pkce::new(), "st"));
    assert_eq!(page.status, 400, "{}", page.text());
    assert!(page.text().contains("could not be verified"), "{}", page.text());
    assert!(
        component_log(&app, "clerk-callback").contains("block_networks"),
        "{}",
        component_log(&app, "clerk-callback")
    );
    let token = app.exchange_code(&client, "code", "verifier");
    assert_eq!((token.status, token.json()["error"].as_str()), (401, Some("invalid_client")));
    let log = component_log(&app, "oauth-provider");
    assert!(log.contains("block_networks") && !log.contains("fetching the document failed"), "{log}");
    assert_eq!(app.kv_records(), before);
}

#[test]
fn a_public_server_with_the_shipped_runtime_config_fetches_documents() {
    let app = public_app(Some(SHIPPED_RUNTIME_CONFIG));
    let metadata = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(metadata["client_id_metadata_document_supported"], true, "{metadata}");
    let client = document_client("https://docs.example.com/oauth/client.json");
    assert_eq!(app.exchange_code(&client, "code", "verifier").status, 401, "docs.example.com does not resolve here");
    let log = component_log(&app, "oauth-provider");
    assert!(log.contains("fetching the document failed") && !log.contains("block_networks"), "{log}");
}

// Finding 6: one address's failures do not lock a registered client out for everyone.

#[test]
fn token_failures_from_one_address_do_not_lock_a_registered_client_out_for_others() {
    let app = TestApp::builder()
        .variable("client_addr_header", "x-forwarded-for")
        .variable("rate_limit_token_failures_per_minute", "2")
        .start();
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, "user@example.com");
    within_one_window(60);
    let attack = || {
        let pairs = [("grant_type", "refresh_token"), ("refresh_token", "guessed"), ("client_id", &client.client_id)];
        // Another machine of this loopback test (a remote address would need public_base_url).
        http::post_form(&app.url("/token"), &pairs, &[("x-forwarded-for", "127.0.0.66")])
    };
    assert_eq!((attack().status, attack().status), (400, 400));
    assert_oauth_limited(&attack(), "token_failures", 60);
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "the client's users elsewhere are not locked out: {}", tokens.text());
    assert_oauth_limited(&attack(), "token_failures", 60);
}

// Finding 7: a rotation whose grant commit fails leaves no answer behind.

/// Runs `redis-cli` against the store at `url` with `args`; its output.
fn redis_cli(url: &str, args: &[&str]) -> String {
    let output = std::process::Command::new("redis-cli").arg("-u").arg(url).args(args).output().expect("redis-cli");
    assert!(output.status.success(), "redis-cli {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn redis_keys(url: &str, pattern: &str) -> Vec<String> {
    redis_cli(url, &["--raw", "KEYS", pattern]).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect()
}

#[test]
fn a_refresh_whose_grant_commit_fails_hands_out_no_token_the_grant_does_not_list() {
    let Some(redis) = redis_server() else { return };
    let app = TestApp::builder().redis(&redis.url).start();
    let (client, tokens) = signed_in(&app, "user@example.com");
    // Make the next commit renew the grant's index entry, and that renewal's counter fail.
    let grant_key = redis_keys(&redis.url, "oauth:grant:*").pop().unwrap();
    let mut grant: Value = serde_json::from_str(redis_cli(&redis.url, &["--raw", "GET", &grant_key]).trim()).unwrap();
    grant["index_entry"]["expires_at"] = 1.into();
    redis_cli(&redis.url, &["SET", &grant_key, &grant.to_string()]);
    for period in redis_keys(&redis.url, "oauth:user-index:*") {
        if !period.contains('#') {
            redis_cli(&redis.url, &["SET", &format!("{period}#seq"), "not-a-counter"]);
        }
    }
    let access_before = redis_keys(&redis.url, "oauth:access:*");

    let r0 = str_field(&tokens, "refresh_token");
    let failed = app.refresh(&client, &r0);
    assert_eq!((failed.status, failed.json()["error"].as_str()), (503, Some("temporarily_unavailable")));
    assert!(redis_keys(&redis.url, "oauth:rotation:*").is_empty(), "no answer is kept for a failed commit");
    assert_eq!(redis_keys(&redis.url, "oauth:access:*"), access_before, "the unlisted pair was discarded");
    let retried = app.refresh(&client, &r0);
    assert_ne!(retried.status, 200, "a retry gets no tokens the grant does not list: {}", retried.text());
}

// Finding 8: caller text in the audit trail and the log.

#[test]
fn caller_text_reaches_the_audit_trail_and_the_log_escaped_and_labelled() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let evil = "x\u{2028}{\"event\":\"forged\"}\u{2029}\u{202e}desrever";
    let grant_type =
        http::post_form(&app.url("/token"), &[("grant_type", evil), ("client_id", &client.client_id)], &[]);
    assert_eq!(grant_type.status, 400);
    let document_id = format!("https://docs.example.com/{evil}");
    assert_eq!(app.exchange_code(&document_client(&document_id), "c", "v").status, 401);

    let mut browser = Browser::new();
    let consent = browser.get(&app.authorize_url(&client, &Pkce::new(), "st"));
    let to_clerk = app.submit_consent(&mut browser, &consent, "approve");
    let state = http::query_of(to_clerk.location().unwrap())["state"].clone();
    let query = platform::web::encode_pairs([("state", state.as_str()), ("error", evil), ("error_description", evil)]);
    let back = browser.get(&app.url(&format!("/callback?{query}")));
    assert_eq!(back.location_query()["error"], "server_error");

    let hidden = ['\u{2028}', '\u{2029}', '\u{202e}'];
    let audit = app.audit_text();
    assert!(!audit.contains(hidden), "{audit:?}");
    let failed = &audit_events(&app, "token.failed")[0];
    assert_eq!(failed["detail"], "this grant_type is not supported");
    assert!(failed["caller_text"].as_str().unwrap().starts_with(r"x\u{2028}{"), "{failed}");
    let sign_in = &audit_events(&app, "sign_in.failed")[0];
    assert_eq!(
        (sign_in["error"].as_str(), sign_in["detail"].as_str()),
        (Some("server_error"), Some("Clerk reported an error during sign-in"))
    );
    assert!(sign_in["caller_text"].as_str().unwrap().contains(r"\u{202e}desrever"), "{sign_in}");
    let log = component_log(&app, "oauth-provider");
    assert!(!log.contains(hidden) && log.contains(r"\u{2028}"), "{log:?}");
}

// Finding 12: a superseded refresh token after its successor was used.

#[test]
fn a_rotated_refresh_token_presented_after_its_successor_was_used_revokes_the_grant_within_the_window() {
    let app = TestApp::start();
    let (client, tokens) = signed_in(&app, "user@example.com");
    let r0 = str_field(&tokens, "refresh_token");
    let first = app.refresh(&client, &r0);
    assert_eq!(first.status, 200, "{}", first.text());
    let retried = app.refresh(&client, &r0);
    assert_eq!(retried.json()["refresh_token"], first.json()["refresh_token"], "its successor is not used yet");
    let second = app.refresh(&client, &str_field(&first.json(), "refresh_token"));
    assert_eq!(second.status, 200, "{}", second.text());

    let stolen = app.refresh(&client, &r0);
    assert_eq!((stolen.status, stolen.json()["error"].as_str()), (400, Some("invalid_grant")), "{}", stolen.text());
    assert_eq!(app.mcp_initialize(&str_field(&second.json(), "access_token")).status, 401, "the grant is revoked");
    let next = app.refresh(&client, &str_field(&second.json(), "refresh_token"));
    assert_eq!(next.json()["error"], "invalid_grant", "{}", next.text());
    assert_eq!(audit_events(&app, "token.refresh_reused").len(), 1);
}
