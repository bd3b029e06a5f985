//! End-to-end sign-in failures (issue 4): none is a 500 or a dead end.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use std::time::Duration;

use e2e::{Browser, Pkce, TestApp};
use mock_clerk::Fault;

/// GET /authorize and approve: the redirect to Clerk.
fn approve(app: &TestApp, browser: &mut Browser, client: &e2e::Client, state: &str) -> e2e::http::Response {
    let page = browser.get(&app.authorize_url(client, &Pkce::new(), state));
    app.submit_consent(browser, &page, "approve")
}

/// A sign-in approved on the consent page (state `st`) and about to go to Clerk.
struct Approved {
    app: TestApp,
    browser: Browser,
    to_clerk: e2e::http::Response,
}

fn approved() -> Approved {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let to_clerk = approve(&app, &mut browser, &client, "st");
    Approved { app, browser, to_clerk }
}

impl Approved {
    /// Follows the redirect to the mock Clerk and returns Clerk's redirect back (to /callback).
    fn at_clerk(&mut self) -> String {
        let back = self.browser.get(self.to_clerk.location().expect("redirect to Clerk"));
        back.location().expect("Clerk redirects back").to_owned()
    }
}

#[test]
fn clerk_error_is_propagated_to_the_client() {
    let mut sign_in = approved();
    sign_in.app.clerk().fail_next_authorize("access_denied");
    let callback_url = sign_in.at_clerk();
    let callback = sign_in.browser.get(&callback_url);
    let query = callback.location_query();
    assert_eq!(query["error"], "access_denied", "{}", callback.text());
    assert_eq!(query["state"], "st");
}

#[test]
fn replayed_state_gets_a_400_page() {
    let mut sign_in = approved();
    let callback_url = sign_in.at_clerk();
    assert_eq!(sign_in.browser.get(&callback_url).status, 302);
    let replay = sign_in.browser.get(&callback_url);
    assert_eq!(replay.status, 400);
    assert!(replay.text().contains("already used"));
}

#[test]
fn callback_in_another_browser_gets_a_400_page() {
    let mut sign_in = approved();
    let callback_url = sign_in.at_clerk();
    let other = Browser::new().get(&callback_url);
    assert_eq!(other.status, 400);
    assert!(other.text().contains("another browser"));
}

#[test]
fn tampered_approval_cookie_shows_the_consent_page_again() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    app.authorize_as(&mut browser, &client, "admin@example.com");
    let approved = browser.cookies.get("__Host-mcp-approved").expect("approval cookie").clone();
    let (list, signature) = approved.rsplit_once('.').unwrap();
    browser
        .cookies
        .insert("__Host-mcp-approved".into(), format!("{list}-00112233445566778899aabbccddeeff.{signature}"));
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "s"));
    assert_eq!(page.status, 200, "consent again, not a redirect to Clerk");
}

#[test]
fn script_in_client_name_is_escaped_on_the_consent_page() {
    let app = TestApp::start();
    let client = app.register_client_with(&serde_json::json!({
        "client_name": "<script>alert('x')</script><img src=x onerror=alert(1)>",
        "redirect_uris": [e2e::flow::PUBLIC_REDIRECT_URI],
        "token_endpoint_auth_method": "none",
    }));
    let page = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), "s"));
    assert_eq!(page.status, 200);
    let html = page.text();
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;"));
}

#[test]
fn clerk_down_at_callback_sends_temporarily_unavailable_to_the_client() {
    let mut sign_in = approved();
    let callback_url = sign_in.at_clerk();
    sign_in.app.clerk().set_fault(Fault::Down);
    let callback = sign_in.browser.get(&callback_url);
    assert_eq!(callback.status, 302, "{}", callback.text());
    assert_eq!(callback.location_query()["error"], "temporarily_unavailable");
}

#[test]
fn clerk_refusing_connections_at_approval_sends_temporarily_unavailable() {
    let app = TestApp::start();
    let client = app.register_client(false);
    app.clerk().set_fault(Fault::Refused);
    let to_client = approve(&app, &mut Browser::new(), &client, "st");
    assert_eq!(to_client.status, 302, "{}", to_client.text());
    assert!(to_client.location().unwrap().starts_with(&client.redirect_uri));
    assert_eq!(to_client.location_query()["error"], "temporarily_unavailable");
}

#[test]
fn clerk_garbage_at_callback_sends_server_error() {
    let mut sign_in = approved();
    let callback_url = sign_in.at_clerk();
    sign_in.app.clerk().set_fault(Fault::Malformed);
    let callback = sign_in.browser.get(&callback_url);
    assert_eq!(callback.location_query()["error"], "server_error", "{}", callback.text());
}

#[test]
fn clerk_slow_at_callback_times_out_to_temporarily_unavailable() {
    let mut sign_in = approved();
    let callback_url = sign_in.at_clerk();
    sign_in.app.clerk().set_slow(Duration::from_secs(12));
    let callback = sign_in.browser.get(&callback_url);
    assert_eq!(callback.status, 302, "{}", callback.text());
    assert_eq!(callback.location_query()["error"], "temporarily_unavailable");
}

#[test]
fn banned_user_is_sent_back_with_access_denied() {
    let mut sign_in = approved();
    sign_in.app.clerk().set_next_user("banned@example.com");
    let callback_url = sign_in.at_clerk();
    let callback = sign_in.browser.get(&callback_url);
    assert_eq!(callback.location_query()["error"], "access_denied", "{}", callback.text());
}
