//! The legacy HTTP+SSE transport end to end: the endpoint event, responses delivered on the
//! stream through the key-value mailbox, ownership, unknown sessions, bounded streams and cleanup.

use std::time::{Duration, Instant};

use crate::mcp_support::*;
use e2e::TestApp;

#[test]
fn round_trip_on_the_stream() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let (mut stream, endpoint) = initialized_sse_session(&app, &app, &token);

    assert_eq!(
        sse_post(&app, &token, &endpoint, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).status,
        202
    );
    assert_eq!(sse_post(&app, &token, &endpoint, TOOLS_LIST).status, 202);
    assert_eq!(sse_post(&app, &token, &endpoint, ADD).status, 202);
    let list = stream.next_message();
    assert_eq!(list["id"], 2);
    assert!(list["result"].get("resultType").is_none());
    let add = stream.next_message();
    assert_eq!((add["id"].as_i64(), add["result"]["content"][0]["text"].as_str()), (Some(3), Some("42")));
}

#[test]
fn responses_arrive_quickly() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let mut stream = SseStream::open(&app, &token);
    let endpoint = stream.endpoint();
    let mut worst = Duration::ZERO;
    for _ in 0..20 {
        let started = Instant::now();
        assert_eq!(sse_post(&app, &token, &endpoint, ADD).status, 202);
        stream.next_message();
        worst = worst.max(started.elapsed());
    }
    assert!(worst < Duration::from_millis(500), "slowest SSE round trip {worst:?}");
}

#[test]
fn another_users_post_is_refused() {
    let app = TestApp::start();
    let alice = token_for(&app, "user@example.com");
    let admin = token_for(&app, "admin@example.com");
    let mut stream = SseStream::open(&app, &alice);
    let endpoint = stream.endpoint();
    assert_eq!(sse_post(&app, &admin, &endpoint, ADD).status, 403);
    assert_eq!(sse_post(&app, "forged", &endpoint, ADD).status, 401);
}

#[test]
fn unknown_session_and_missing_session_id() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    assert_eq!(sse_post(&app, &token, "/sse/message?sessionId=nope", ADD).status, 404);
    assert_eq!(sse_post(&app, &token, "/sse/message", ADD).status, 400);
}

#[test]
fn stream_requires_a_token() {
    let app = TestApp::start();
    let stream = SseStream::open(&app, "forged");
    assert_eq!(stream.status, 401);
    let metadata = format!("resource_metadata=\"{}/.well-known/oauth-protected-resource/sse\"", app.base_url());
    assert!(stream.head.contains(&metadata), "{}", stream.head);
    // That document names <base>/sse, and a token asked for it is bound to the MCP resource.
    let document = e2e::http::get(&app.url("/.well-known/oauth-protected-resource/sse"));
    assert_eq!(document.json()["resource"], format!("{}/sse", app.base_url()));
}

#[test]
fn stream_ends_after_its_lifetime_and_cleans_up() {
    let app = TestApp::builder().variable("sse_max_seconds", "1").variable("sse_max_streams_per_user", "1").start();
    let token = token_for(&app, "user@example.com");
    let mut stream = SseStream::open(&app, &token);
    let endpoint = stream.endpoint();
    assert!(!app.kv_keys("mcp:sse:").is_empty(), "the session exists while the stream is open");
    let started = Instant::now();
    while stream.next_event().is_some() {}
    assert!(started.elapsed() < Duration::from_secs(5), "the stream ended on time");
    std::thread::sleep(Duration::from_millis(200));
    // Only the stream-cap counters stay (expiring with their 30-second windows), this stream no
    // longer counted in them: the user's one slot is free at once.
    let left = app.kv_keys("mcp:sse:");
    assert!(left.iter().all(|key| key.starts_with("mcp:sse:streams:")), "left behind: {left:?}");
    assert_eq!(sse_post(&app, &token, &endpoint, ADD).status, 404);
    assert_eq!(SseStream::open(&app, &token).status, 200, "the closed stream's slot is free");
}

#[test]
fn a_stream_ends_within_seconds_once_its_grant_is_revoked() {
    let app = TestApp::start();
    let (client, access, tokens) = signed_in_client(&app, "user@example.com");
    let mut stream = SseStream::open(&app, &access);
    let endpoint = stream.endpoint();
    assert_eq!(sse_post(&app, &access, &endpoint, ADD).status, 202, "the stream works");
    assert_eq!(stream.next_message()["id"], 3);

    let refresh = tokens["refresh_token"].as_str().expect("refresh token");
    assert_eq!(app.revoke(&client, refresh).status, 200);
    // The stream reads its token again every 5 seconds; keep-alives come every 15.
    let ended = stream.wait_for_end(Duration::from_secs(12));
    assert!(ended.is_some_and(|after| after < Duration::from_secs(12)), "the stream is still open");
    assert_eq!(SseStream::open(&app, &access).status, 401, "and cannot be opened again");
}

#[test]
fn streams_whose_client_went_away_free_their_slots_within_seconds() {
    let app = TestApp::start(); // 10 streams per user
    let token = token_for(&app, "user@example.com");
    let mut streams: Vec<SseStream> = (0..10).map(|_| SseStream::open(&app, &token)).collect();
    for stream in &mut streams {
        assert_eq!(stream.status, 200);
        stream.endpoint();
    }
    assert_eq!(SseStream::open(&app, &token).status, 429, "at the cap");
    // A network blip: every connection closes at once, and the client reconnects.
    drop(streams);
    let dropped = Instant::now();
    let reopened = loop {
        let stream = SseStream::open(&app, &token);
        if stream.status == 200 || dropped.elapsed() > Duration::from_secs(6) {
            break stream;
        }
        assert_eq!(stream.status, 429);
        std::thread::sleep(Duration::from_millis(100));
    };
    let waited = dropped.elapsed();
    assert_eq!(reopened.status, 200, "still refused {waited:?} after the streams were dropped");
    // Noticed at each stream's next poll (at most half a second), not at its next keep-alive
    // (15 seconds): the deadline above leaves room for a loaded machine.
    println!("a slot was free again {waited:?} after the client dropped its streams");
}
