//! `POST /webhooks/clerk` (issue 25) over real HTTP against the components and the mock Clerk,
//! whose deliveries are signed as Svix signs them (`mock_clerk::webhooks`): a deleted or banned
//! user's access ends at once (401 at `/mcp`, `invalid_grant` at `/token`, open SSE streams
//! end); a role change takes the image tool at once; forged, stale, replayed, malformed and
//! oversized deliveries change nothing; without a secret the route does not exist.

#![allow(clippy::panic, reason = "test code: a failed step fails the test")]

use std::time::Duration;

use e2e::TestApp;
use e2e::http::{self, Response};
use mock_clerk::webhooks::{self, Delivery, WEBHOOK_SECRET};
use mock_clerk::{User, users};
use serde_json::{Value, json};

use crate::mcp_support::{JSON_AND_SSE, SseStream, TOOLS_LIST, app_with_images_and, mcp, signed_in_client, tool_names};

fn app() -> TestApp {
    TestApp::builder().variable("clerk_webhook_secret", WEBHOOK_SECRET).start()
}

fn deliver(app: &TestApp, delivery: &Delivery) -> Response {
    let headers = delivery.headers();
    let headers: Vec<(&str, &str)> = headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    http::send("POST", &app.url("/webhooks/clerk"), &headers, delivery.body.as_bytes())
}

fn user(app: &TestApp, email: &str) -> User {
    app.clerk().user(email).unwrap_or_else(|| panic!("no mock user {email}"))
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_default()
}

/// The keys of the stored records whose key starts with `prefix`.
fn keys(app: &TestApp, prefix: &str) -> Vec<String> {
    app.kv_records().into_keys().filter(|key| key.starts_with(prefix)).collect()
}

#[test]
fn a_signed_user_deleted_ends_every_grant_of_the_user_at_once() {
    let app = app();
    let (first_client, first, first_tokens) = signed_in_client(&app, users::ADMIN);
    let (second_client, second, second_tokens) = signed_in_client(&app, users::ADMIN);
    let (other_client, other, other_tokens) = signed_in_client(&app, users::PLAIN);
    let mut stream = SseStream::open(&app, &first);
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert!(keys(&app, "oauth:revoked:").is_empty() && keys(&app, "webhook:").is_empty());

    let admin = user(&app, users::ADMIN);
    let response = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&admin)));

    assert_eq!(response.status, 200, "{}", response.text());
    assert_eq!(response.json(), json!({ "processed": "user.deleted", "action": "ended_access", "grants": 2 }));
    for (client, access, tokens) in [(&first_client, &first, &first_tokens), (&second_client, &second, &second_tokens)]
    {
        assert_eq!(app.mcp_initialize(access).status, 401, "the access token stops at once");
        let refresh = app.refresh(client, text(&tokens["refresh_token"]));
        assert_eq!((refresh.status, refresh.json()["error"].clone()), (400, json!("invalid_grant")));
    }
    assert!(stream.wait_for_end(Duration::from_secs(15)).is_some(), "the open SSE stream ends at its next check");
    assert_eq!(app.mcp_initialize(&other).status, 200, "another user keeps access");
    assert_eq!(app.refresh(&other_client, text(&other_tokens["refresh_token"])).status, 200);
    assert_eq!(keys(&app, "oauth:revoked:").len(), 2, "both grants carry a revocation marker");
    assert_eq!(keys(&app, "oauth:user-ended:").len(), 1);
    assert_eq!(keys(&app, "webhook:processed:").len(), 1, "the message id is remembered");
    let audit = app.audit_events();
    let processed: Vec<&Value> = audit.iter().filter(|e| e["event"] == "webhook.processed").collect();
    assert_eq!(processed.len(), 1, "{audit:?}");
    assert_eq!(
        (processed[0]["user_id"].clone(), processed[0]["caller_text"].clone()),
        (json!(admin.id), json!("user.deleted"))
    );
}

#[test]
fn forged_stale_tampered_malformed_and_oversized_deliveries_change_nothing() {
    let app = app();
    let (_, access, _) = signed_in_client(&app, users::ADMIN);
    let admin = user(&app, users::ADMIN);
    let event = webhooks::user_deleted(&admin);
    let good = webhooks::sign(WEBHOOK_SECRET, &event);
    let forged = webhooks::sign("whsec_Zm9yZ2VkLXNlY3JldC1vZi1hbi1hdHRhY2tlcg==", &event);
    // Well past the 5-minute tolerance, whatever seconds pass while the test runs.
    let stale = good.resigned_at(WEBHOOK_SECRET, good.timestamp - 360);
    let early = good.resigned_at(WEBHOOK_SECRET, good.timestamp + 360);
    let mut tampered = webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&user(&app, users::PLAIN)));
    tampered.body = good.body.clone();
    let malformed = webhooks::sign(WEBHOOK_SECRET, &json!({ "type": "user.deleted", "data": {} }));
    let not_json = {
        let mut delivery = good.clone();
        delivery.body = "{not json".to_owned();
        delivery.resigned_at(WEBHOOK_SECRET, good.timestamp)
    };
    let oversized = {
        let mut delivery = good.clone();
        delivery.body = format!("{}{}", good.body, " ".repeat(300 * 1024));
        delivery.resigned_at(WEBHOOK_SECRET, good.timestamp)
    };
    let mut unsigned_headers = good.headers();
    unsigned_headers.retain(|(name, _)| *name != "svix-signature");
    let before = app.kv_records();

    for (delivery, status, error) in [
        (&forged, 401, "invalid_signature"),
        (&stale, 401, "stale_timestamp"),
        (&early, 401, "stale_timestamp"),
        (&tampered, 401, "invalid_signature"),
        (&malformed, 400, "invalid_event"),
        (&not_json, 400, "invalid_event"),
    ] {
        let response = deliver(&app, delivery);
        assert_eq!((response.status, response.json()["error"].clone()), (status, json!(error)), "{}", response.text());
    }
    assert_eq!(deliver(&app, &oversized).status, 413);
    let headers: Vec<(&str, &str)> = unsigned_headers.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let unsigned = http::send("POST", &app.url("/webhooks/clerk"), &headers, good.body.as_bytes());
    assert_eq!((unsigned.status, unsigned.json()["error"].clone()), (400, json!("invalid_request")));

    assert_eq!(app.kv_records(), before, "nothing changed in the store");
    assert_eq!(app.mcp_initialize(&access).status, 200);
    let refused = app.audit_events().into_iter().filter(|e| e["event"] == "webhook.refused").count();
    assert!(refused >= 7, "every refusal is audited ({refused})");
}

#[test]
fn a_replayed_delivery_is_refused_and_changes_nothing() {
    let app = app();
    signed_in_client(&app, users::ADMIN);
    let admin = user(&app, users::ADMIN);
    let delivery = webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&admin));
    assert_eq!(deliver(&app, &delivery).status, 200);
    // The user signs in again after the deletion (a new grant, as after an unban).
    std::thread::sleep(Duration::from_millis(1100));
    let (_, access, _) = signed_in_client(&app, users::ADMIN);
    let before = app.kv_records();

    let replay = deliver(&app, &delivery);
    let resent = deliver(&app, &delivery.resigned_at(WEBHOOK_SECRET, delivery.timestamp + 1));

    for response in [replay, resent] {
        assert_eq!((response.status, response.json()["error"].clone()), (409, json!("already_processed")));
    }
    assert_eq!(app.kv_records(), before, "nothing changed in the store");
    assert_eq!(app.mcp_initialize(&access).status, 200, "the new grant survives the replay");
}

#[test]
fn a_ban_ends_access_and_a_demotion_takes_the_image_tool_at_once() {
    let app = app_with_images_and(&[("clerk_webhook_secret", WEBHOOK_SECRET)]);
    let (client, access, tokens) = signed_in_client(&app, users::ADMIN);
    assert!(tool_names(&mcp(&app, &access, TOOLS_LIST)).contains(&"generateImage".to_owned()));

    app.clerk().set_role(users::ADMIN, None);
    let demoted = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_updated(&user(&app, users::ADMIN))));
    assert_eq!(demoted.json()["action"], "dropped_access_tokens", "{}", demoted.text());
    assert_eq!(app.mcp_initialize(&access).status, 401, "the token with the old role is gone");
    let refreshed = app.refresh(&client, text(&tokens["refresh_token"]));
    assert_eq!(refreshed.status, 200, "the grant lives on: {}", refreshed.text());
    let new_access = text(&refreshed.json()["access_token"]).to_owned();
    assert_eq!(tool_names(&mcp(&app, &new_access, TOOLS_LIST)), ["add", "userInfo"], "the role was re-read");

    let (plain_client, plain, plain_tokens) = signed_in_client(&app, users::PLAIN);
    let unchanged = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_updated(&user(&app, users::PLAIN))));
    assert_eq!(unchanged.json()["grants"], 0, "an update that keeps the role drops nothing");
    assert_eq!(app.mcp_initialize(&plain).status, 200);

    let mut banned = user(&app, users::PLAIN);
    banned.banned = true;
    app.clerk().upsert_user(banned.clone());
    let ban = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_updated(&banned)));
    assert_eq!(ban.json()["action"], "ended_access");
    assert_eq!(app.mcp_initialize(&plain).status, 401);
    assert_eq!(app.refresh(&plain_client, text(&plain_tokens["refresh_token"])).json()["error"], "invalid_grant");
}

#[test]
fn session_ends_are_acknowledged_and_ignored_by_default_as_are_other_events() {
    let app = app();
    let (_, access, _) = signed_in_client(&app, users::ADMIN);
    let admin = user(&app, users::ADMIN);
    for event in [
        webhooks::session_ended("session.ended", &admin, "sess_1"),
        webhooks::session_ended("session.revoked", &admin, "sess_1"),
        webhooks::event("organization.created", json!({ "id": "org_1" })),
    ] {
        let response = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &event));
        assert_eq!((response.status, response.json()["action"].clone()), (200, json!("none")), "{}", response.text());
    }
    assert_eq!(app.mcp_initialize(&access).status, 200, "signing out of Clerk is not disconnecting an app");
}

#[test]
fn without_a_secret_the_route_answers_404_and_stores_nothing() {
    let app = TestApp::start();
    let admin = user(&app, users::ADMIN);
    let before = app.kv_without_housekeeping();
    let response = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&admin)));
    assert_eq!(response.status, 404, "{}", response.text());
    assert_eq!(app.kv_without_housekeeping(), before);
    let get = http::send("GET", &app.url("/webhooks/clerk"), &[("accept", JSON_AND_SSE)], b"");
    assert_eq!(get.status, 404);
    let log = account_log(&app);
    assert!(log.contains("/webhooks/clerk is off") && log.contains("clerk_webhook_secret"), "the log says why: {log}");
}

#[test]
fn a_malformed_secret_is_a_500_naming_the_variable_and_stores_nothing() {
    let app = TestApp::builder().variable("clerk_webhook_secret", "whsec_not*base64").start();
    let admin = user(&app, users::ADMIN);
    let before = app.kv_without_housekeeping();
    let response = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&admin)));
    assert_eq!((response.status, response.json()["error"].clone()), (500, json!("server_error")));
    assert!(!response.text().contains("not*base64"), "the secret is never echoed");
    assert_eq!(app.kv_without_housekeeping(), before);
    let log = account_log(&app);
    assert!(log.contains("clerk_webhook_secret") && !log.contains("not*base64"), "{log}");
}

/// What the account component wrote to its log (stderr).
fn account_log(app: &TestApp) -> String {
    std::fs::read_to_string(app.state_dir().join("logs/account_stderr.txt")).unwrap_or_default()
}

#[test]
fn past_the_rate_limit_a_verified_delivery_gets_429_and_is_not_remembered_and_only_post_is_allowed() {
    let app = TestApp::builder()
        .variable("clerk_webhook_secret", WEBHOOK_SECRET)
        .variable("rate_limit_webhooks_per_minute", "1")
        .start();
    let (_, access, _) = signed_in_client(&app, users::PLAIN);
    let get = http::send("GET", &app.url("/webhooks/clerk"), &[], b"");
    assert_eq!((get.status, get.header("allow")), (405, Some("POST")));
    let plain = user(&app, users::PLAIN);
    // Both in one minute window (the limit's), whatever second the test starts in.
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    if now % 60 > 50 {
        std::thread::sleep(Duration::from_secs(61 - now % 60));
    }
    let first = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::event("email.created", json!({}))));
    assert_eq!(first.status, 200, "{}", first.text());
    let before = app.kv_records();

    let limited = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &webhooks::user_deleted(&plain)));

    assert_eq!((limited.status, limited.json()["error"].clone()), (429, json!("rate_limited")), "{}", limited.text());
    assert!(limited.header("retry-after").is_some());
    assert_eq!(app.kv_records(), before, "not acted on, not remembered: Clerk's retry will be processed");
    assert_eq!(app.mcp_initialize(&access).status, 200);
}

#[test]
fn with_session_ends_configured_a_session_ended_revokes_only_the_grants_of_that_session() {
    let app = TestApp::builder()
        .variable("clerk_webhook_secret", WEBHOOK_SECRET)
        .variable("clerk_webhook_session_end", "revoke_session_grants")
        .start();
    let (_, first, _) = signed_in_client(&app, users::PLAIN);
    let (_, second, _) = signed_in_client(&app, users::PLAIN);
    // Each sign-in got its own Clerk session (the mock's `sid`), kept on the grant.
    let sessions: Vec<String> = app
        .kv_records()
        .into_iter()
        .filter(|(key, _)| key.starts_with("oauth:grant:"))
        .filter_map(|(_, value)| serde_json::from_slice::<Value>(&value).ok())
        .filter(|grant| grant["state"] == "active")
        .map(|grant| text(&grant["props"]["sessionId"]).to_owned())
        .collect();
    assert_eq!(sessions.len(), 2, "{sessions:?}");
    let plain = user(&app, users::PLAIN);
    for (ended, session) in sessions.iter().enumerate() {
        let event = webhooks::session_ended("session.ended", &plain, session);
        let response = deliver(&app, &webhooks::sign(WEBHOOK_SECRET, &event));
        assert_eq!(
            (response.json()["action"].clone(), response.json()["grants"].clone()),
            (json!("revoked_session_grants"), json!(1))
        );
        let refused = [&first, &second].iter().filter(|token| app.mcp_initialize(token).status == 401).count();
        assert_eq!(refused, ended + 1, "one more grant ends with each session");
    }
}
