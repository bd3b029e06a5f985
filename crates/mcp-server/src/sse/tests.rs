use super::*;
use crate::settings::Settings;
use crate::test_support::{BASE, World};
use futures::executor::block_on;

trait SseWorld {
    fn open(&self, token: &str) -> Result<OpenedStream, Box<Response>>;
    fn post(&self, token: &str, path: &str, body: &str) -> Response;
}

fn world() -> World {
    World::new(Settings::default(), &[("alice-token", "alice"), ("bob-token", "bob")])
}

impl SseWorld for World {
    fn open(&self, token: &str) -> Result<OpenedStream, Box<Response>> {
        let request = http::Request::get("/sse")
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .body(Vec::new())
            .unwrap();
        open_stream(&self.configured(&request), &self.services())
    }

    fn post(&self, token: &str, path: &str, body: &str) -> Response {
        let request = http::Request::post(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap();
        block_on(handle_message(&self.configured(&request), &self.services()))
    }
}

fn message_path(opened: &OpenedStream) -> String {
    let data = opened.first_event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap();
    data.to_owned()
}

const PING: &str = r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#;
const ADD: &str = r#"{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#;

#[test]
fn stream_starts_with_endpoint_event() {
    let opened = world().open("alice-token").ok().unwrap();
    assert!(opened.first_event.starts_with("event: endpoint\ndata: /sse/message?sessionId="));
    assert!(opened.first_event.ends_with("\n\n"));
    assert_eq!(opened.head.status(), StatusCode::OK);
    assert_eq!(opened.head.headers()["content-type"], "text/event-stream");
}

#[test]
fn posted_request_is_answered_on_the_stream_in_order() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let path = message_path(&opened);
    assert_eq!(world.post("alice-token", &path, PING).status(), StatusCode::ACCEPTED);
    assert_eq!(world.post("alice-token", &path, ADD).status(), StatusCode::ACCEPTED);
    let poll = opened.stream.poll(&world.store, &world.clock, Duration::from_millis(15));
    assert_eq!(poll.chunks.len(), 2);
    assert!(poll.chunks[0].starts_with("event: message\ndata: {") && poll.chunks[0].contains(r#""id":7"#));
    assert!(poll.chunks[1].contains(r#""text":"3""#));
    assert!(!poll.finished);
}

#[test]
fn notification_is_accepted_and_nothing_is_queued() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let path = message_path(&opened);
    let response = world.post("alice-token", &path, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(opened.stream.poll(&world.store, &world.clock, Duration::from_millis(15)).chunks.is_empty());
}

#[test]
fn another_users_post_is_403() {
    let world = world();
    let opened = world.open("alice-token").ok().unwrap();
    assert_eq!(world.post("bob-token", &message_path(&opened), PING).status(), StatusCode::FORBIDDEN);
}

#[test]
fn unknown_session_is_404_and_missing_session_is_400() {
    let world = world();
    assert_eq!(world.post("alice-token", "/sse/message?sessionId=nope", PING).status(), StatusCode::NOT_FOUND);
    assert_eq!(world.post("alice-token", "/sse/message", PING).status(), StatusCode::BAD_REQUEST);
}

#[test]
fn stream_and_post_require_a_token() {
    let world = world();
    let refused = world.open("wrong").err().unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let opened = world.open("alice-token").ok().unwrap();
    assert_eq!(world.post("wrong", &message_path(&opened), PING).status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn stream_refuses_clients_that_do_not_accept_event_streams() {
    let world = world();
    let request = http::Request::get("/sse")
        .header("authorization", "Bearer alice-token")
        .header("accept", "application/json")
        .body(Vec::new())
        .unwrap();
    assert_eq!(
        open_stream(&world.configured(&request), &world.services()).err().unwrap().status(),
        StatusCode::NOT_ACCEPTABLE
    );
}

#[test]
fn stream_refuses_foreign_origin_and_post_method() {
    let world = world();
    let request = http::Request::get("/sse")
        .header("authorization", "Bearer alice-token")
        .header("origin", "https://evil.example")
        .body(Vec::new())
        .unwrap();
    assert_eq!(
        open_stream(&world.configured(&request), &world.services()).err().unwrap().status(),
        StatusCode::FORBIDDEN
    );
    let request = http::Request::post("/sse").header("authorization", "Bearer alice-token").body(Vec::new()).unwrap();
    assert_eq!(
        open_stream(&world.configured(&request), &world.services()).err().unwrap().status(),
        StatusCode::METHOD_NOT_ALLOWED
    );
}

#[test]
fn malformed_post_is_refused_directly() {
    let world = world();
    let opened = world.open("alice-token").ok().unwrap();
    assert_eq!(world.post("alice-token", &message_path(&opened), "{").status(), StatusCode::BAD_REQUEST);
    let request = http::Request::post(message_path(&opened))
        .header("authorization", "Bearer alice-token")
        .header("content-type", "text/plain")
        .body(PING.as_bytes().to_vec())
        .unwrap();
    assert_eq!(
        block_on(handle_message(&world.configured(&request), &world.services())).status(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE
    );
}

#[test]
fn unknown_method_error_goes_to_the_stream() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let body = r#"{"jsonrpc":"2.0","id":9,"method":"resources/list"}"#;
    assert_eq!(world.post("alice-token", &message_path(&opened), body).status(), StatusCode::ACCEPTED);
    let poll = opened.stream.poll(&world.store, &world.clock, Duration::from_millis(15));
    assert!(poll.chunks[0].contains("-32601"));
}

#[test]
fn keepalive_after_quiet_interval() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    assert!(opened.stream.poll(&world.store, &world.clock, Duration::from_secs(1)).chunks.is_empty());
    let poll = opened.stream.poll(&world.store, &world.clock, Duration::from_secs(15));
    assert_eq!(poll.chunks, [KEEPALIVE]);
    assert!(opened.stream.poll(&world.store, &world.clock, Duration::from_secs(16)).chunks.is_empty());
}

#[test]
fn stream_finishes_at_max_duration_and_close_cleans_up() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let path = message_path(&opened);
    world.post("alice-token", &path, PING);
    assert!(opened.stream.poll(&world.store, &world.clock, Duration::from_secs(300)).finished);
    opened.stream.close(&world.store, &world.clock);
    // Only the stream-counting windows stay, until they end (see `presence`).
    assert!(world.store.inner.keys().iter().all(|k| !keys::is_mailbox_key(k)), "{:?}", world.store.inner.keys());
    assert_eq!(world.post("alice-token", &path, PING).status(), StatusCode::NOT_FOUND);
}

#[test]
fn stream_finishes_when_session_disappears() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    mailbox::close(&world.store, opened.stream.session_id(), &mailbox::Cursor::default()).unwrap();
    assert!(opened.stream.poll(&world.store, &world.clock, Duration::from_millis(15)).finished);
}

#[test]
fn event_splits_multiline_data() {
    assert_eq!(event("message", "a\nb"), "event: message\ndata: a\ndata: b\n\n");
}

#[test]
fn sse_challenge_points_at_the_sse_protected_resource_document() {
    // The SDKs accept a protected-resource document only if its `resource` prefixes the URL they
    // connect to, so /sse clients are sent to the document that names <base>/sse.
    let world = world();
    let expected = format!(r#"resource_metadata="{BASE}/.well-known/oauth-protected-resource/sse""#);
    let refused = world.open("forged").err().unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    assert!(refused.headers()["www-authenticate"].to_str().unwrap().contains(&expected));
    let posted = world.post("forged", "/sse/message?sessionId=x", PING);
    assert_eq!(posted.status(), StatusCode::UNAUTHORIZED);
    assert!(posted.headers()["www-authenticate"].to_str().unwrap().contains(&expected));
}

#[test]
fn streams_past_the_per_user_cap_get_429_with_retry_after_and_are_recorded() {
    let config =
        Settings { sse: SseSettings { max_streams_per_user: 2, ..SseSettings::default() }, ..Settings::default() };
    let world = World::new(config, &[("alice-token", "alice"), ("bob-token", "bob")]);
    let _first = world.open("alice-token").ok().unwrap();
    let _second = world.open("alice-token").ok().unwrap();
    let refused = *world.open("alice-token").err().unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers()["retry-after"].to_str().unwrap().parse::<u64>().unwrap() >= 1);
    let text = String::from_utf8_lossy(refused.body()).into_owned();
    assert!(text.contains("most open SSE streams allowed (2)"), "{text}");
    assert!(world.open("bob-token").is_ok(), "another user is not affected");
    let limited = world.audit.of(platform::Event::RateLimited);
    assert_eq!(limited.len(), 1);
    assert_eq!(
        (limited[0]["limit"].as_str(), limited[0]["user_id"].as_str()),
        (Some("sse_streams_per_user"), Some("alice"))
    );
}

#[test]
fn streams_past_the_total_cap_get_429() {
    let config = Settings { sse: SseSettings { max_streams: 1, ..SseSettings::default() }, ..Settings::default() };
    let world = World::new(config, &[("alice-token", "alice"), ("bob-token", "bob")]);
    let _alice = world.open("alice-token").ok().unwrap();
    let refused = *world.open("bob-token").err().unwrap();
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(String::from_utf8_lossy(refused.body()).contains("the server already has"));
}

#[test]
fn an_idle_stream_polls_less_and_less_often_and_snaps_back_when_a_message_arrives() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let settings = SseSettings::default();
    assert_eq!(opened.stream.poll_interval(), settings.poll_interval);
    let mut elapsed = Duration::ZERO;
    let mut intervals = Vec::new();
    for _ in 0..8 {
        elapsed += opened.stream.poll_interval();
        opened.stream.poll(&world.store, &world.clock, elapsed);
        intervals.push(opened.stream.poll_interval().as_millis());
    }
    assert_eq!(intervals, [30, 60, 120, 240, 480, 500, 500, 500]);
    let path = message_path(&opened);
    assert_eq!(world.post("alice-token", &path, PING).status(), StatusCode::ACCEPTED);
    elapsed += opened.stream.poll_interval();
    let poll = opened.stream.poll(&world.store, &world.clock, elapsed);
    assert_eq!(poll.chunks.len(), 1);
    assert_eq!(opened.stream.poll_interval(), settings.poll_interval, "back to the base interval");
}

#[test]
fn tool_calls_over_sse_are_recorded_and_a_refused_one_is_answered_on_the_post() {
    let limit = platform::rate_limit::TOOL_CALLS.with_max(1);
    let world = World::new(Settings { tool_calls: limit, ..Settings::default() }, &[("alice-token", "alice")]);
    let opened = world.open("alice-token").ok().unwrap();
    let path = message_path(&opened);
    assert_eq!(world.post("alice-token", &path, ADD).status(), StatusCode::ACCEPTED);
    let refused = world.post("alice-token", &path, ADD);
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(refused.headers().contains_key("retry-after"));
    let body: serde_json::Value = serde_json::from_slice(refused.body()).unwrap();
    assert_eq!((body["id"].as_i64(), body["error"]["code"].as_i64()), (Some(8), Some(-32000)));
    assert_eq!(world.audit.of(platform::Event::ToolCalled)[0]["tool"], "add");
    assert_eq!(world.audit.of(platform::Event::RateLimited)[0]["limit"], "tool_calls");
}

#[test]
fn a_stream_ends_at_its_next_token_check_once_its_grant_is_revoked() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let every = SseSettings::default().token_check_interval;
    assert!(!opened.stream.poll(&world.store, &world.clock, every).finished, "checked: still valid");
    // Revocation deletes the grant's access tokens.
    world.store.inner.delete(&oauth_core::keys::access_token("alice-token")).unwrap();
    assert!(!opened.stream.poll(&world.store, &world.clock, every + every / 2).finished, "not checked again yet");
    assert!(opened.stream.poll(&world.store, &world.clock, every * 2).finished, "ended at the next check");
}

#[test]
fn a_stream_ends_once_its_token_expires() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    world.clock.advance(3_600);
    assert!(opened.stream.poll(&world.store, &world.clock, SseSettings::default().token_check_interval).finished);
}

#[test]
fn the_token_check_costs_one_read_per_interval_and_a_failing_store_does_not_end_the_stream() {
    let world = world();
    let mut opened = world.open("alice-token").ok().unwrap();
    let every = SseSettings::default().token_check_interval;
    let quiet = |stream: &mut SseStream, at: Duration| {
        let reads = world.store.reads.load(std::sync::atomic::Ordering::SeqCst);
        assert!(!stream.poll(&world.store, &world.clock, at).finished);
        world.store.reads.load(std::sync::atomic::Ordering::SeqCst) - reads
    };
    let without = quiet(&mut opened.stream, every / 2);
    let with = quiet(&mut opened.stream, every);
    assert_eq!(with, without + 1, "the token's record, read once");
    world.store.broken.store(true, std::sync::atomic::Ordering::SeqCst);
    assert!(!opened.stream.poll(&world.store, &world.clock, every * 2).finished, "a store hiccup is no revocation");
    world.store.broken.store(false, std::sync::atomic::Ordering::SeqCst);
    assert!(!opened.stream.poll(&world.store, &world.clock, every * 3).finished);
}

#[test]
fn a_posted_call_whose_scope_the_token_lacks_gets_the_step_up_challenge_on_the_post_and_nothing_on_the_stream() {
    let tools = crate::tools::ToolSettings {
        image_backend: Some(crate::tools::image::tests::cloudflare()),
        ..crate::tools::ToolSettings::default()
    };
    let world = World::new(crate::Settings { tools, ..crate::Settings::default() }, &[]);
    let admin = oauth_core::UserProps { role: Some("admin".into()), ..crate::test_support::props("alice", None) };
    let resource = format!("{BASE}/mcp");
    let now = crate::test_support::NOW;
    crate::test_support::issue_token(&world.store.inner, "narrow", &resource, &["mcp:basic"], now + 600, admin);
    let mut opened = world.open("narrow").ok().unwrap();
    let path = message_path(&opened);
    let image = r#"{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"cat"}}}"#;
    let refused = world.post("narrow", &path, image);
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let challenge = refused.headers()["www-authenticate"].to_str().unwrap().to_owned();
    assert!(challenge.contains(r#"error="insufficient_scope", scope="mcp:basic mcp:images""#), "{challenge}");
    assert!(challenge.contains(&format!(r#"resource_metadata="{BASE}/.well-known/oauth-protected-resource/sse""#)));
    assert_eq!(world.post("narrow", &path, ADD).status(), StatusCode::ACCEPTED);
    let poll = opened.stream.poll(&world.store, &world.clock, Duration::from_millis(15));
    assert_eq!(poll.chunks.len(), 1, "only the answer to add: {:?}", poll.chunks);
    assert!(poll.chunks[0].contains(r#""text":"3""#));
}
