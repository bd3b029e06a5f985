//! A buffered response leaves the server in one write: head and whole body together.
//!
//! Spin serves connections without `TCP_NODELAY`, and so does spin-local. When a response head is
//! flushed before its body, the body is a second small segment that Nagle's algorithm holds until
//! the client ACKs the head, and clients delay that ACK (~40 ms): every request then takes 40 ms
//! on Spin. This test is structural, not a timing threshold: on one keep-alive connection per
//! component, many requests in a row, the first read after each request must hold the complete
//! response (head, and a body of exactly `content-length` bytes). A head written alone arrives
//! alone, and Nagle keeps the body back, so a split shows up as a short first read.

#![allow(clippy::expect_used, reason = "test code: a failed step fails the test")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::mcp_support::{ADD, JSON_AND_SSE, start_image_backend_serving, token_for};
use e2e::{Pkce, TestApp};

/// Requests per route, one after another on the same connection.
const ROUNDS: usize = 25;

/// One response as read from the socket.
pub(crate) struct Exchange {
    /// The body (after the head), as received.
    body: Vec<u8>,
    status: u16,
    content_length: Option<usize>,
    /// Bytes returned by the first `read` after the request was sent.
    first_read: usize,
    /// Bytes of the whole response (head and body).
    total: usize,
}

/// A raw HTTP/1.1 keep-alive connection.
pub(crate) struct Connection {
    stream: TcpStream,
    host: String,
}

impl Connection {
    /// A connection to the app at `base_url` (`http://host:port`).
    pub(crate) fn open(base_url: &str) -> Connection {
        let host = base_url.trim_start_matches("http://").to_owned();
        let stream = TcpStream::connect(&host).expect("connect");
        stream.set_read_timeout(Some(Duration::from_secs(30))).expect("read timeout");
        // Our own requests go out at once; the server's sending is what is under test.
        stream.set_nodelay(true).expect("nodelay");
        Connection { stream, host }
    }

    /// Sends one request and reads its whole response.
    pub(crate) fn exchange(&mut self, method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Exchange {
        let mut request =
            format!("{method} {target} HTTP/1.1\r\nhost: {}\r\ncontent-length: {}\r\n", self.host, body.len());
        for (name, value) in headers {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
        request.push_str("\r\n");
        let mut bytes = request.into_bytes();
        bytes.extend_from_slice(body);
        self.stream.write_all(&bytes).expect("send the request");

        let mut buffer = vec![0; 1 << 20];
        let first_read = self.stream.read(&mut buffer).expect("read");
        let mut received = buffer[..first_read].to_vec();
        loop {
            if let Some(exchange) = complete(&received, first_read) {
                return exchange;
            }
            let n = self.stream.read(&mut buffer).expect("read");
            assert!(n > 0, "the server closed the connection mid-response: {}", String::from_utf8_lossy(&received));
            received.extend_from_slice(&buffer[..n]);
        }
    }
}

/// The response in `received`, once it is complete (by `content-length`, or by the last chunk).
fn complete(received: &[u8], first_read: usize) -> Option<Exchange> {
    let head_end = received.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = String::from_utf8_lossy(&received[..head_end]).to_ascii_lowercase();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let header = |name: &str| {
        head.lines().find_map(|line| line.strip_prefix(name).and_then(|v| v.strip_prefix(':')).map(str::trim))
    };
    let content_length = header("content-length").and_then(|v| v.parse::<usize>().ok());
    let total = match content_length {
        Some(length) => (received.len() >= head_end + length).then_some(head_end + length)?,
        None if header("transfer-encoding") == Some("chunked") => {
            received.ends_with(b"0\r\n\r\n").then_some(received.len())?
        }
        None => head_end,
    };
    let body = received[head_end..total].to_vec();
    Some(Exchange { body, status, content_length, first_read, total })
}

/// Sends `ROUNDS` identical requests on one connection to the app at `base_url` and checks each
/// answer's framing.
pub(crate) fn assert_whole_responses(
    base_url: &str,
    route: &str,
    request: impl Fn(&mut Connection) -> Exchange,
    status: u16,
) {
    let mut connection = Connection::open(base_url);
    let mut split = Vec::new();
    let mut without_length = 0;
    for round in 0..ROUNDS {
        let exchange = request(&mut connection);
        assert_eq!(exchange.status, status, "{route}, request {round}");
        if exchange.first_read < exchange.total {
            split.push(format!("request {round}: first read {} of {} bytes", exchange.first_read, exchange.total));
        }
        without_length += usize::from(exchange.content_length.is_none());
    }
    assert!(
        split.is_empty(),
        "{route}: head and body arrived apart on {} of {ROUNDS} requests: {split:?}",
        split.len()
    );
    assert_eq!(without_length, 0, "{route}: a buffered response declares its content-length");
}

#[test]
fn each_components_buffered_responses_arrive_head_and_body_in_one_read() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let client = app.register_client(false);
    let consent_page = app.authorize_url(&client, &Pkce::new(), "framing");
    let consent_target = consent_page.trim_start_matches(app.base_url()).to_owned();
    let bearer = format!("Bearer {token}");
    let mcp_headers = [("content-type", "application/json"), ("accept", JSON_AND_SSE)];

    assert_whole_responses(
        app.base_url(),
        "oauth-provider: GET /.well-known/oauth-authorization-server",
        |c| c.exchange("GET", "/.well-known/oauth-authorization-server", &[], b""),
        200,
    );
    assert_whole_responses(
        app.base_url(),
        "clerk-callback: GET /authorize (the consent page)",
        |c| c.exchange("GET", &consent_target, &[], b""),
        200,
    );
    assert_whole_responses(
        app.base_url(),
        "mcp-handler: POST /mcp without a token",
        |c| c.exchange("POST", "/mcp", &mcp_headers, ADD.as_bytes()),
        401,
    );
    let authenticated = [mcp_headers[0], mcp_headers[1], ("authorization", bearer.as_str())];
    assert_whole_responses(
        app.base_url(),
        "mcp-handler: POST /mcp tools/call add",
        |c| c.exchange("POST", "/mcp", &authenticated, ADD.as_bytes()),
        200,
    );
}

/// Bodies larger than what the host takes before the response is handed over (images of several
/// MB) are streamed after the head: whole, with the right length, and the connection still works.
#[test]
fn a_response_larger_than_the_host_buffers_arrives_whole() {
    // 3 MiB of base64, as an image backend would send a large PNG.
    let image = "iVBORw0K".repeat(3 * 1024 * 1024 / 8);
    let origin = start_image_backend_serving(&image);
    let app = TestApp::builder().variable("image_provider", "openai").variable("image_api_origin", &origin).start();
    let bearer = format!("Bearer {}", token_for(&app, "admin@example.com"));
    let headers = [("content-type", "application/json"), ("accept", JSON_AND_SSE), ("authorization", bearer.as_str())];
    let draw = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"a cat","steps":4}}}"#;
    let mut connection = Connection::open(app.base_url());
    for _ in 0..2 {
        let exchange = connection.exchange("POST", "/mcp", &headers, draw.as_bytes());
        assert_eq!(exchange.status, 200);
        assert_eq!(exchange.content_length, Some(exchange.body.len()));
        let answer: serde_json::Value = serde_json::from_slice(&exchange.body).expect("JSON");
        assert_eq!(answer["result"]["content"][0]["data"].as_str().map(str::len), Some(image.len()));
    }
    let small = connection.exchange("POST", "/mcp", &headers, ADD.as_bytes());
    assert_eq!((small.status, small.first_read), (200, small.total), "the next answer on the connection");
}
