//! The security review's findings (issue 10), each attacked through the real components on
//! spin-local: what an outside reviewer did against a running server, and the behaviour that
//! must hold instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use e2e::http::Response;
use e2e::{Browser, Pkce, TestApp};

fn assert_page_without_redirect(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.location(), None, "redirected to {:?}", response.location());
    assert!(response.header("content-type").unwrap_or_default().starts_with("text/html"));
}

// Finding 8: clerk_frontend_api over plain http.

#[test]
fn clerk_urls_over_plain_http_are_refused_outside_loopback() {
    for variable in ["clerk_frontend_api", "clerk_api_url"] {
        let app = TestApp::builder().variable(variable, "http://clerk.example.com").start();
        let client = app.register_client(false);
        let response = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), "s"));
        assert_page_without_redirect(&response, 500);
        assert!(response.text().contains(variable), "{}", response.text());
        assert!(response.text().contains("must be https"), "{}", response.text());
    }
}

#[test]
fn the_development_setup_on_loopback_keeps_working_over_http() {
    let app = TestApp::start();
    assert!(app.clerk().base_url().starts_with("http://127.0.0.1"));
    let tokens = app.tokens_for("admin@example.com");
    assert!(tokens["access_token"].is_string());
}
