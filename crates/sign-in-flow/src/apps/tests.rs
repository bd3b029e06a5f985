//! `/apps` end to end in memory: sign-in through the fake Clerk, the list, revoke, sign out.

use oauth_core::tokens::{CodeExchange, TokenResponse, exchange_code, verify_access_token};
use platform::Clock;
use serde_json::Value;

use super::session::{SESSION_COOKIE, SESSION_TTL};
use crate::cookies::APPROVAL_COOKIE;
use crate::records::{Flow, Lookup};
use crate::tests::*;

const VERIFIER: &str = "verifier-verifier-verifier-verifier-verifier";
const JSON: (&str, &str) = ("accept", "application/json");

/// `GET /apps` without a session, then its sign-in button: Clerk's authorization URL.
fn to_clerk(f: &mut Fixture) -> String {
    let page = f.send("GET", "/apps", None);
    assert_eq!(page.status(), 200, "{}", body(&page));
    let token = hidden(&body(&page), "csrf_token");
    let clerk_url =
        location(&f.send_with("POST", "/apps/sign-in", &[("origin", BASE)], Some(&[("csrf_token", &token)])));
    assert!(clerk_url.starts_with(clerk_client::fake::ISSUER), "{clerk_url}");
    clerk_url
}

/// Signs the test browser in to `/apps` as Clerk's current user; returns the `/callback` answer.
fn sign_in(f: &mut Fixture) -> platform::web::Response {
    let clerk_url = to_clerk(f);
    f.prime_nonce(&clerk_url);
    f.callback(&clerk_url, &[("code", "clerk-code")])
}

/// The browser approves the fixture's current client and the client redeems the code.
fn approve(f: &mut Fixture) -> TokenResponse {
    let first = f.get_authorize(&[]);
    let to_clerk = if first.status() == 200 {
        let page = body(&first);
        let (handle, csrf) = (hidden(&page, "handle"), hidden(&page, "csrf_token"));
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "approve")]))
    } else {
        first
    };
    let clerk_url = f.prime_nonce(&location(&to_clerk));
    let code = query_of(&location(&f.callback(&clerk_url, &[("code", "clerk-code")])))["code"].clone();
    let client = oauth_core::lookup_client(&f.env.store, &f.env.clock, &f.client_id).unwrap().unwrap();
    let request =
        CodeExchange { code: &code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(&f.env.store, &f.env.clock, &Default::default(), &client, &request).unwrap().response
}

/// Registers another client (with `name`) and makes it the fixture's current one.
fn switch_to_new_client(f: &mut Fixture, name: &str) -> String {
    let body =
        serde_json::json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none", "client_name": name});
    let registration = oauth_core::clients::register_client(
        &f.env.store,
        &f.env.clock,
        &Default::default(),
        body.to_string().as_bytes(),
    )
    .unwrap();
    f.client_id = registration.client.client_id;
    f.client_id.clone()
}

fn as_user(f: &Fixture, sub: &str) {
    f.env.http.id_claims.lock().unwrap()["sub"] = serde_json::json!(sub);
}

fn listing(f: &mut Fixture) -> Value {
    let response = f.send_with("GET", "/apps", &[JSON], None);
    assert_eq!(response.status(), 200, "{}", body(&response));
    assert_eq!(response.headers()["content-type"], "application/json");
    serde_json::from_slice(response.body()).unwrap()
}

fn live(f: &Fixture, token: &TokenResponse) -> bool {
    verify_access_token(&f.env.store, &f.env.clock, &token.access_token, "https://mcp.example.com/mcp").is_ok()
}

fn csrf(f: &mut Fixture) -> String {
    listing(f)["csrf_token"].as_str().unwrap().to_owned()
}

/// Approves the fixture's client, signs in to `/apps`: the client's tokens, the one listed
/// grant's id and the session's CSRF token.
fn one_app_signed_in(f: &mut Fixture) -> (TokenResponse, String, String) {
    let tokens = approve(f);
    sign_in(f);
    let json = listing(f);
    let grant_id = json["apps"][0]["grant_id"].as_str().unwrap().to_owned();
    (tokens, grant_id, json["csrf_token"].as_str().unwrap().to_owned())
}

#[test]
fn a_visitor_without_a_session_gets_a_sign_in_button_and_nothing_is_stored() {
    let mut f = fixture();
    let before = f.records();
    let page = f.send("GET", "/apps", None);
    assert_eq!(page.status(), 200, "{}", body(&page));
    let html = body(&page);
    assert!(html.contains(r#"<form method="post" action="/apps/sign-in">"#), "{html}");
    assert!(f.cookies.contains_key("__Host-mcp-browser"), "the button's token is bound to this browser");
    let csp = page.headers()["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("form-action 'self' https://demo.clerk.accounts.dev"), "{csp}");
    assert_eq!(page.headers()["referrer-policy"], "same-origin", "the post carries its real Origin");
    assert_eq!(f.records(), before, "a visit stores nothing");
    f.send("GET", "/apps", None);
    assert_eq!(f.records(), before);
}

#[test]
fn the_sign_in_button_is_refused_from_another_site_another_browser_or_without_its_token() {
    let mut f = fixture();
    let before = f.records();
    let page = body(&f.send("GET", "/apps", None));
    let token = hidden(&page, "csrf_token");
    let post = |f: &mut Fixture, headers: &[(&str, &str)], token: &str| {
        f.send_with("POST", "/apps/sign-in", headers, Some(&[("csrf_token", token)])).status()
    };
    assert_eq!(post(&mut f, &[("origin", "https://evil.example")], &token), 403, "another site");
    assert_eq!(post(&mut f, &[("origin", "null")], &token), 403, "an opaque origin");
    assert_eq!(post(&mut f, &[], "forged"), 403, "a wrong token");
    assert_eq!(post(&mut f, &[], ""), 403, "an empty token");
    assert_eq!(f.send_with("POST", "/apps/sign-in", &[], Some(&[])).status(), 403, "no token");
    let browser = f.cookies.remove("__Host-mcp-browser").unwrap();
    assert_eq!(post(&mut f, &[], &token), 403, "without the browser cookie");
    f.cookies.insert("__Host-mcp-browser".into(), "B".repeat(43));
    assert_eq!(post(&mut f, &[], &token), 403, "another browser");
    f.cookies.insert("__Host-mcp-browser".into(), browser);
    let not_a_form = f.send_with("POST", "/apps/sign-in", &[("content-type", "application/json")], None);
    assert_eq!(not_a_form.status(), 400);
    assert_eq!(f.send("GET", "/apps/sign-in", None).status(), 405);
    assert_eq!(f.records(), before, "nothing stored");
    assert_eq!(post(&mut f, &[("origin", BASE)], &token), 302, "the page's own post");
}

#[test]
fn the_sign_in_button_sends_the_browser_to_clerk_by_an_apps_sign_in() {
    let mut f = fixture();
    let clerk_url = to_clerk(&mut f);
    let q = query_of(&clerk_url);
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["nonce"].len() >= 43 && q["state"].len() >= 43);
    assert_eq!(q["redirect_uri"], format!("{BASE}/callback"));
    assert!(f.cookies.contains_key("__Host-mcp-browser"), "the sign-in is bound to this browser");
    let stored = crate::records::find::<crate::records::Upstream>(&f.env.store, &f.env.clock, &q["state"]);
    assert!(matches!(stored.unwrap(), Lookup::Live(u) if matches!(u.flow, Flow::Apps(_))));
}

#[test]
fn scripts_without_a_session_get_a_401_not_a_redirect() {
    let mut f = fixture();
    let response = f.send_with("GET", "/apps", &[JSON], None);
    assert_eq!(response.status(), 401);
    let json: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(json["error"], "sign_in_required");
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("signin:")), "nothing stored for a script");
}

#[test]
fn the_callback_of_an_apps_sign_in_starts_a_session_and_returns_to_the_page() {
    let mut f = fixture();
    let back = sign_in(&mut f);
    assert_eq!(location(&back), "/apps");
    let set_cookie = back.headers()["set-cookie"].to_str().unwrap();
    assert!(set_cookie.starts_with("__Host-mcp-apps=") && set_cookie.contains("Max-Age=900"), "{set_cookie}");
    let page = f.send("GET", "/apps", None);
    assert_eq!(page.status(), 200);
    let html = body(&page);
    assert!(html.contains("Connected apps") && html.contains("admin@example.com"), "{html}");
    assert!(html.contains("No apps are connected"), "{html}");
    assert_eq!(page.headers()["x-frame-options"], "DENY");
    assert!(page.headers()["content-security-policy"].to_str().unwrap().contains("form-action 'self'"));
    // Browsers send `Origin: null` on form posts from a `no-referrer` page; the post is checked by origin.
    assert_eq!(page.headers()["referrer-policy"], "same-origin");
    assert!(html.contains(r#"<meta name="referrer" content="same-origin">"#));
}

#[test]
fn the_same_checks_as_authorize_hold_for_an_apps_sign_in() {
    let mut f = fixture();
    let clerk_url = to_clerk(&mut f);
    f.prime_nonce(&clerk_url);
    f.env.http.id_claims.lock().unwrap()["nonce"] = serde_json::json!("forged");
    assert_eq!(f.callback(&clerk_url, &[("code", "c")]).status(), 502, "a wrong nonce");
    assert_eq!(f.callback(&clerk_url, &[("code", "c")]).status(), 400, "the state is single use");
    let clerk_url = to_clerk(&mut f);
    f.cookies.remove("__Host-mcp-browser");
    assert_eq!(f.callback(&clerk_url, &[("code", "c")]).status(), 400, "another browser");
    assert!(!f.cookies.contains_key(SESSION_COOKIE));
}

#[test]
fn cancelling_at_clerk_or_a_banned_user_gets_a_page_and_no_session() {
    let mut f = fixture();
    let clerk_url = to_clerk(&mut f);
    let cancelled = f.callback(&clerk_url, &[("error", "access_denied")]);
    assert_eq!(cancelled.status(), 200);
    assert!(body(&cancelled).contains("Sign-in cancelled"));
    as_user(&f, "user_banned");
    assert_eq!(sign_in(&mut f).status(), 403);
    assert!(!f.cookies.contains_key(SESSION_COOKIE));
}

#[test]
fn the_page_lists_each_approved_client_with_its_details() {
    let mut f = fixture();
    approve(&mut f);
    switch_to_new_client(&mut f, "Second <b>app</b> שלום");
    approve(&mut f);
    sign_in(&mut f);
    let json = listing(&mut f);
    let apps = json["apps"].as_array().unwrap();
    assert_eq!(apps.len(), 2, "{json}");
    assert_eq!(json["user"]["id"], "user_admin");
    let first = apps.iter().find(|a| a["client_name"] == "Test client").unwrap();
    assert_eq!(first["redirect_host"], "127.0.0.1");
    assert_eq!(first["redirect_uri"], REDIRECT);
    assert_eq!(first["scope"], serde_json::json!(["mcp:basic", "mcp:images"]));
    assert_eq!(first["approved_at"], f.env.clock.now_unix());
    assert_eq!(first["last_refreshed_at"], Value::Null);
    assert_eq!(first["verified_host"], Value::Null);
    assert_eq!(first["client_registered"], true);

    let html = body(&f.send("GET", "/apps", None));
    assert!(html.contains("<bdi>Second &lt;b&gt;app&lt;/b&gt; שלום</bdi>"), "escaped and isolated: {html}");
    assert!(html.contains("<bdi>Test client</bdi>"));
    assert_eq!(html.matches(r#"action="/apps/revoke""#).count(), 2);
    assert!(html.contains("an app on your computer"));
    let may = "May: Use the basic tools: add numbers, and read your profile (name, email, role); Generate images";
    assert_eq!(html.matches(may).count(), 2, "each grant's scopes, in words: {html}");
}

#[test]
fn revoke_ends_the_grant_and_the_users_approval_of_that_client_everywhere() {
    let mut f = fixture();
    let first_client = f.client_id.clone();
    let first = approve(&mut f);
    switch_to_new_client(&mut f, "Other");
    let second = approve(&mut f);
    sign_in(&mut f);
    let json = listing(&mut f);
    let grant = json["apps"].as_array().unwrap().iter().find(|a| a["client_id"] == first_client.as_str()).unwrap();
    let grant_id = grant["grant_id"].as_str().unwrap().to_owned();
    let token = json["csrf_token"].as_str().unwrap().to_owned();

    let other_browser = f.cookies.clone();
    let response = f.send("POST", "/apps/revoke", Some(&[("grant_id", &grant_id), ("csrf_token", &token)]));
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/apps");
    assert!(!live(&f, &first) && live(&f, &second));
    let apps = listing(&mut f)["apps"].as_array().unwrap().clone();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0]["client_name"], "Other");

    assert!(f.cookies.contains_key(APPROVAL_COOKIE), "the other client's approval is kept");
    assert_eq!(f.get_authorize(&[]).status(), 302, "still remembered for the other client");
    let (second_client, user) = (f.client_id.clone(), "user_admin");
    assert!(crate::approvals::is_approved(&f.env.store, &f.env.clock, user, &second_client, REDIRECT).unwrap());
    f.client_id = first_client.clone();
    assert_eq!(f.get_authorize(&[]).status(), 200, "the revoked client must ask again in this browser");
    assert!(!crate::approvals::is_approved(&f.env.store, &f.env.clock, user, &first_client, REDIRECT).unwrap());

    // A browser that still remembers the approval goes to Clerk, and then gets the consent page.
    f.cookies = other_browser;
    let clerk_url = location(&f.get_authorize(&[]));
    f.prime_nonce(&clerk_url);
    let page = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(page.status(), 200, "{}", body(&page));
    assert!(body(&page).contains("You are signed in as <strong><bdi>admin@example.com</bdi></strong>"));
}

#[test]
fn the_revoked_notice_is_shown_once_and_only_to_the_session_that_revoked() {
    let mut f = fixture();
    let (_, grant_id, token) = one_app_signed_in(&mut f);
    let revoker = f.cookies.clone();
    f.cookies.clear();
    sign_in(&mut f);
    let onlooker = std::mem::replace(&mut f.cookies, revoker);
    assert!(!body(&f.send("GET", "/apps?revoked=1", None)).contains("Access revoked"), "a link shows nothing");
    assert_eq!(f.send("POST", "/apps/revoke", Some(&[("grant_id", &grant_id), ("csrf_token", &token)])).status(), 303);
    let revoker = std::mem::replace(&mut f.cookies, onlooker);
    assert!(!body(&f.send("GET", "/apps?revoked=1", None)).contains("Access revoked"), "another session");
    f.cookies = revoker;
    assert_eq!(f.send_with("GET", "/apps", &[JSON], None).status(), 200, "JSON leaves the notice for the page");
    assert!(body(&f.send("GET", "/apps", None)).contains("Access revoked"));
    assert!(!body(&f.send("GET", "/apps", None)).contains("Access revoked"), "once");
}

#[test]
fn a_store_that_cannot_forget_the_approval_is_a_503_and_the_retry_finishes_the_revocation() {
    let mut f = fixture();
    let (tokens, grant_id, token) = one_app_signed_in(&mut f);
    let approved = |f: &Fixture| {
        crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_admin", &f.client_id, REDIRECT).unwrap()
    };
    let form = [("grant_id", grant_id.as_str()), ("csrf_token", token.as_str())];
    f.env.store.break_keys("signin:approval:");
    assert_eq!(f.send("POST", "/apps/revoke", Some(&form)).status(), 503);
    f.env.store.repair();
    assert!(approved(&f), "the approval is still there, so is the session's way to retry");
    assert_eq!(f.send("POST", "/apps/revoke", Some(&form)).status(), 303, "the retry");
    assert!(!approved(&f) && !live(&f, &tokens));

    f.env.store.break_writes("signin:apps-session:");
    let page = f.send("GET", "/apps", None);
    assert_eq!(page.status(), 503, "the one-time notice cannot be cleared: {}", body(&page));
    f.env.store.repair();
    assert!(body(&f.send("GET", "/apps", None)).contains("Access revoked"), "still there to show once");
}

#[test]
fn a_store_that_cannot_keep_the_revoked_notice_is_a_503_and_the_retry_shows_it() {
    let mut f = fixture();
    let (tokens, grant_id, token) = one_app_signed_in(&mut f);
    let form = [("grant_id", grant_id.as_str()), ("csrf_token", token.as_str())];
    f.env.store.break_writes("signin:apps-session:");
    assert_eq!(f.send("POST", "/apps/revoke", Some(&form)).status(), 503);
    assert!(!live(&f, &tokens), "the grant is revoked all the same");
    f.env.store.repair();
    assert_eq!(f.send("POST", "/apps/revoke", Some(&form)).status(), 303, "the retry");
    assert!(body(&f.send("GET", "/apps", None)).contains("Access revoked"));
}

#[test]
fn revoke_answers_json_to_scripts() {
    let mut f = fixture();
    let (tokens, grant_id, token) = one_app_signed_in(&mut f);
    let response =
        f.send_with("POST", "/apps/revoke", &[JSON], Some(&[("grant_id", &grant_id), ("csrf_token", &token)]));
    assert_eq!(response.status(), 200);
    let answer: Value = serde_json::from_slice(response.body()).unwrap();
    assert_eq!(answer["revoked"], grant_id.as_str());
    assert!(!live(&f, &tokens));
}

#[test]
fn posts_without_the_right_token_origin_or_session_change_nothing() {
    let mut f = fixture();
    let (tokens, grant_id, token) = one_app_signed_in(&mut f);
    let before = f.records();
    let form = |csrf: &str| vec![("grant_id", grant_id.clone()), ("csrf_token", csrf.to_owned())];
    let post = |f: &mut Fixture, headers: &[(&str, &str)], form: Vec<(&str, String)>| {
        let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        f.send_with("POST", "/apps/revoke", headers, Some(&pairs)).status()
    };
    assert_eq!(post(&mut f, &[], form("wrong")), 403, "wrong CSRF token");
    assert_eq!(post(&mut f, &[], form("")), 403, "empty CSRF token");
    assert_eq!(post(&mut f, &[], vec![("grant_id", grant_id.clone())]), 403, "no CSRF token");
    assert_eq!(post(&mut f, &[("origin", "https://evil.example")], form(&token)), 403, "another site");
    assert_eq!(post(&mut f, &[("origin", "null")], form(&token)), 403, "an opaque origin");
    assert_eq!(post(&mut f, &[], vec![("csrf_token", token.clone())]), 400, "no grant");
    let not_a_form = f.send_with("POST", "/apps/revoke", &[("content-type", "application/json")], None);
    assert_eq!(not_a_form.status(), 400);
    assert_eq!(f.send("GET", "/apps/revoke", None).status(), 405);
    let session = f.cookies.remove(SESSION_COOKIE).unwrap();
    assert_eq!(post(&mut f, &[], form(&token)), 401, "no session");
    f.cookies.insert(SESSION_COOKIE.into(), session);
    assert_eq!(f.records(), before, "nothing changed");
    assert!(live(&f, &tokens));
    assert_eq!(post(&mut f, &[("origin", BASE)], form(&token)), 303, "our own origin is fine");
}

#[test]
fn another_users_grant_cannot_be_listed_or_revoked() {
    let mut f = fixture();
    let admins = approve(&mut f);
    let admin_grant =
        verify_access_token(&f.env.store, &f.env.clock, &admins.access_token, "https://mcp.example.com/mcp")
            .unwrap()
            .grant_id;
    as_user(&f, "user_plain");
    f.cookies.clear();
    sign_in(&mut f);
    let json = listing(&mut f);
    assert_eq!(json["user"]["id"], "user_plain");
    assert_eq!(json["apps"], serde_json::json!([]), "the admin's grant is not listed");
    let token = csrf(&mut f);
    let before = f.records();
    let response = f.send("POST", "/apps/revoke", Some(&[("grant_id", &admin_grant), ("csrf_token", &token)]));
    assert_eq!(response.status(), 404);
    let unknown = f.send("POST", "/apps/revoke", Some(&[("grant_id", "no-such-grant"), ("csrf_token", &token)]));
    assert_eq!(unknown.status(), 404);
    assert_eq!(f.records(), before, "nothing changed");
    assert!(live(&f, &admins));
}

#[test]
fn sign_out_ends_the_session_on_the_server() {
    let mut f = fixture();
    sign_in(&mut f);
    let session = f.cookies[SESSION_COOKIE].clone();
    let token = csrf(&mut f);
    let response = f.send("POST", "/apps/sign-out", Some(&[("csrf_token", &token)]));
    assert_eq!(response.status(), 200);
    assert!(body(&response).contains("signed out"));
    assert!(!f.cookies.contains_key(SESSION_COOKIE), "the cookie is cleared");
    f.cookies.insert(SESSION_COOKIE.into(), session);
    assert_eq!(f.send_with("GET", "/apps", &[JSON], None).status(), 401, "the old cookie is worthless");
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("signin:apps-session:")));
}

#[test]
fn a_session_expires_after_its_lifetime() {
    let mut f = fixture();
    sign_in(&mut f);
    f.env.clock.advance(SESSION_TTL - 1);
    assert_eq!(f.send_with("GET", "/apps", &[JSON], None).status(), 200);
    f.env.clock.advance(1);
    assert_eq!(f.send_with("GET", "/apps", &[JSON], None).status(), 401);
    let page = f.send("GET", "/apps", None);
    assert!(body(&page).contains(r#"action="/apps/sign-in""#), "browsers sign in again");
}

#[test]
fn browsers_get_html_and_only_an_explicit_json_accept_gets_json() {
    let mut f = fixture();
    sign_in(&mut f);
    let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
    for (accept, json) in [
        (browser, false),
        ("application/json", true),
        ("application/json, text/html", false),
        ("APPLICATION/JSON;charset=utf-8", true),
        ("application/json;q=0", false),
        ("*/*", false),
    ] {
        let response = f.send_with("GET", "/apps", &[("accept", accept)], None);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert_eq!(content_type.starts_with("application/json"), json, "{accept}: {content_type}");
    }
}

#[test]
fn other_methods_and_paths_under_apps_are_refused() {
    let mut f = fixture();
    assert_eq!(f.send("POST", "/apps", None).status(), 405);
    assert_eq!(f.send("GET", "/apps/sign-out", None).status(), 405);
    assert_eq!(f.send("GET", "/apps/sign-in", None).status(), 405);
    assert_eq!(f.send("GET", "/apps/nothing", None).status(), 404);
}

#[test]
fn clerk_down_when_a_sign_in_starts_or_finishes_is_a_page_not_a_dead_end() {
    let mut f = fixture();
    let token = hidden(&body(&f.send("GET", "/apps", None)), "csrf_token");
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "demo".into() });
    let page = f.send("POST", "/apps/sign-in", Some(&[("csrf_token", &token)]));
    assert_eq!(page.status(), 503, "{}", body(&page));
    assert!(body(&page).contains("Clerk"));
    let mut f = fixture();
    let clerk_url = to_clerk(&mut f);
    f.prime_nonce(&clerk_url);
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "demo".into() });
    assert_eq!(f.callback(&clerk_url, &[("code", "c")]).status(), 503);
}

#[test]
fn a_clerk_error_or_a_missing_code_at_the_callback_is_a_502_page_and_no_session() {
    for extra in [&[("error", "server_error")][..], &[][..]] {
        let mut f = fixture();
        let clerk_url = to_clerk(&mut f);
        let response = f.callback(&clerk_url, extra);
        assert_eq!(response.status(), 502, "{extra:?}: {}", body(&response));
        assert!(!f.cookies.contains_key(SESSION_COOKIE));
    }
}

#[test]
fn a_missing_cookie_key_is_a_500_that_names_it() {
    let mut f = fixture();
    sign_in(&mut f);
    f.env.vars = variables().with("cookie_encryption_key", "");
    let json = f.send_with("GET", "/apps", &[JSON], None);
    assert_eq!(json.status(), 500);
    assert!(body(&json).contains("cookie_encryption_key"), "{}", body(&json));
    let post = f.send("POST", "/apps/sign-out", Some(&[("csrf_token", "x")]));
    assert_eq!(post.status(), 500);
}

/// A store that is down.
struct Down;

impl platform::KeyValueStore for Down {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>, platform::StoreError> {
        Err(platform::StoreError::Backend("down".into()))
    }
    fn set(&self, _: &str, _: &[u8]) -> Result<(), platform::StoreError> {
        Err(platform::StoreError::Backend("down".into()))
    }
    fn delete(&self, _: &str) -> Result<(), platform::StoreError> {
        Err(platform::StoreError::Backend("down".into()))
    }
    fn increment(&self, _: &str, _: i64) -> Result<i64, platform::StoreError> {
        Err(platform::StoreError::Backend("down".into()))
    }
}

#[test]
fn a_store_that_is_down_is_a_503_as_page_and_as_json() {
    let env = crate::tests::TestEnv::new(Down);
    let cookie = format!("{SESSION_COOKIE}={}", "A".repeat(43));
    let send = |method: &str, path: &str, headers: &[(&str, &str)]| {
        let mut builder = http::Request::builder().method(method).uri(path).header("host", "mcp.example.com");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let request = builder.body(b"csrf_token=x&grant_id=y".to_vec()).unwrap();
        env.handle(request).status()
    };
    assert_eq!(send("GET", "/apps", &[JSON, ("cookie", &cookie)]), 503);
    assert_eq!(send("GET", "/apps", &[("cookie", &cookie)]), 503);
    let form = ("content-type", "application/x-www-form-urlencoded");
    assert_eq!(send("GET", "/apps", &[]), 200, "the sign-in page needs no store");
    assert_eq!(send("POST", "/apps/revoke", &[form, ("cookie", &cookie)]), 503);
    assert_eq!(send("POST", "/apps/sign-out", &[JSON, form, ("cookie", &cookie)]), 503);
}

/// The operator console, with `admin_roles` = `admin` (the fake Clerk's `user_admin` has it).
mod console {
    use super::*;

    fn with_console(f: &mut Fixture) {
        f.env.vars = f.env.vars.clone().with("admin_roles", "admin");
    }

    fn console(f: &mut Fixture, query: &str) -> platform::web::Response {
        f.send_with("GET", &format!("/apps/admin{query}"), &[JSON], None)
    }

    fn console_json(f: &mut Fixture, query: &str) -> Value {
        let response = console(f, query);
        assert_eq!(response.status(), 200, "{}", body(&response));
        serde_json::from_slice(response.body()).unwrap()
    }

    fn admin_post(f: &mut Fixture, path: &str, field: &str, value: &str, csrf: &str) -> platform::web::Response {
        f.send_with("POST", path, &[JSON, ("origin", BASE)], Some(&[(field, value), ("csrf_token", csrf)]))
    }

    /// `user_plain` approves a new client, then the admin signs in: the user's tokens, the
    /// client's id and the admin's CSRF token.
    fn a_users_app_and_an_operator(f: &mut Fixture) -> (TokenResponse, String, String) {
        with_console(f);
        let client_id = switch_to_new_client(f, "Users app");
        as_user(f, "user_plain");
        let tokens = approve(f);
        as_user(f, "user_admin");
        sign_in(f);
        let csrf = console_json(f, "")["csrf_token"].as_str().unwrap().to_owned();
        (tokens, client_id, csrf)
    }

    #[test]
    fn without_admin_roles_there_is_no_console() {
        let mut f = fixture();
        approve(&mut f);
        sign_in(&mut f);
        let csrf = csrf(&mut f);
        let before = f.records();
        assert_eq!(console(&mut f, "").status(), 404);
        let client_id = f.client_id.clone();
        assert_eq!(admin_post(&mut f, "/apps/admin/block", "client_id", &client_id, &csrf).status(), 404);
        assert_eq!(f.records(), before);
        let page = body(&f.send("GET", "/apps", None));
        assert!(!page.contains("/apps/admin"), "no link to a console that does not exist");
    }

    #[test]
    fn an_operator_sees_every_users_grants_filtered_by_user_and_client() {
        let mut f = fixture();
        let (_, client_id, _) = a_users_app_and_an_operator(&mut f);
        let all = console_json(&mut f, "");
        assert_eq!(all["operator"]["id"], "user_admin");
        let grants = all["grants"].as_array().unwrap();
        assert_eq!(grants.len(), 1, "{all}");
        assert_eq!(
            (grants[0]["user_id"].as_str(), grants[0]["client_id"].as_str()),
            (Some("user_plain"), Some(client_id.as_str()))
        );
        assert_eq!(console_json(&mut f, "?user=user_plain")["grants"].as_array().unwrap().len(), 1);
        assert!(console_json(&mut f, "?user=user_admin")["grants"].as_array().unwrap().is_empty());
        assert_eq!(console_json(&mut f, &format!("?client={client_id}"))["grants"].as_array().unwrap().len(), 1);
        assert!(console_json(&mut f, "?client=other")["grants"].as_array().unwrap().is_empty());
        assert_eq!(console(&mut f, "?user=a&user=b").status(), 400);
        let page = body(&f.send("GET", "/apps/admin", None));
        assert!(page.contains("Operator console") && page.contains("Users app"), "{page}");
        assert!(body(&f.send("GET", "/apps", None)).contains(r#"href="/apps/admin""#), "the link for operators");
    }

    #[test]
    fn a_user_without_an_admin_role_is_refused_and_nothing_changes() {
        let mut f = fixture();
        with_console(&mut f);
        let tokens = approve(&mut f);
        as_user(&f, "user_plain");
        sign_in(&mut f);
        let csrf = csrf(&mut f);
        let before = f.records();
        assert_eq!(console(&mut f, "").status(), 403);
        let client_id = f.client_id.clone();
        for (path, field) in [("/apps/admin/block", "client_id"), ("/apps/admin/revoke-client", "client_id")] {
            assert_eq!(admin_post(&mut f, path, field, &client_id, &csrf).status(), 403);
        }
        assert_eq!(f.records(), before);
        assert!(live(&f, &tokens));
    }

    #[test]
    fn an_operator_blocks_a_client_its_tokens_die_and_unblocks_it_each_audited() {
        let mut f = fixture();
        let (tokens, client_id, csrf) = a_users_app_and_an_operator(&mut f);
        let blocked = admin_post(&mut f, "/apps/admin/block", "client_id", &client_id, &csrf);
        assert_eq!(blocked.status(), 200, "{}", body(&blocked));
        assert!(!live(&f, &tokens));
        assert!(oauth_core::admin::is_blocked(&f.env.store, &f.env.clock, &client_id).unwrap());
        assert_eq!(console_json(&mut f, "")["blocked_clients"][0]["client_id"], client_id);
        let unblocked = admin_post(&mut f, "/apps/admin/unblock", "client_id", &client_id, &csrf);
        assert_eq!(unblocked.status(), 200);
        assert_eq!(admin_post(&mut f, "/apps/admin/unblock", "client_id", &client_id, &csrf).status(), 404);
        let events: Vec<String> = f.env.audit.events().iter().map(|e| e.event().name().to_owned()).collect();
        assert!(
            events.contains(&"admin.client_blocked".to_owned())
                && events.contains(&"admin.client_unblocked".to_owned())
        );
    }

    #[test]
    fn an_operator_revokes_one_grant_or_all_of_a_user_and_forms_need_the_csrf_token() {
        let mut f = fixture();
        let (tokens, _, csrf) = a_users_app_and_an_operator(&mut f);
        let grant_id = console_json(&mut f, "")["grants"][0]["grant_id"].as_str().unwrap().to_owned();
        let before = f.records();
        assert_eq!(admin_post(&mut f, "/apps/admin/revoke", "grant_id", &grant_id, "forged").status(), 403);
        assert_eq!(admin_post(&mut f, "/apps/admin/revoke", "grant_id", "", &csrf).status(), 400);
        assert_eq!(admin_post(&mut f, "/apps/admin/revoke", "grant_id", "nope", &csrf).status(), 404);
        assert_eq!(f.records(), before, "refusals change nothing");
        let revoked = admin_post(&mut f, "/apps/admin/revoke", "grant_id", &grant_id, &csrf);
        assert_eq!(revoked.status(), 200, "{}", body(&revoked));
        assert!(!live(&f, &tokens));
        let all = admin_post(&mut f, "/apps/admin/revoke-user", "user_id", "user_plain", &csrf);
        assert_eq!(all.status(), 200);
        let event = f.env.audit.events().into_iter().rfind(|e| e.event().name() == "admin.revoked").unwrap();
        assert_eq!(event.to_json()["user_id"], "user_admin", "the operator is named");
    }
}

#[test]
fn an_app_approved_twice_is_shown_once_with_both_connections_each_revocable_and_all_at_once() {
    let mut f = fixture();
    switch_to_new_client(&mut f, "Twice App");
    let first = approve(&mut f);
    switch_to_new_client(&mut f, "Twice App");
    let second = approve(&mut f);
    switch_to_new_client(&mut f, "Other App");
    let other = approve(&mut f);
    sign_in(&mut f);
    let json = listing(&mut f);
    assert_eq!(json["apps"].as_array().unwrap().len(), 3, "every connection is still listed");
    let groups = json["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 2, "{json}");
    let twice = groups.iter().find(|g| g["name"] == "Twice App").unwrap();
    let grant_ids: Vec<String> =
        twice["grant_ids"].as_array().unwrap().iter().map(|g| g.as_str().unwrap().to_owned()).collect();
    assert_eq!(grant_ids.len(), 2);
    let page = body(&f.send("GET", "/apps", None));
    assert!(page.contains("Approved 2 times") && page.contains(r#"aria-label="Connections of Twice App""#), "{page}");
    assert!(page.contains(r#"aria-label="Revoke all connections of Twice App""#));
    assert!(page.contains(r#"aria-label="Revoke Other App""#), "a single connection keeps its plain button");

    let csrf = json["csrf_token"].as_str().unwrap().to_owned();
    let form: Vec<(&str, &str)> =
        vec![("grant_id", grant_ids[0].as_str()), ("grant_id", grant_ids[1].as_str()), ("csrf_token", csrf.as_str())];
    let revoked = f.send_with("POST", "/apps/revoke", &[JSON, ("origin", BASE)], Some(&form));
    assert_eq!(revoked.status(), 200, "{}", body(&revoked));
    assert!(!live(&f, &first) && !live(&f, &second));
    assert!(live(&f, &other), "nothing else is revoked");
}

#[test]
fn revoking_several_connections_with_one_not_the_users_changes_nothing() {
    let mut f = fixture();
    let (tokens, grant_id, csrf) = one_app_signed_in(&mut f);
    let before = f.records();
    let form = [("grant_id", grant_id.as_str()), ("grant_id", "someone-elses"), ("csrf_token", csrf.as_str())];
    let refused = f.send_with("POST", "/apps/revoke", &[JSON, ("origin", BASE)], Some(&form));
    assert_eq!(refused.status(), 404);
    assert_eq!(f.records(), before);
    assert!(live(&f, &tokens));
}
