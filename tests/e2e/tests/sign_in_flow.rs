//! End-to-end sign-in through spin-local and the mock Clerk (issue 4): the happy paths.

use e2e::browser::form_inputs;
use e2e::{Browser, Pkce, TestApp};

#[test]
fn public_client_full_flow_register_authorize_token_refresh_revoke() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let auth = app.authorize_as(&mut browser, &client, "admin@example.com");
    let query = auth.redirect.location_query();
    assert_eq!(query.get("iss").map(String::as_str), Some(app.base_url()));

    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let tokens = tokens.json();
    let refresh_token = tokens["refresh_token"].as_str().expect("refresh token");

    let refreshed = app.refresh(&client, refresh_token);
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let new_refresh = refreshed.json()["refresh_token"].as_str().expect("rotated").to_owned();

    assert_eq!(app.revoke(&client, &new_refresh).status, 200);
    assert_ne!(app.refresh(&client, &new_refresh).status, 200, "revoked refresh token is dead");
}

#[test]
fn confidential_client_full_flow() {
    let app = TestApp::start();
    let client = app.register_client(true);
    assert!(client.client_secret.is_some());
    let auth = app.authorize_as(&mut Browser::new(), &client, "premium@example.com");
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let refreshed = app.refresh(&client, tokens.json()["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
}

#[test]
fn consent_page_is_served_with_security_headers_and_host_cookies() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "s1"));
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains("Public Test Client"));
    assert!(page.header("content-security-policy").unwrap().contains("frame-ancestors 'none'"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    let cookie = browser.set_cookie_line("__Host-mcp-browser").expect("browser cookie");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"));
    let inputs = form_inputs(&page.text());
    assert!(inputs.iter().any(|(k, _)| k == "csrf_token"));
}

#[test]
fn remembered_approval_skips_the_consent_page() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    app.authorize_as(&mut browser, &client, "admin@example.com");
    let again = browser.get(&app.authorize_url(&client, &Pkce::new(), "s2"));
    assert_eq!(again.status, 302, "{}", again.text());
    assert!(again.location().unwrap().starts_with(app.clerk().base_url()));
    // And the whole second flow works without a page.
    app.authorize_as(&mut browser, &client, "admin@example.com");
}

#[test]
fn deny_of_a_client_this_browser_already_approved_sends_access_denied_to_the_client() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "deny-state"));
    app.authorize_as(&mut browser, &client, "admin@example.com"); // approved in another tab
    let denied = app.submit_consent(&mut browser, &page, "deny");
    let query = denied.location_query();
    assert!(denied.location().unwrap().starts_with(&client.redirect_uri));
    assert_eq!(query["error"], "access_denied");
    assert_eq!(query["state"], "deny-state");
    assert_eq!(query["iss"], app.base_url());
}

#[test]
fn a_sign_in_that_starts_sweeps_the_sign_in_records_that_expired_after_answering() {
    let app = TestApp::start();
    let client = app.register_client(false);
    app.authorize_as(&mut Browser::new(), &client, "user@example.com");
    let records = || -> Vec<String> {
        let keys = app.kv_keys("signin:consent:").into_iter().chain(app.kv_keys("signin:upstream:"));
        keys.filter(|key| !key.contains('#')).collect() // without their claim counters
    };
    let old = records();
    assert_eq!(old.len(), 2, "the first sign-in's tombstones: {old:?}");
    // Age them past their 10 minutes, as time would.
    old.iter().for_each(|key| app.age_record(key, &[platform::record::Helper::Claim]));

    // Another browser approves a consent page: a sign-in starts, and stores its state (showing the
    // page alone stores nothing, so it sweeps nothing).
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "s"));
    assert_eq!(page.status, 200);
    let to_clerk = app.submit_consent(&mut browser, &page, "approve");
    assert_eq!(to_clerk.status, 302, "{}", to_clerk.text());
    let claims = || app.kv_keys("signin:").into_iter().filter(|key| key.ends_with("#claim")).collect::<Vec<_>>();
    app.wait_until("the sweep after the consent page removed the expired records and their claims", || {
        records().iter().all(|key| !old.contains(key)) && claims().iter().all(|c| !old.iter().any(|o| c.starts_with(o)))
    });
    assert_eq!(records().len(), 2, "only the new sign-in's consent tombstone and Clerk state: {:?}", records());
}
