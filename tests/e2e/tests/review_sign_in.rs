//! The second security review's sign-in and consent findings (issue 21: 1, 4, 9, 13; finding 5 is
//! in `cimd`), over real HTTP against the components on spin-local and the mock Clerk: nothing is
//! stored before a form is posted, sign-ins in progress are capped per address, a revocation at
//! `/apps` makes the client ask again everywhere, approvals are the signed-in user's, Deny is our
//! own page, and "Access revoked" is for the session that revoked.

use e2e::apps::grant_of;
use e2e::browser::form_inputs;
use e2e::http::Response;
use e2e::{Browser, Client, Pkce, TestApp};
use serde_json::json;

/// A public client registered with a loopback redirect URI without a port (any port matches,
/// RFC 8252), as native apps that pick a new port each time register.
fn native_client(app: &TestApp) -> Client {
    app.register_client_with(&json!({
        "client_name": "Native App",
        "redirect_uris": ["http://127.0.0.1/callback"],
        "token_endpoint_auth_method": "none",
    }))
}

/// `client`, returning to `port` on loopback this time.
fn on_port(client: &Client, port: u16) -> Client {
    Client { redirect_uri: format!("http://127.0.0.1:{port}/callback"), ..client.clone() }
}

/// `browser` approves `client` as `email` and the client redeems its code (a grant is listed at
/// `/apps` once it has tokens).
fn approved(app: &TestApp, browser: &mut Browser, client: &Client, email: &str) {
    let auth = app.authorize_as(browser, client, email);
    let tokens = app.exchange_code(client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
}

/// A sign-in with the approval `browser` remembers for `client`: `/authorize` goes straight to
/// Clerk, which signs `email` in; the `/callback` answer (the client's redirect, or a page).
fn remembered_sign_in(app: &TestApp, browser: &mut Browser, client: &Client, email: &str) -> Response {
    let to_clerk = browser.get(&app.authorize_url(client, &Pkce::new(), "st"));
    assert!(
        to_clerk.location().is_some_and(|l| l.starts_with(app.clerk().base_url())),
        "the browser remembers the approval, so /authorize goes to Clerk: {} {}",
        to_clerk.status,
        to_clerk.text()
    );
    app.through_clerk(browser, &to_clerk, email)
}

/// Asserts `response` is the consent page shown after sign-in, naming `email`.
fn assert_consent_after_sign_in(response: &Response, email: &str) {
    assert_eq!(response.status, 200, "a consent page, not the client: {:?}", response.location());
    let html = response.text();
    assert!(html.contains(&format!("You are signed in as <strong><bdi>{email}</bdi></strong>")), "{html}");
    assert!(form_inputs(&html).iter().any(|(name, _)| name == "handle"), "{html}");
}

// Finding 1: nothing stored before a form is posted; a cap on sign-ins in progress.

#[test]
fn a_bare_get_of_apps_stores_nothing() {
    let app = TestApp::start();
    let before = app.kv_records();
    for _ in 0..20 {
        let apps = Browser::new().get(&app.url("/apps"));
        assert_eq!(apps.status, 200, "a sign-in page, not a redirect: {:?}", apps.location());
    }
    assert_eq!(app.kv_records(), before, "only the rate-limit counters changed");
}

#[test]
fn a_consent_page_stores_nothing_however_long_its_state() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let before = app.kv_records();
    for _ in 0..20 {
        let consent = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), &"s".repeat(1024)));
        assert_eq!(consent.status, 200);
    }
    assert_eq!(app.kv_records(), before, "only the rate-limit counters changed");
}

#[test]
fn the_apps_sign_in_button_must_come_from_our_page_in_this_browser() {
    let app = TestApp::start();
    let mut browser = Browser::new();
    let page = browser.get(&app.url("/apps"));
    let token = form_inputs(&page.text()).into_iter().find(|(name, _)| name == "csrf_token").map(|(_, v)| v);
    let token = token.unwrap_or_else(|| panic!("no sign-in button: {}", page.text()));
    let before = app.kv_records();
    let post = |browser: &Browser, origin: &str, token: &str| {
        let headers = [("cookie", browser.cookie_header()), ("origin", origin.to_owned())];
        let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
        e2e::http::post_form(&app.url("/apps/sign-in"), &[("csrf_token", token)], &headers)
    };
    assert_eq!(post(&browser, "https://attacker.example", &token).status, 403, "another site");
    assert_eq!(post(&browser, app.base_url(), "forged").status, 403, "a forged token");
    assert_eq!(post(&Browser::new(), app.base_url(), &token).status, 403, "another browser");
    assert_eq!(app.kv_records(), before, "a refused post stores nothing");
    let to_clerk = post(&browser, app.base_url(), &token);
    assert!(to_clerk.location().is_some_and(|l| l.starts_with(app.clerk().base_url())), "{}", to_clerk.status);
    assert_eq!(app.kv_keys("signin:upstream:").len(), 1, "the post started one sign-in");
}

#[test]
fn sign_ins_in_progress_per_address_are_capped_and_a_refusal_stores_nothing() {
    let app = TestApp::builder().variable("sign_in_max_pending_per_address", "3").start();
    let client = app.register_client(false);
    let approve = || {
        let mut browser = Browser::new(); // another browser each time, from the same address
        let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "st"));
        assert_eq!(page.status, 200, "a consent page is never capped: it stores nothing");
        app.submit_consent(&mut browser, &page, "approve")
    };
    for _ in 0..3 {
        let to_clerk = approve();
        assert!(to_clerk.location().is_some_and(|l| l.starts_with(app.clerk().base_url())), "{}", to_clerk.text());
    }
    let before = app.kv_records();
    let refused = approve();
    assert_eq!(refused.status, 429, "{}", refused.text());
    assert!(refused.text().contains("Too many sign-ins in progress"), "{}", refused.text());
    assert!(refused.header("retry-after").and_then(|s| s.parse::<u64>().ok()).is_some_and(|s| (1..=1200).contains(&s)));
    assert_eq!(app.kv_records(), before, "a refusal stores nothing");
    assert_eq!(app.kv_keys("signin:upstream:").len(), 3);
    assert_eq!(app.press_apps_sign_in(&mut Browser::new()).status, 429, "the apps sign-in shares the cap");
    let limited = app.audit_events().into_iter().filter(|e| e["event"] == "rate_limited").collect::<Vec<_>>();
    assert!(limited.iter().all(|e| e["limit"] == "sign_in_pending"), "{limited:?}");
}

// Finding 4: a revocation at /apps makes the client ask again, on every port, in every browser.

#[test]
fn revoking_at_apps_makes_the_client_ask_again_on_every_port_and_in_every_browser() {
    let app = TestApp::start();
    let client = native_client(&app);
    let email = "admin@example.com";
    let (mut laptop, mut desktop) = (Browser::new(), Browser::new());
    approved(&app, &mut laptop, &on_port(&client, 5000), email);
    approved(&app, &mut laptop, &on_port(&client, 5001), email);
    approved(&app, &mut desktop, &on_port(&client, 5002), email);

    app.sign_in_to_apps(&mut laptop, email);
    let listing = app.apps_listing(&mut laptop);
    let csrf = listing["csrf_token"].as_str().unwrap_or_default().to_owned();
    let apps = listing["apps"].as_array().cloned().unwrap_or_default();
    let port_5001 = apps.iter().find(|a| a["redirect_uri"] == on_port(&client, 5001).redirect_uri.as_str());
    let grant = port_5001.and_then(|a| a["grant_id"].as_str()).unwrap_or_else(|| panic!("{listing}"));
    let revoked = app.revoke_app(&mut laptop, grant, &csrf);
    assert_eq!(revoked.status, 303, "{}", revoked.text());

    // Each browser still remembers an approval (the laptop for port 5000, the desktop for 5002),
    // so /authorize goes to Clerk; after sign-in, the server asks the user again.
    let again = remembered_sign_in(&app, &mut laptop, &on_port(&client, 5000), email);
    assert_consent_after_sign_in(&again, email);
    let again = remembered_sign_in(&app, &mut desktop, &on_port(&client, 5002), email);
    assert_consent_after_sign_in(&again, email);

    // Approving there gives the client its code, without another trip to Clerk.
    let approved = app.submit_consent(&mut desktop, &again, "approve");
    let location = approved.location().unwrap_or_default().to_owned();
    assert!(location.starts_with("http://127.0.0.1:5002/callback?code="), "{} {location}", approved.status);
    let next = remembered_sign_in(&app, &mut desktop, &on_port(&client, 5002), email);
    assert!(next.location().is_some_and(|l| l.contains("code=")), "approved again: {}", next.status);
}

#[test]
fn an_approval_the_server_no_longer_holds_leads_to_a_consent_page_after_sign_in() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    app.authorize_as(&mut browser, &client, "admin@example.com");
    let approvals = app.kv_keys("signin:approval:");
    assert_eq!(approvals.len(), 1, "the server keeps the user's approval: {approvals:?}");
    let remembered = remembered_sign_in(&app, &mut browser, &client, "admin@example.com");
    assert!(remembered.location().is_some_and(|l| l.contains("code=")), "held: no page");

    app.expire_record(&approvals[0]); // 30 days later
    let again = remembered_sign_in(&app, &mut browser, &client, "admin@example.com");
    assert_consent_after_sign_in(&again, "admin@example.com");
}

// Finding 13: approvals are the signed-in user's; the revoked notice is the revoking session's.

#[test]
fn a_second_person_on_a_shared_browser_does_not_get_the_first_ones_approval() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut shared = Browser::new();
    app.authorize_as(&mut shared, &client, "admin@example.com");
    let codes_before = app.kv_keys("oauth:code:").len();

    let second = remembered_sign_in(&app, &mut shared, &client, "user@example.com");
    assert_consent_after_sign_in(&second, "user@example.com");
    assert_eq!(app.kv_keys("oauth:code:").len(), codes_before, "no code for the second person yet");
    let denied = app.submit_consent(&mut shared, &second, "deny");
    assert_eq!(denied.status, 200, "they never approved it: our page, not the client");

    let first = remembered_sign_in(&app, &mut shared, &client, "admin@example.com");
    assert!(first.location().is_some_and(|l| l.contains("code=")), "the first person's approval holds");
}

#[test]
fn access_revoked_is_shown_only_once_and_only_to_the_session_that_revoked() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut owner = Browser::new();
    approved(&app, &mut owner, &client, "admin@example.com");
    app.sign_in_to_apps(&mut owner, "admin@example.com");
    let mut onlooker = Browser::new();
    app.sign_in_to_apps(&mut onlooker, "user@example.com");
    let link = app.url("/apps?revoked=1");
    assert!(!onlooker.get(&link).text().contains("Access revoked"), "a link shows nothing");

    let listing = app.apps_listing(&mut owner);
    let csrf = listing["csrf_token"].as_str().unwrap_or_default().to_owned();
    let revoked = app.revoke_app(&mut owner, &grant_of(&listing, &client.client_id), &csrf);
    assert_eq!(revoked.status, 303);
    assert!(!onlooker.get(&link).text().contains("Access revoked"), "nor to another session after a revocation");
    let page = owner.get(&app.url(revoked.location().unwrap_or("/apps")));
    assert!(page.text().contains("Access revoked"), "{}", page.text());
    assert!(!owner.get(&app.url("/apps")).text().contains("Access revoked"), "once");
}

// Finding 9: Deny is not a redirect to a URI nobody approved.

#[test]
fn deny_shows_our_own_page_instead_of_redirecting_to_the_client() {
    let app = TestApp::start();
    let client = app.register_client_with(&json!({
        "client_name": "Phisher",
        "redirect_uris": ["https://phisher.example/landing"],
        "token_endpoint_auth_method": "none",
    }));
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "st"));
    let denied = app.submit_consent(&mut browser, &page, "deny");
    assert_eq!(denied.status, 200, "not a redirect: {:?}", denied.location());
    assert!(denied.location().is_none());
    let html = denied.text();
    assert!(html.contains("Access denied") && !html.contains("phisher.example"), "{html}");
    let events = app.audit_events();
    assert!(events.iter().any(|e| e["event"] == "consent.denied" && e["client_id"] == client.client_id.as_str()));
}
