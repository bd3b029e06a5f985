//! Slow and stalled clients cannot take spin-local from everyone else: a request head has a
//! deadline from its first byte, so does the whole request (`408` for both), a body is read
//! before the request takes an instance slot, and a request that finds every slot taken for too
//! long gets `503`. An outside review stalled the server for everyone with 257 sockets each
//! sending `POST /register` with `Content-Length: 1000` and one body byte.

#![allow(clippy::expect_used, reason = "test code: a failed step fails the test")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::mcp_support::{SseStream, token_for};
use e2e::TestApp;
use spin_local::trigger::Limits;

/// True, with the reason printed, under a real Spin, which has none of these limits: the tests
/// then check nothing.
fn not_on_real_spin() -> bool {
    e2e::skip_under_real_spin(
        "the slow-client limits are spin-local's own; Spin has none (README, \"Run the local runtime directly\")",
    )
}

/// Short deadlines, so that the tests wait for them in well under a second each.
fn short_limits() -> Limits {
    Limits {
        header_read_timeout: Duration::from_millis(400),
        request_read_timeout: Duration::from_millis(800),
        instance_wait_timeout: Duration::from_millis(500),
        ..Limits::default()
    }
}

/// A raw connection to the app, which has sent `bytes`.
fn send(app: &TestApp, bytes: &[u8]) -> TcpStream {
    let address = app.base_url().trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(10))).expect("read timeout");
    stream.write_all(bytes).expect("send");
    stream
}

/// Everything the server sends until it closes the connection (a read timeout fails the test).
fn read_until_closed(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    stream.read_to_end(&mut received).expect("the server closes the connection");
    String::from_utf8_lossy(&received).into_owned()
}

/// `POST /register` declaring a 1000-byte body, of which one byte is sent.
fn trickling_register(app: &TestApp) -> TcpStream {
    let host = app.base_url().trim_start_matches("http://");
    let head = format!(
        "POST /register HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{{"
    );
    send(app, head.as_bytes())
}

/// The status of a `GET` on one connection of its own.
fn get_status(app: &TestApp, path: &str) -> (u16, String) {
    let host = app.base_url().trim_start_matches("http://");
    let mut stream = send(app, format!("GET {path} HTTP/1.1\r\nhost: {host}\r\nconnection: close\r\n\r\n").as_bytes());
    let response = read_until_closed(&mut stream);
    let status = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, response)
}

#[test]
fn a_request_head_not_in_by_the_header_deadline_gets_408_and_the_connection_closes() {
    if not_on_real_spin() {
        return;
    }
    let app = TestApp::builder().limits(short_limits()).start();
    let host = app.base_url().trim_start_matches("http://");
    // The head never ends: no blank line.
    let mut stream = send(&app, format!("POST /register HTTP/1.1\r\nhost: {host}\r\n").as_bytes());
    let response = read_until_closed(&mut stream);
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(response.to_ascii_lowercase().contains("connection: close"), "{response}");
}

#[test]
fn an_idle_keep_alive_connection_has_no_head_deadline() {
    if not_on_real_spin() {
        return;
    }
    let app = TestApp::builder().limits(short_limits()).start();
    let host = app.base_url().trim_start_matches("http://");
    let request = format!("GET /.well-known/oauth-authorization-server HTTP/1.1\r\nhost: {host}\r\n\r\n");
    let mut stream = send(&app, request.as_bytes());
    let mut buffer = vec![0; 64 * 1024];
    let n = stream.read(&mut buffer).expect("first answer");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200 "));
    // Idle for three header deadlines, then the next request on the same connection.
    std::thread::sleep(short_limits().header_read_timeout * 3);
    stream.write_all(request.as_bytes()).expect("second request");
    let n = stream.read(&mut buffer).expect("second answer");
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200 "), "the connection still serves");
}

#[test]
fn a_body_not_in_by_the_request_deadline_gets_408_and_the_connection_closes() {
    if not_on_real_spin() {
        return;
    }
    let app = TestApp::builder().limits(short_limits()).start();
    let mut stream = trickling_register(&app);
    let response = read_until_closed(&mut stream);
    assert!(response.starts_with("HTTP/1.1 408 "), "{response}");
    assert!(response.to_ascii_lowercase().contains("connection: close"), "{response}");
    let (status, _) = get_status(&app, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 200, "the server serves on");
}

#[test]
fn clients_trickling_their_bodies_hold_no_instance_slot() {
    if not_on_real_spin() {
        return;
    }
    // Two slots, five clients trickling: if a trickling request held a slot, the next request
    // would find none free for the whole wait and get 503.
    let limits = Limits { request_read_timeout: Duration::from_secs(20), ..short_limits() };
    let app = TestApp::builder().max_instances(2).limits(limits).start();
    let trickling: Vec<TcpStream> = (0..5).map(|_| trickling_register(&app)).collect();
    // Their heads are read (the server is then waiting on their bodies) well within this.
    std::thread::sleep(Duration::from_millis(300));
    for path in ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp"] {
        let (status, response) = get_status(&app, path);
        assert_eq!(status, 200, "{path} while 5 clients trickle: {response}");
    }
    drop(trickling);
}

#[test]
fn a_request_that_finds_every_instance_slot_taken_past_the_wait_gets_503() {
    if not_on_real_spin() {
        return;
    }
    // Streams end after 2 s, which frees their slot.
    let app = TestApp::builder().max_instances(1).limits(short_limits()).variable("sse_max_seconds", "2").start();
    let token = token_for(&app, "user@example.com");
    // An open `/sse` stream holds its instance (the only one) until it ends.
    let mut stream = SseStream::open(&app, &token);
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert!(stream.endpoint().contains("sessionId="), "the stream runs");
    let (status, response) = get_status(&app, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 503, "{response}");
    assert!(response.to_ascii_lowercase().contains("retry-after: 1"), "{response}");
    assert_eq!(stream.next_event(), None, "the stream ends at sse_max_seconds");
    let (status, response) = get_status(&app, "/.well-known/oauth-authorization-server");
    assert_eq!(status, 200, "served once the slot is free: {response}");
}

#[test]
fn a_body_over_spin_locals_cap_gets_413_declared_or_chunked() {
    if not_on_real_spin() {
        return;
    }
    let limits = Limits { max_request_body: 1000, ..short_limits() };
    let app = TestApp::builder().limits(limits).start();
    let host = app.base_url().trim_start_matches("http://");
    let declared = format!("POST /register HTTP/1.1\r\nhost: {host}\r\ncontent-length: 1001\r\n\r\n");
    let response = read_until_closed(&mut send(&app, declared.as_bytes()));
    assert!(response.starts_with("HTTP/1.1 413 "), "declared: {response}");
    let chunk = "x".repeat(600);
    let chunked = format!(
        "POST /register HTTP/1.1\r\nhost: {host}\r\ntransfer-encoding: chunked\r\n\r\n258\r\n{chunk}\r\n258\r\n{chunk}\r\n0\r\n\r\n"
    );
    let response = read_until_closed(&mut send(&app, chunked.as_bytes()));
    assert!(response.starts_with("HTTP/1.1 413 "), "chunked: {response}");
}

#[test]
fn a_body_cut_off_by_the_client_gets_400() {
    if not_on_real_spin() {
        return;
    }
    let app = TestApp::builder().limits(short_limits()).start();
    let mut stream = trickling_register(&app);
    // The client stops sending (its half of the connection ends) 999 bytes short.
    stream.shutdown(std::net::Shutdown::Write).expect("shutdown");
    let response = read_until_closed(&mut stream);
    assert!(response.starts_with("HTTP/1.1 400 "), "{response}");
}
