//! The code-to-token flow end to end (oauth-provider + clerk-callback + mcp-handler on
//! spin-local with the mock Clerk): exchange, refresh rotation, replay, revocation, role
//! re-read, and concurrent redemption on the SQLite store.

use std::sync::Arc;

use e2e::http::Response;
use e2e::{Browser, Client, TestApp};

fn mcp(app: &TestApp, access_token: &str) -> Response {
    app.mcp_initialize(access_token)
}

fn signed_in(app: &TestApp, email: &str) -> (Client, e2e::Authorized) {
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, email);
    (client, auth)
}

#[allow(clippy::panic, reason = "test helper: a missing field fails the test")]
fn str_field(value: &serde_json::Value, name: &str) -> String {
    value[name].as_str().unwrap_or_else(|| panic!("no {name} in {value}")).to_owned()
}

#[test]
fn code_exchange_refresh_and_revocation() {
    let app = TestApp::start();
    let (client, auth) = signed_in(&app, "admin@example.com");
    assert!(auth.redirect.location_query().get("iss").is_some_and(|iss| iss == app.base_url()));
    let response = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.header("cache-control"), Some("no-store"));
    let tokens = response.json();
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    let access = str_field(&tokens, "access_token");
    assert_eq!(mcp(&app, &access).status, 200);

    let refreshed = app.refresh(&client, &str_field(&tokens, "refresh_token"));
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let refreshed = refreshed.json();
    let new_access = str_field(&refreshed, "access_token");
    assert_eq!(mcp(&app, &new_access).status, 200);

    assert_eq!(app.revoke(&client, &str_field(&refreshed, "refresh_token")).status, 200);
    assert_eq!(mcp(&app, &access).status, 401, "revoking the grant kills every access token");
    assert_eq!(mcp(&app, &new_access).status, 401);
}

#[test]
fn a_reused_code_is_refused_and_revokes_its_tokens() {
    let app = TestApp::start();
    let (client, auth) = signed_in(&app, "admin@example.com");
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let access = str_field(&tokens, "access_token");
    let replay = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(replay.status, 400);
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(mcp(&app, &access).status, 401);
}

#[test]
fn pkce_and_redirect_uri_mismatches_leave_the_code_usable() {
    let app = TestApp::start();
    let (client, auth) = signed_in(&app, "admin@example.com");
    let before = app.kv_records();
    let wrong = app.exchange_code(&client, &auth.code, &e2e::Pkce::new().verifier);
    assert_eq!((wrong.status, wrong.json()["error"].clone()), (400, "invalid_grant".into()));
    let elsewhere = Client { redirect_uri: "http://127.0.0.1:9/other".into(), ..client.clone() };
    let wrong = app.exchange_code(&elsewhere, &auth.code, &auth.verifier);
    assert_eq!(wrong.json()["error"], "invalid_grant");
    assert_eq!(app.kv_records(), before, "but for the failure counter");
    assert_eq!(app.exchange_code(&client, &auth.code, &auth.verifier).status, 200);
}

#[test]
fn a_refresh_retried_within_the_grace_window_gets_the_same_tokens() {
    let app = TestApp::start();
    let (client, auth) = signed_in(&app, "admin@example.com");
    let first = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let lost = app.refresh(&client, &str_field(&first, "refresh_token"));
    assert_eq!(lost.status, 200, "{}", lost.text());
    let retry = app.refresh(&client, &str_field(&first, "refresh_token"));
    assert_eq!(retry.status, 200, "{}", retry.text());
    let (lost, retry) = (lost.json(), retry.json());
    assert_eq!(retry["access_token"], lost["access_token"]);
    assert_eq!(retry["refresh_token"], lost["refresh_token"]);
    assert_eq!(mcp(&app, &str_field(&retry, "access_token")).status, 200);
    assert_eq!(app.refresh(&client, &str_field(&retry, "refresh_token")).status, 200);
}

#[test]
fn an_old_refresh_token_after_the_grace_window_revokes_the_grant() {
    let app = TestApp::builder().variable("refresh_grace_seconds", "1").start();
    let (client, auth) = signed_in(&app, "admin@example.com");
    let first = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let second = app.refresh(&client, &str_field(&first, "refresh_token")).json();
    let third = app.refresh(&client, &str_field(&second, "refresh_token")).json();
    std::thread::sleep(std::time::Duration::from_millis(2100)); // past the window, in whole seconds
    let replay = app.refresh(&client, &str_field(&first, "refresh_token"));
    assert_eq!(replay.json()["error"], "invalid_grant");
    assert_eq!(mcp(&app, &str_field(&third, "access_token")).status, 401);
    assert_eq!(app.refresh(&client, &str_field(&third, "refresh_token")).json()["error"], "invalid_grant");
}

#[test]
fn refresh_rereads_the_user_from_clerk() {
    let app = TestApp::start();
    let (client, auth) = signed_in(&app, "premium@example.com");
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let refresh = str_field(&tokens, "refresh_token");

    app.clerk().set_fault(mock_clerk::Fault::Down);
    let down = app.refresh(&client, &refresh);
    assert_eq!(down.status, 503, "{}", down.text());
    assert_eq!(down.json()["error"], "temporarily_unavailable");
    app.clerk().set_fault(mock_clerk::Fault::None);

    let again = app.refresh(&client, &refresh);
    assert_eq!(again.status, 200, "the token survives an outage: {}", again.text());
    app.clerk().delete_user("premium@example.com");
    let gone = app.refresh(&client, &str_field(&again.json(), "refresh_token"));
    assert_eq!(gone.json()["error"], "invalid_grant");
}

#[test]
fn of_32_concurrent_code_redemptions_exactly_one_succeeds_and_its_pair_is_revoked_on_sqlite() {
    let app = Arc::new(TestApp::start());
    e2e::flow::assert_concurrent_code_redemptions_have_one_winner(&[app], 32, "admin@example.com");
}

#[test]
fn of_32_concurrent_refreshes_of_one_token_one_pair_is_minted_on_sqlite() {
    let app = Arc::new(TestApp::start());
    e2e::flow::assert_concurrent_refreshes_mint_one_pair(std::slice::from_ref(&app), 32, "admin@example.com");
    assert_eq!(app.kv_keys("oauth:access:").len(), 2, "the code's pair and the one rotation's");
}
