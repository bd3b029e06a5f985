//! The connected-apps page (`/apps`, issue 13) over real HTTP against the components on
//! spin-local and the mock Clerk: sign-in, the list, revoke (tokens dead at `/mcp` and
//! `/token`, the approval forgotten), ownership, CSRF, session expiry and sign-out.

use e2e::apps::{SESSION_COOKIE, SESSION_PREFIX, grant_of};
use e2e::{Browser, Client, TestApp};
use serde_json::{Value, json};

/// `browser` approves `client` as `email` and the client redeems the code: the token response.
fn approved(app: &TestApp, browser: &mut Browser, client: &Client, email: &str) -> Value {
    let auth = app.authorize_as(browser, client, email);
    let tokens = app.exchange_code(client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    tokens.json()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

fn client_named(app: &TestApp, name: &str) -> Client {
    app.register_client_with(&json!({
        "client_name": name,
        "redirect_uris": [e2e::flow::PUBLIC_REDIRECT_URI],
        "token_endpoint_auth_method": "none",
    }))
}

#[test]
fn approve_two_clients_see_both_revoke_one_and_only_it_stops_working() {
    let app = TestApp::start();
    let (desktop, cli) = (client_named(&app, "Desktop app"), client_named(&app, "Laptop CLI"));
    let mut browser = Browser::new();
    let desktop_tokens = approved(&app, &mut browser, &desktop, "admin@example.com");
    let cli_tokens = approved(&app, &mut browser, &cli, "admin@example.com");

    let page = app.sign_in_to_apps(&mut browser, "admin@example.com").text();
    assert!(page.contains("<bdi>Desktop app</bdi>") && page.contains("<bdi>Laptop CLI</bdi>"), "{page}");
    let listing = app.apps_listing(&mut browser);
    assert_eq!(listing["apps"].as_array().map(Vec::len), Some(2), "{listing}");
    assert_eq!(listing["user"]["email"], "admin@example.com");
    let csrf = text(&listing["csrf_token"]).to_owned();

    let revoked = app.revoke_app(&mut browser, &grant_of(&listing, &desktop.client_id), &csrf);
    assert_eq!((revoked.status, revoked.location()), (303, Some("/apps")), "{}", revoked.text());

    assert_eq!(app.mcp_initialize(text(&desktop_tokens["access_token"])).status, 401, "revoked access token");
    let refresh = app.refresh(&desktop, text(&desktop_tokens["refresh_token"]));
    assert_eq!((refresh.status, refresh.json()["error"].clone()), (400, json!("invalid_grant")));
    assert_eq!(app.mcp_initialize(text(&cli_tokens["access_token"])).status, 200, "the other app still works");
    assert_eq!(app.refresh(&cli, text(&cli_tokens["refresh_token"])).status, 200);

    let after = app.apps_listing(&mut browser);
    let names: Vec<&str> = after["apps"].as_array().into_iter().flatten().map(|a| text(&a["client_name"])).collect();
    assert_eq!(names, ["Laptop CLI"]);
    assert!(after["apps"][0]["last_refreshed_at"].is_u64(), "the refresh is recorded: {after}");

    // This browser forgot its approval of the revoked client only.
    let again = browser.get(&app.authorize_url(&desktop, &e2e::Pkce::new(), "s"));
    assert_eq!(again.status, 200, "the revoked client must ask for consent again");
    let remembered = browser.get(&app.authorize_url(&cli, &e2e::Pkce::new(), "s"));
    assert!(remembered.is_redirect(), "the other approval is still remembered: {}", remembered.status);
}

#[test]
fn another_users_grant_cannot_be_listed_or_revoked() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut alice = Browser::new();
    let tokens = approved(&app, &mut alice, &client, "admin@example.com");
    app.sign_in_to_apps(&mut alice, "admin@example.com");
    let alices_grant = grant_of(&app.apps_listing(&mut alice), &client.client_id);

    let mut bob = Browser::new();
    app.sign_in_to_apps(&mut bob, "user@example.com");
    let listing = app.apps_listing(&mut bob);
    assert_eq!(listing["apps"], json!([]), "{listing}");
    let csrf = text(&listing["csrf_token"]).to_owned();
    let before = app.kv_records();
    let refused = app.revoke_app(&mut bob, &alices_grant, &csrf);
    assert_eq!(refused.status, 404, "{}", refused.text());
    assert_eq!(app.kv_records(), before, "nothing changed in the store");
    assert_eq!(app.mcp_initialize(text(&tokens["access_token"])).status, 200);
}

#[test]
fn forms_without_the_sessions_csrf_token_or_from_another_origin_are_refused() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let tokens = approved(&app, &mut browser, &client, "admin@example.com");
    app.sign_in_to_apps(&mut browser, "admin@example.com");
    let listing = app.apps_listing(&mut browser);
    let (grant, csrf) = (grant_of(&listing, &client.client_id), text(&listing["csrf_token"]).to_owned());
    let before = app.kv_records();

    assert_eq!(app.revoke_app(&mut browser, &grant, "forged").status, 403);
    let no_token = browser.post_form(&app.url("/apps/revoke"), &[("grant_id", &grant)]);
    assert_eq!(no_token.status, 403);
    let form = e2e::http::post_form(
        &app.url("/apps/revoke"),
        &[("grant_id", &grant), ("csrf_token", &csrf)],
        &[("cookie", &browser.cookie_header()), ("origin", "https://attacker.example")],
    );
    assert_eq!(form.status, 403, "a cross-site form post");
    let mut other = Browser::new();
    app.sign_in_to_apps(&mut other, "admin@example.com");
    assert_eq!(app.revoke_app(&mut other, &grant, &csrf).status, 403, "another session's token");

    let changed: Vec<String> = app
        .kv_records()
        .into_iter()
        .filter(|(k, v)| before.get(k) != Some(v) && !k.starts_with("signin:"))
        .map(|(k, _)| k)
        .collect();
    assert!(changed.is_empty(), "only the second session's sign-in records are new: {changed:?}");
    assert_eq!(app.mcp_initialize(text(&tokens["access_token"])).status, 200);
}

#[test]
fn a_session_is_a_short_lived_host_cookie_and_expires_on_the_server() {
    let app = TestApp::start();
    let mut browser = Browser::new();
    app.sign_in_to_apps(&mut browser, "admin@example.com");
    let set_cookie = browser.set_cookie_line(SESSION_COOKIE).unwrap_or_default().to_owned();
    for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=900"] {
        assert!(set_cookie.contains(attribute), "{attribute} in {set_cookie}");
    }
    assert!(!set_cookie.contains("Domain"));

    let sessions = app.kv_keys(SESSION_PREFIX);
    assert_eq!(sessions.len(), 1);
    app.expire_record(&sessions[0]);
    assert_eq!(app.apps_json(&mut browser).status, 401, "an expired session is refused");
    let page = browser.get(&app.url("/apps"));
    assert!(page.status == 200 && page.text().contains(r#"action="/apps/sign-in""#), "browsers sign in again");
    assert!(app.kv_keys(SESSION_PREFIX).is_empty(), "the expired session was deleted when met");
}

#[test]
fn sign_out_ends_the_session_everywhere() {
    let app = TestApp::start();
    let mut browser = Browser::new();
    app.sign_in_to_apps(&mut browser, "admin@example.com");
    let copy = browser.clone();
    let csrf = text(&app.apps_listing(&mut browser)["csrf_token"]).to_owned();
    let out = browser.post_form(&app.url("/apps/sign-out"), &[("csrf_token", &csrf)]);
    assert_eq!(out.status, 200, "{}", out.text());
    assert!(!browser.cookies.contains_key(SESSION_COOKIE), "the cookie is cleared");
    assert!(app.kv_keys(SESSION_PREFIX).is_empty(), "the session record is gone");
    assert_eq!(app.apps_json(&mut copy.clone()).status, 401, "a copy of the old cookie is worthless");
    assert_eq!(app.apps_json(&mut browser).status, 401);
}

#[test]
fn an_app_that_registers_anew_for_each_connection_is_shown_once_and_its_connections_revoked_together() {
    let app = TestApp::start();
    let mut browser = Browser::new();
    let (first_client, second_client) =
        (client_named(&app, "Fresh Every Time"), client_named(&app, "Fresh Every Time"));
    let first = approved(&app, &mut browser, &first_client, "admin@example.com");
    let second = approved(&app, &mut browser, &second_client, "admin@example.com");
    let other_client = client_named(&app, "Something Else");
    let other = approved(&app, &mut browser, &other_client, "admin@example.com");

    let page = app.sign_in_to_apps(&mut browser, "admin@example.com").text();
    assert_eq!(page.matches("<bdi>Fresh Every Time</bdi>").count(), 1, "shown once: {page}");
    assert!(page.contains("Approved 2 times"), "{page}");
    let listing = app.apps_listing(&mut browser);
    let groups = listing["groups"].as_array().cloned().unwrap_or_default();
    assert_eq!(groups.len(), 2, "{listing}");
    let fresh = groups.iter().find(|g| g["name"] == "Fresh Every Time").cloned().unwrap_or_default();
    let grant_ids: Vec<String> =
        fresh["grant_ids"].as_array().into_iter().flatten().map(|g| text(g).to_owned()).collect();
    assert_eq!(grant_ids.len(), 2);

    let csrf = text(&listing["csrf_token"]).to_owned();
    let form = [("grant_id", grant_ids[0].as_str()), ("grant_id", grant_ids[1].as_str()), ("csrf_token", &csrf)];
    let revoked = browser.post_form(&app.url("/apps/revoke"), &form);
    assert_eq!(revoked.status, 303, "{}", revoked.text());
    for tokens in [&first, &second] {
        assert_eq!(app.mcp_initialize(text(&tokens["access_token"])).status, 401);
    }
    assert_eq!(app.mcp_initialize(text(&other["access_token"])).status, 200, "nothing else is revoked");
}
