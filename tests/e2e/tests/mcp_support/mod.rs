//! Helpers shared by the MCP end-to-end tests: JSON-RPC over `/mcp`, a streaming SSE reader, a
//! raw-socket sender (for chunked bodies) and a fake image backend.

#![allow(dead_code)]
#![allow(clippy::expect_used, reason = "test helpers: a step that fails fails the test, with the step named")]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

use e2e::TestApp;
use e2e::http::{self, Response};
use serde_json::Value;

pub const JSON_AND_SSE: &str = "application/json, text/event-stream";
/// A 1x1 PNG, what the fake image backend returns.
pub const PNG_B64: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

/// A fresh access token for `email` (a full OAuth flow through the mock Clerk).
pub fn token_for(app: &TestApp, email: &str) -> String {
    app.tokens_for(email)["access_token"].as_str().expect("access_token").to_owned()
}

/// A public client signed in as `email`: the client, its access token and its token answer.
pub fn signed_in_client(app: &TestApp, email: &str) -> (e2e::flow::Client, String, Value) {
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut e2e::Browser::new(), &client, email);
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let access = tokens["access_token"].as_str().expect("access token").to_owned();
    (client, access, tokens)
}

/// Opens `GET /sse` on `stream_app`, checks it started with an endpoint event, sends
/// `initialize` (2024-11-05) to that endpoint on `post_app` (the same app, or a peer sharing its
/// store) and reads the answer from the stream. Returns the stream and its message endpoint.
pub fn initialized_sse_session(stream_app: &TestApp, post_app: &TestApp, token: &str) -> (SseStream, String) {
    let mut stream = SseStream::open(stream_app, token);
    assert_eq!(stream.status, 200, "{}", stream.head);
    assert!(stream.head.to_ascii_lowercase().contains("content-type: text/event-stream"));
    let endpoint = stream.endpoint();
    assert!(endpoint.starts_with("/sse/message?sessionId="), "{endpoint}");
    let accepted = sse_post(post_app, token, &endpoint, &initialize("2024-11-05"));
    assert_eq!(accepted.status, 202, "{}", accepted.text());
    let init = stream.next_message();
    assert_eq!(init["id"], 1);
    assert_eq!(init["result"]["protocolVersion"], "2024-11-05");
    (stream, endpoint)
}

/// POST `body` to `/mcp` with a bearer token and the usual MCP headers plus `extra`.
pub fn mcp_with(app: &TestApp, token: &str, body: &str, extra: &[(&str, &str)]) -> Response {
    let auth = format!("Bearer {token}");
    let mut headers =
        vec![("authorization", auth.as_str()), ("content-type", "application/json"), ("accept", JSON_AND_SSE)];
    headers.extend_from_slice(extra);
    http::send("POST", &app.url("/mcp"), &headers, body.as_bytes())
}

/// A load of authenticated `tools/call add` requests to `url`, as an MCP client sends them,
/// `in_flight` keep-alive connections (for the benchmarks).
pub fn add_call_load(
    url: String,
    token: &str,
    in_flight: usize,
    duration: Duration,
) -> spin_local_testing::bench::LoadSpec {
    let mut spec = spin_local_testing::bench::LoadSpec::get(url, in_flight, duration);
    spec.method = spin_local_testing::bench::Method::POST;
    spec.headers = vec![
        ("authorization".into(), format!("Bearer {token}")),
        ("content-type".into(), "application/json".into()),
        ("accept".into(), JSON_AND_SSE.into()),
    ];
    spec.body = ADD.as_bytes().to_vec().into();
    spec
}

pub fn mcp(app: &TestApp, token: &str, body: &str) -> Response {
    mcp_with(app, token, body, &[])
}

pub fn initialize(version: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{version}","capabilities":{{}},"clientInfo":{{"name":"e2e","version":"1"}}}}}}"#
    )
}

pub const TOOLS_LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;
pub const ADD: &str =
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":20,"b":22}}}"#;
pub const USER_INFO: &str =
    r#"{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"userInfo","arguments":{}}}"#;

pub fn tool_names(response: &Response) -> Vec<String> {
    let json = response.json();
    let tools = json["result"]["tools"].as_array().cloned().unwrap_or_default();
    tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
}

/// An open `GET /sse` stream read event by event.
pub struct SseStream {
    pub status: u16,
    pub head: String,
    reader: BufReader<TcpStream>,
    chunked: bool,
    buffer: String,
}

impl SseStream {
    pub fn open(app: &TestApp, token: &str) -> SseStream {
        let port = app.base_url().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("port");
        let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(10))).expect("timeout");
        let request = format!(
            "GET /sse HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nauthorization: Bearer {token}\r\naccept: text/event-stream\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).expect("write");
        let mut reader = BufReader::new(stream);
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push_str(&line);
        }
        let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
        SseStream { status, head, reader, chunked, buffer: String::new() }
    }

    /// The next event as (name, data), skipping comments; `None` when the stream ended.
    pub fn next_event(&mut self) -> Option<(String, String)> {
        loop {
            if let Some(end) = self.buffer.find("\n\n") {
                let frame: String = self.buffer.drain(..end + 2).collect();
                let mut name = String::from("message");
                let mut data = Vec::new();
                for line in frame.lines() {
                    if let Some(v) = line.strip_prefix("event: ") {
                        name = v.to_owned();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data.push(v.to_owned());
                    }
                }
                if data.is_empty() && frame.starts_with(':') {
                    continue;
                }
                return Some((name, data.join("\n")));
            }
            let more = self.read_more()?;
            self.buffer.push_str(&more);
        }
    }

    fn read_more(&mut self) -> Option<String> {
        if !self.chunked {
            let mut buf = [0u8; 4096];
            let n = self.reader.read(&mut buf).ok().filter(|n| *n > 0)?;
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
        let mut size_line = String::new();
        self.reader.read_line(&mut size_line).ok().filter(|n| *n > 0)?;
        let size = usize::from_str_radix(size_line.trim().split(';').next()?, 16).ok()?;
        if size == 0 {
            return None;
        }
        let mut chunk = vec![0u8; size + 2];
        self.reader.read_exact(&mut chunk).ok()?;
        chunk.truncate(size);
        Some(String::from_utf8_lossy(&chunk).into_owned())
    }

    /// Reads (and drops) events until the server ends the stream; how long that took, or `None`
    /// if it was still open after `within` (a read timing out is not an end).
    pub fn wait_for_end(&mut self, within: Duration) -> Option<Duration> {
        let started = std::time::Instant::now();
        loop {
            let left = within.checked_sub(started.elapsed()).filter(|left| !left.is_zero())?;
            self.reader.get_ref().set_read_timeout(Some(left)).expect("timeout");
            match self.read_chunk() {
                Chunk::Data => continue,
                Chunk::End => return Some(started.elapsed()),
                Chunk::TimedOut => return None,
            }
        }
    }

    fn read_chunk(&mut self) -> Chunk {
        let timed_out = |error: &std::io::Error| {
            matches!(error.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)
        };
        let mut line = String::new();
        let read = if self.chunked { self.reader.read_line(&mut line) } else { self.reader.read(&mut [0u8; 4096]) };
        match read {
            Err(error) if timed_out(&error) => Chunk::TimedOut,
            Err(_) | Ok(0) => Chunk::End,
            Ok(_) if self.chunked && line.trim() == "0" => Chunk::End,
            Ok(_) if self.chunked => {
                let size = usize::from_str_radix(line.trim().split(';').next().unwrap_or(""), 16).unwrap_or(0);
                let mut chunk = vec![0u8; size + 2];
                if self.reader.read_exact(&mut chunk).is_err() {
                    return Chunk::End;
                }
                Chunk::Data
            }
            Ok(_) => Chunk::Data,
        }
    }

    /// The message path from the first (`endpoint`) event.
    pub fn endpoint(&mut self) -> String {
        let (name, data) = self.next_event().expect("endpoint event");
        assert_eq!(name, "endpoint");
        data
    }

    /// The next `message` event's JSON.
    pub fn next_message(&mut self) -> Value {
        let (name, data) = self.next_event().expect("message event");
        assert_eq!(name, "message");
        serde_json::from_str(&data).expect("JSON data")
    }
}

/// What one read of a stream found.
enum Chunk {
    Data,
    End,
    TimedOut,
}

/// POST a message to the legacy endpoint.
pub fn sse_post(app: &TestApp, token: &str, path: &str, body: &str) -> Response {
    let auth = format!("Bearer {token}");
    http::send(
        "POST",
        &app.url(path),
        &[("authorization", auth.as_str()), ("content-type", "application/json")],
        body.as_bytes(),
    )
}

/// Sends a POST over a raw socket, chunked or with `Content-Length`, tolerating the server
/// closing early (it may answer 413 before reading the whole body); the status.
pub fn post_raw(app: &TestApp, path: &str, headers: &[(&str, &str)], body: &[u8], chunked: bool) -> u16 {
    let port = app.base_url().rsplit(':').next().and_then(|p| p.parse::<u16>().ok()).expect("port");
    let mut stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(Duration::from_secs(30))).expect("timeout");
    let framing =
        if chunked { "transfer-encoding: chunked".to_owned() } else { format!("content-length: {}", body.len()) };
    let mut head = format!("POST {path} HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: close\r\n{framing}\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    for chunk in body.chunks(64 * 1024) {
        let written = if chunked {
            stream
                .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                .and_then(|()| stream.write_all(chunk))
                .and_then(|()| stream.write_all(b"\r\n"))
        } else {
            stream.write_all(chunk)
        };
        if written.is_err() {
            break;
        }
    }
    if chunked {
        let _ = stream.write_all(b"0\r\n\r\n");
    }
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    text.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0)
}

/// A fake OpenAI-compatible image backend on a loopback port; answers every request with one PNG.
pub fn start_image_backend() -> String {
    start_image_backend_serving(PNG_B64)
}

/// The same, answering every request with `b64_json` as the image.
pub fn start_image_backend_serving(b64_json: &str) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let origin = format!("http://{}", listener.local_addr().expect("addr"));
    let image = std::sync::Arc::new(b64_json.to_owned());
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let image = image.clone();
            std::thread::spawn(move || serve_image(stream, &image));
        }
    });
    origin
}

/// Like the image APIs that refuse chunked uploads, it answers 411 to a request that does not
/// declare its body's length: the app must send `content-length` for a body it holds whole.
fn serve_image(stream: TcpStream, b64_json: &str) {
    let mut reader = BufReader::new(stream);
    let mut content_length = None;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
            break;
        }
        if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
            content_length = v.trim().parse::<usize>().ok();
        }
    }
    let response = match content_length {
        Some(length) => {
            let mut body = vec![0u8; length];
            let _ = reader.read_exact(&mut body);
            let answer = format!(r#"{{"created":1,"data":[{{"b64_json":"{b64_json}"}}]}}"#);
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                answer.len()
            )
        }
        None => "HTTP/1.1 411 Length Required\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_owned(),
    };
    let mut stream = reader.into_inner();
    let _ = stream.write_all(response.as_bytes());
}

/// The app with image generation pointed at a fake backend.
pub fn app_with_images() -> TestApp {
    app_with_images_and(&[])
}

/// The same, with `extra` variables.
pub fn app_with_images_and(extra: &[(&str, &str)]) -> TestApp {
    let origin = start_image_backend();
    let mut builder = TestApp::builder().variable("image_provider", "openai").variable("image_api_origin", &origin);
    for (name, value) in extra {
        builder = builder.variable(name, value);
    }
    builder.start()
}
