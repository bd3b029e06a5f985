use super::*;
use crate::config::McpConfig;
use crate::test_support::{BASE, World};
use futures::executor::block_on;

trait SseWorld {
    fn open(&self, token: &str) -> Result<OpenedStream, Box<Response>>;
    fn post(&self, token: &str, path: &str, body: &str) -> Response;
}

fn world() -> World {
    World::new(McpConfig::default(), &[("alice-token", "alice"), ("bob-token", "bob")])
}

impl SseWorld for World {
    fn open(&self, token: &str) -> Result<OpenedStream, Box<Response>> {
        let request = http::Request::get("/sse")
            .header("authorization", format!("Bearer {token}"))
            .header("accept", "text/event-stream")
            .body(Vec::new())
            .unwrap();
        open_stream(&request, &self.services())
    }

    fn post(&self, token: &str, path: &str, body: &str) -> Response {
        let request = http::Request::post(path)
            .header("authorization", format!("Bearer {token}"))
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .unwrap();
        block_on(handle_message(&request, &self.services()))
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
    assert_eq!(open_stream(&request, &world.services()).err().unwrap().status(), StatusCode::NOT_ACCEPTABLE);
}

#[test]
fn stream_refuses_foreign_origin_and_post_method() {
    let world = world();
    let request = http::Request::get("/sse")
        .header("authorization", "Bearer alice-token")
        .header("origin", "https://evil.example")
        .body(Vec::new())
        .unwrap();
    assert_eq!(open_stream(&request, &world.services()).err().unwrap().status(), StatusCode::FORBIDDEN);
    let request = http::Request::post("/sse").header("authorization", "Bearer alice-token").body(Vec::new()).unwrap();
    assert_eq!(open_stream(&request, &world.services()).err().unwrap().status(), StatusCode::METHOD_NOT_ALLOWED);
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
    assert_eq!(block_on(handle_message(&request, &world.services())).status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
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
    opened.stream.close(&world.store);
    assert!(world.store.inner.keys().iter().all(|k| !k.starts_with("mcp:sse:")));
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
