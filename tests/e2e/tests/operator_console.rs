//! The operator console (`/apps/admin`, issue 25) over real HTTP against the components and
//! the mock Clerk: an operator (a Clerk role in `admin_roles`) lists every grant, filters it,
//! revokes one grant, a user's or a client's, and blocks a client, whose tokens stop at once
//! and which can neither refresh nor sign in until it is unblocked. Others get 403, a
//! deployment without `admin_roles` 404.

use e2e::{Browser, Client, TestApp};
use mock_clerk::users;
use serde_json::{Value, json};

fn app() -> TestApp {
    TestApp::builder().variable("admin_roles", "admin").start()
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// `email` approves a new public client named `name`: the client and its token answer.
fn approved(app: &TestApp, email: &str, name: &str) -> (Client, Value) {
    let client = app.register_client_with(&json!({
        "client_name": name,
        "redirect_uris": [e2e::flow::PUBLIC_REDIRECT_URI],
        "token_endpoint_auth_method": "none",
    }));
    let auth = app.authorize_as(&mut Browser::new(), &client, email);
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    (client, tokens.json())
}

fn console(app: &TestApp, browser: &mut Browser, query: &str) -> e2e::http::Response {
    browser.send("GET", &app.url(&format!("/apps/admin{query}")), &[("accept", "application/json")], b"")
}

fn console_json(app: &TestApp, browser: &mut Browser, query: &str) -> Value {
    let response = console(app, browser, query);
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

/// The operator signed in, and the console's CSRF token.
fn operator(app: &TestApp) -> (Browser, String) {
    let mut browser = Browser::new();
    app.sign_in_to_apps(&mut browser, users::ADMIN);
    let csrf = text(&console_json(app, &mut browser, "")["csrf_token"]).to_owned();
    (browser, csrf)
}

fn post(app: &TestApp, browser: &mut Browser, path: &str, field: &str, value: &str, csrf: &str) -> e2e::http::Response {
    browser.post_form(&app.url(path), &[(field, value), ("csrf_token", csrf)])
}

#[test]
fn an_operator_blocks_a_client_its_tokens_and_next_refresh_fail_and_it_cannot_sign_in_until_unblocked() {
    let app = app();
    let (client, tokens) = approved(&app, users::PLAIN, "Compromised app");
    let (other_client, other_tokens) = approved(&app, users::PLAIN, "Fine app");
    let (mut browser, csrf) = operator(&app);

    let blocked = post(&app, &mut browser, "/apps/admin/block", "client_id", &client.client_id, &csrf);
    assert_eq!((blocked.status, blocked.location()), (303, Some("/apps/admin")), "{}", blocked.text());

    assert_eq!(app.mcp_initialize(text(&tokens["access_token"])).status, 401, "its access token stops at once");
    let refresh = app.refresh(&client, text(&tokens["refresh_token"]));
    assert_eq!((refresh.status, refresh.json()["error"].clone()), (400, json!("invalid_grant")), "{}", refresh.text());
    let sign_in = Browser::new().get(&app.authorize_url(&client, &e2e::Pkce::new(), "s"));
    assert_eq!(sign_in.status, 400, "no sign-in for a blocked client");
    assert!(sign_in.text().contains("blocked"), "{}", sign_in.text());
    assert_eq!(app.mcp_initialize(text(&other_tokens["access_token"])).status, 200, "other clients keep working");
    assert_eq!(app.refresh(&other_client, text(&other_tokens["refresh_token"])).status, 200);
    let listing = console_json(&app, &mut browser, "");
    assert_eq!(listing["blocked_clients"][0]["client_id"], json!(client.client_id));
    let audit = app.audit_events();
    let event = audit.iter().find(|e| e["event"] == "admin.client_blocked").expect("audited");
    assert_eq!((event["client_id"].clone(), event["component"].clone()), (json!(client.client_id), json!("account")));

    let unblocked = post(&app, &mut browser, "/apps/admin/unblock", "client_id", &client.client_id, &csrf);
    assert_eq!(unblocked.status, 303, "{}", unblocked.text());
    let again = Browser::new().get(&app.authorize_url(&client, &e2e::Pkce::new(), "s"));
    assert_eq!(again.status, 200, "the consent page again: {}", again.text());
    assert!(app.audit_events().iter().any(|e| e["event"] == "admin.client_unblocked"));
}

#[test]
fn an_operator_lists_filters_and_revokes_one_grant_a_users_and_a_clients() {
    let app = app();
    let (desktop, desktop_tokens) = approved(&app, users::PLAIN, "Desktop");
    let (cli, cli_tokens) = approved(&app, users::PLAIN, "CLI");
    let (premium_desktop, premium_tokens) = approved(&app, users::PREMIUM, "Desktop 2");
    let (mut browser, csrf) = operator(&app);

    let all = console_json(&app, &mut browser, "");
    assert_eq!(all["grants"].as_array().map(Vec::len), Some(3), "{all}");
    let plain_id = app.clerk().user(users::PLAIN).map(|u| u.id).unwrap_or_default();
    let by_user = console_json(&app, &mut browser, &format!("?user={plain_id}"));
    assert_eq!(by_user["grants"].as_array().map(Vec::len), Some(2), "{by_user}");
    assert_eq!(by_user["grants"][0]["user_email"], users::PLAIN);
    let by_client = console_json(&app, &mut browser, &format!("?client={}", cli.client_id));
    assert_eq!(by_client["grants"].as_array().map(Vec::len), Some(1), "{by_client}");
    let page = browser.get(&app.url("/apps/admin"));
    assert!(page.text().contains("<bdi>Desktop 2</bdi>"), "{}", page.text());

    let cli_grant = text(&by_client["grants"][0]["grant_id"]).to_owned();
    assert_eq!(post(&app, &mut browser, "/apps/admin/revoke", "grant_id", &cli_grant, &csrf).status, 303);
    assert_eq!(app.mcp_initialize(text(&cli_tokens["access_token"])).status, 401);
    assert_eq!(app.mcp_initialize(text(&desktop_tokens["access_token"])).status, 200);

    assert_eq!(post(&app, &mut browser, "/apps/admin/revoke-user", "user_id", &plain_id, &csrf).status, 303);
    assert_eq!(app.mcp_initialize(text(&desktop_tokens["access_token"])).status, 401);
    assert_eq!(app.refresh(&desktop, text(&desktop_tokens["refresh_token"])).json()["error"], "invalid_grant");
    assert_eq!(app.mcp_initialize(text(&premium_tokens["access_token"])).status, 200);

    let by_client =
        post(&app, &mut browser, "/apps/admin/revoke-client", "client_id", &premium_desktop.client_id, &csrf);
    assert_eq!(by_client.status, 303);
    assert_eq!(app.mcp_initialize(text(&premium_tokens["access_token"])).status, 401);
    assert_eq!(console_json(&app, &mut browser, "")["grants"], json!([]));
    let revocations = app.audit_events().into_iter().filter(|e| e["event"] == "admin.revoked").count();
    assert_eq!(revocations, 3);
}

#[test]
fn users_without_an_admin_role_and_forged_forms_are_refused_and_change_nothing() {
    let app = app();
    let (client, tokens) = approved(&app, users::PLAIN, "App");
    let mut plain = Browser::new();
    app.sign_in_to_apps(&mut plain, users::PLAIN);
    let plain_csrf = text(&app.apps_listing(&mut plain)["csrf_token"]).to_owned();
    let (mut operator, _) = operator(&app);
    let before = app.kv_records();

    assert_eq!(console(&app, &mut plain, "").status, 403);
    assert_eq!(post(&app, &mut plain, "/apps/admin/block", "client_id", &client.client_id, &plain_csrf).status, 403);
    assert_eq!(post(&app, &mut operator, "/apps/admin/block", "client_id", &client.client_id, "forged").status, 403);
    let cross_site = e2e::http::post_form(
        &app.url("/apps/admin/block"),
        &[("client_id", &client.client_id), ("csrf_token", "x")],
        &[("cookie", &operator.cookie_header()), ("origin", "https://attacker.example")],
    );
    assert_eq!(cross_site.status, 403);
    assert_eq!(e2e::http::get(&app.url("/apps/admin")).status, 200, "a visitor gets the sign-in page");

    assert_eq!(app.kv_records(), before, "nothing changed in the store");
    assert_eq!(app.mcp_initialize(text(&tokens["access_token"])).status, 200);
}

#[test]
fn without_admin_roles_there_is_no_console() {
    let app = TestApp::start();
    let mut browser = Browser::new();
    app.sign_in_to_apps(&mut browser, users::ADMIN);
    assert_eq!(console(&app, &mut browser, "").status, 404);
    assert!(!browser.get(&app.url("/apps")).text().contains("/apps/admin"));
}
