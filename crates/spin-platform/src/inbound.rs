//! Incoming requests to `http` types with a body limit, and `http` responses back out.
//!
//! This is where Spin's request headers are read, so the core never needs their names: the
//! request the core gets has an absolute URI (scheme and authority from `spin-full-url`) and
//! the connection's address as a [`ClientAddr`] extension (from `spin-client-addr`), with the
//! shared settings applied ([`platform::Settings::apply`]: the client's address from the header
//! the operator trusts, if any, and the configured public origin). No `spin-*` header reaches
//! the core: see [`SpinHeaders`] for why only the value Spin appended is read.

use std::net::SocketAddr;

use crate::response_body;
use futures::StreamExt;
use http::StatusCode;
use http::uri::{PathAndQuery, Uri};
use platform::Settings;
use platform::web::{self, ClientAddr, Request, Response};
use spin_sdk::http::{Fields, IncomingRequest, Method as SpinMethod, OutgoingResponse, ResponseOutparam};

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body could not be read")]
    Unreadable,
    #[error("request line or headers are not valid HTTP")]
    Malformed,
}

impl BodyError {
    /// The plain-text 413 or 400 for a refused body.
    pub fn into_response(self) -> Response {
        let status = match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable | BodyError::Malformed => StatusCode::BAD_REQUEST,
        };
        web::response(status, &[("content-type", "text/plain; charset=utf-8")], self.to_string())
    }
}

/// Reads `incoming` into a normalised `http::Request` with `settings` applied (see the module
/// docs), refusing bodies over `max_body_bytes` whether or not they declare a `Content-Length`
/// (chunked bodies are counted as they arrive).
pub async fn read_request(
    incoming: IncomingRequest,
    max_body_bytes: usize,
    settings: &Settings,
) -> Result<Request, BodyError> {
    // Each `headers()`, `uri()` part and `get` is a host call: the headers are fetched once, and
    // the request's own scheme and authority only when Spin's `spin-full-url` is of no use.
    let entries = incoming.headers().entries();
    let spin = SpinHeaders::read(&entries);
    let own_uri = || incoming.uri();
    let uri = normalised_uri(spin.full_url.as_deref(), own_uri, incoming.path_with_query().as_deref())?;
    let declared_length = declared_length(&entries);
    let mut builder = http::Request::builder().method(method(&incoming.method())).uri(uri);
    if let Some(addr) = spin.client_addr {
        builder = builder.extension(ClientAddr(addr));
    }
    for (name, value) in SpinHeaders::without_them(entries) {
        builder = builder.header(name, value);
    }
    if declared_length.is_some_and(|len| len > max_body_bytes) {
        return Err(BodyError::TooLarge { limit: max_body_bytes });
    }
    let mut body = Vec::new();
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > max_body_bytes {
            return Err(BodyError::TooLarge { limit: max_body_bytes });
        }
        body.extend_from_slice(&chunk);
    }
    let mut request = builder.body(body).map_err(|_| BodyError::Malformed)?;
    settings.apply(&mut request);
    Ok(request)
}

/// What Spin says about a request, in the headers it adds (`crates/trigger-http/src/headers.rs`,
/// `compute_default_headers`).
///
/// Spin builds a component's request headers the same way in every release from 3.5.0 to 4.0.2
/// and on its main branch (August 2026), and SpinKube's `containerd-shim-spin` (v0.22 to v0.24)
/// embeds that same trigger (Spin 3.5.0 to 3.6.3): `wasi.rs` `prepare_request` copies every
/// header the caller sent, then adds its own (`spin-full-url`, `spin-client-addr`,
/// `spin-path-info`, ...) with `HeaderMap::extend`, which **appends**: nothing the caller sent
/// is replaced or removed. A caller who sends `Spin-Client-Addr: 198.51.100.7:1` makes the
/// component see two values, the caller's first. Spin appends exactly one value of each, so
/// the **last** value is Spin's and is the only one read here; any earlier one is the caller's
/// and is ignored, and no `spin-*` header at all is passed on to the core, which learns what
/// Spin said only through the URI and [`ClientAddr`]. (Reading the first value let any caller
/// choose its own address for every per-address limit and the audit trail, and pass a loopback
/// `spin-full-url` for its own `Host`.)
struct SpinHeaders {
    /// `spin-full-url`: `scheme://<Host header>/path?query` (the scheme of Spin's listener; the
    /// authority is the caller's `Host`, so it says nothing about where the server is).
    full_url: Option<String>,
    /// `spin-client-addr`: the `ip:port` of the connection's other end, as Spin's listener
    /// accepted it: the one fact about the connection Spin gives a component.
    client_addr: Option<SocketAddr>,
}

impl SpinHeaders {
    const FULL_URL: &'static str = "spin-full-url";
    const CLIENT_ADDR: &'static str = "spin-client-addr";
    /// Every header Spin adds starts with this (`spin-path-match-<name>` included).
    const PREFIX: &'static str = "spin-";

    fn read(entries: &[(String, Vec<u8>)]) -> Self {
        let client_addr = Self::appended(entries, Self::CLIENT_ADDR).and_then(|addr| addr.parse().ok());
        Self { full_url: Self::appended(entries, Self::FULL_URL), client_addr }
    }

    /// The last value of header `name`: the one Spin appended.
    fn appended(entries: &[(String, Vec<u8>)], name: &str) -> Option<String> {
        let value = entries.iter().rev().find(|(entry, _)| entry.eq_ignore_ascii_case(name))?;
        String::from_utf8(value.1.clone()).ok()
    }

    /// The request's headers without any `spin-*` one, Spin's or a caller's copy.
    fn without_them(entries: Vec<(String, Vec<u8>)>) -> impl Iterator<Item = (String, Vec<u8>)> {
        entries.into_iter().filter(|(name, _)| !Self::is_spins(name))
    }

    fn is_spins(name: &str) -> bool {
        name.get(..Self::PREFIX.len()).is_some_and(|start| start.eq_ignore_ascii_case(Self::PREFIX))
    }
}

/// The request's URI, absolute when anyone knows the scheme and authority: those from
/// `spin-full-url` (what Spin's listener saw), else from the request itself (`own`, which
/// spin-sdk renders absolute when the host set them); the path and query from the request line.
fn normalised_uri(
    full_url: Option<&str>,
    own: impl FnOnce() -> String,
    path_with_query: Option<&str>,
) -> Result<Uri, BodyError> {
    let origin = full_url
        .and_then(|url| url.parse::<Uri>().ok())
        .filter(|uri| uri.scheme().is_some())
        .or_else(|| own().parse::<Uri>().ok());
    let path_and_query = match path_with_query {
        Some(text) => text.parse::<PathAndQuery>().map_err(|_| BodyError::Malformed)?,
        None => PathAndQuery::from_static("/"),
    };
    let mut parts = origin.map(Uri::into_parts).unwrap_or_default();
    parts.path_and_query = Some(path_and_query);
    if parts.scheme.is_none() || parts.authority.is_none() {
        (parts.scheme, parts.authority) = (None, None);
    }
    Uri::from_parts(parts).map_err(|_| BodyError::Malformed)
}

/// The first `content-length` the request declares, if it is a number.
fn declared_length(entries: &[(String, Vec<u8>)]) -> Option<usize> {
    let (_, value) = entries.iter().find(|(name, _)| name.eq_ignore_ascii_case("content-length"))?;
    std::str::from_utf8(value).ok()?.trim().parse().ok()
}

fn method(method: &SpinMethod) -> http::Method {
    let name = method.to_string();
    http::Method::from_bytes(name.as_bytes()).unwrap_or(http::Method::GET)
}

/// Writes a buffered response, with its `content-length`, so that Spin sends head and body in
/// one write (see [`crate::response_body`]: the body is finished before the outparam is set).
pub async fn write_response(response: Response, out: ResponseOutparam) {
    let (mut parts, body) = response.into_parts();
    if status_allows_body(parts.status) {
        parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    }
    let outgoing = OutgoingResponse::new(fields(&parts.headers));
    let _ = outgoing.set_status_code(parts.status.as_u16());
    response_body::send_buffered(outgoing, out, &body).await;
}

/// 1xx, 204 and 304 responses carry no body and no `content-length` (RFC 9110 8.6).
fn status_allows_body(status: StatusCode) -> bool {
    !(status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED)
}

/// Spin `Fields` for `http` headers (streamed responses build their own `OutgoingResponse`).
pub fn fields(headers: &http::HeaderMap) -> Fields {
    let headers: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    // Header names and values come from `http` types, which already validated them.
    Fields::from_list(&headers).unwrap_or_else(|_| Fields::new())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_takes_scheme_and_authority_from_spin_full_url() {
        let uri = normalised_uri(Some("https://mcp.example:8443/mcp?x=1"), || "/mcp?x=1".to_owned(), Some("/mcp?x=1"))
            .unwrap();
        assert_eq!(uri.to_string(), "https://mcp.example:8443/mcp?x=1");
    }

    #[test]
    fn uri_without_spin_full_url_keeps_the_request_own_origin_or_stays_relative() {
        let own = normalised_uri(None, || "http://127.0.0.1:3000/sse".to_owned(), Some("/sse")).unwrap();
        assert_eq!(own.to_string(), "http://127.0.0.1:3000/sse");
        let relative =
            normalised_uri(Some("not a url"), || "/authorize?a=b".to_owned(), Some("/authorize?a=b")).unwrap();
        assert_eq!(relative.to_string(), "/authorize?a=b");
        assert_eq!(normalised_uri(None, String::new, None).unwrap().to_string(), "/");
    }

    #[test]
    fn the_request_s_own_uri_is_asked_for_only_when_spin_full_url_is_of_no_use() {
        let asked = std::cell::Cell::new(0);
        let own = || {
            asked.set(asked.get() + 1);
            "http://127.0.0.1:3000/mcp".to_owned()
        };
        normalised_uri(Some("https://mcp.example/mcp"), own, Some("/mcp")).unwrap();
        assert_eq!(asked.get(), 0, "spin-full-url was enough");
        let own = || {
            asked.set(asked.get() + 1);
            "http://127.0.0.1:3000/mcp".to_owned()
        };
        let uri = normalised_uri(Some("not a url"), own, Some("/mcp")).unwrap();
        assert_eq!((asked.get(), uri.to_string().as_str()), (1, "http://127.0.0.1:3000/mcp"));
    }

    #[test]
    fn the_declared_length_is_the_first_content_length_whatever_its_case() {
        assert_eq!(declared_length(&entries(&[("Content-Length", " 12 "), ("content-length", "99")])), Some(12));
        assert_eq!(declared_length(&entries(&[("content-length", "many")])), None);
        assert_eq!(declared_length(&entries(&[("host", "h")])), None);
    }

    #[test]
    fn path_and_query_come_from_the_request_line() {
        let uri = normalised_uri(
            Some("http://h/other"),
            || "/authorize?state=a%20b".to_owned(),
            Some("/authorize?state=a%20b"),
        )
        .unwrap();
        assert_eq!((uri.path(), uri.query()), ("/authorize", Some("state=a%20b")));
    }

    #[test]
    fn unparsable_request_line_is_malformed() {
        assert!(matches!(normalised_uri(None, String::new, Some("/a b")), Err(BodyError::Malformed)));
    }

    fn entries(pairs: &[(&str, &str)]) -> Vec<(String, Vec<u8>)> {
        pairs.iter().map(|(name, value)| (name.to_string(), value.as_bytes().to_vec())).collect()
    }

    #[test]
    fn spin_headers_are_the_values_spin_appended_after_the_callers_copies() {
        let sent = entries(&[
            ("host", "evil.example"),
            ("spin-full-url", "http://127.0.0.1:3000/x"),
            ("spin-client-addr", "198.51.100.7:1"),
            ("Spin-Client-Addr", "198.51.100.8:2"),
            ("spin-full-url", "http://evil.example/x"),
            ("spin-client-addr", "192.0.2.1:5555"),
        ]);
        let spin = SpinHeaders::read(&sent);
        assert_eq!(spin.full_url.as_deref(), Some("http://evil.example/x"));
        assert_eq!(spin.client_addr, Some("192.0.2.1:5555".parse().unwrap()));
    }

    #[test]
    fn spin_headers_absent_or_unparsable_are_none() {
        assert!(SpinHeaders::read(&entries(&[("host", "h")])).client_addr.is_none());
        let spin = SpinHeaders::read(&entries(&[("spin-client-addr", "1.2.3.4:5"), ("spin-client-addr", "junk")]));
        assert_eq!(spin.client_addr, None, "Spin's value is unusable: the caller's is not used instead");
    }

    #[test]
    fn no_spin_header_reaches_the_core() {
        let sent = entries(&[
            ("host", "h"),
            ("spin-client-addr", "198.51.100.7:1"),
            ("SPIN-PATH-MATCH-ID", "x"),
            ("spinach", "kept"),
            ("x-forwarded-for", "192.0.2.9"),
            ("spin-client-addr", "127.0.0.1:5"),
        ]);
        let names: Vec<String> = SpinHeaders::without_them(sent).map(|(name, _)| name).collect();
        assert_eq!(names, ["host", "spinach", "x-forwarded-for"]);
    }

    #[test]
    fn content_length_goes_on_every_status_that_carries_a_body() {
        for code in [200, 201, 302, 400, 401, 413, 500] {
            assert!(status_allows_body(StatusCode::from_u16(code).expect("status")), "{code}");
        }
        for code in [100, 101, 204, 304] {
            assert!(!status_allows_body(StatusCode::from_u16(code).expect("status")), "{code}");
        }
    }
}
