//! Small helpers for inbound HTTP shared by the three components: base URL, origins, query and
//! form parsing, cookies, CORS and response builders. Requests and responses are `http` crate types
//! with buffered bodies; `spin-platform` converts to and from Spin's types.
//!
//! The host hands requests over normalised, so nothing here knows a host's header names: the
//! URI is absolute when the host knows the scheme and authority, and the caller's address is
//! a [`ClientAddr`] extension. Behind a reverse proxy that address is the proxy's; an operator
//! who names the proxy's header in `client_addr_header` gets the client's from it instead
//! ([`use_client_addr_header`], [`client_ip`]). The operator's `public_base_url`, when set, comes
//! as a [`PublicBaseUrl`] extension ([`base_url`]). Both settings are read once per request,
//! by the host adapter ([`crate::settings`]).

use std::net::{IpAddr, SocketAddr};

use http::header::{self, HeaderName, HeaderValue};
use http::{Method, StatusCode};

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

/// The address the request came from, as the host saw it (a request extension the host sets;
/// behind a proxy it is the proxy's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr(pub SocketAddr);

/// The caller's address, when the host told us.
pub fn client_addr(request: &Request) -> Option<SocketAddr> {
    request.extensions().get::<ClientAddr>().map(|addr| addr.0)
}

/// The client's address as the trusted proxy reported it (a request extension).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ForwardedClient(pub IpAddr);

/// Trusts `header` (the operator's `client_addr_header`) for the client's address.
///
/// The address is the **last** entry of the header's last line: `X-Forwarded-For` is a list
/// each proxy appends the address it was connected from to, so every entry but the last may be
/// whatever the client sent; the last one is what the proxy in front of this server saw.
/// (Behind a chain of proxies, name a header the outermost one sets to a single address, such
/// as `cf-connecting-ip` or `x-real-ip`.) An entry may carry a port (`192.0.2.7:5555`,
/// `[2001:db8::1]:443`). A missing or unparsable header leaves the connection's address in force,
/// so a request that did not come through the proxy is judged by its real address.
pub fn use_client_addr_header(request: &mut Request, header: &str) {
    let last_line = request.headers().get_all(header.trim()).iter().next_back().and_then(|v| v.to_str().ok());
    let entry = last_line.and_then(|line| line.rsplit(',').next()).map(str::trim);
    if let Some(ip) = entry.and_then(parse_address) {
        request.extensions_mut().insert(ForwardedClient(ip));
    }
}

fn parse_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<SocketAddr>().ok().map(|addr| addr.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

/// The client's IP address: the trusted proxy's report ([`use_client_addr_header`]), else the
/// connection's, when the host told us.
pub fn client_ip(request: &Request) -> Option<IpAddr> {
    let forwarded = request.extensions().get::<ForwardedClient>().map(|client| client.0);
    forwarded.or_else(|| client_addr(request).map(|addr| addr.ip()))
}

/// The public origin of this server, without a trailing slash, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseUrl {
    pub url: String,
    /// From `public_base_url`. Otherwise it was taken from the request (on loopback only), so a
    /// document built from it must not be kept by shared caches: another request's `Host`
    /// would decide what everyone gets.
    pub configured: bool,
}

/// No `public_base_url`, and the request is not a loopback request to a loopback origin: the
/// server does not know it is the authority the request names. Answered with
/// [`PublicBaseUrlRequired::STATUS`]: a misconfigured deployment and a DNS-rebinding attempt on a
/// local server look the same.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "this server answers only on loopback addresses unless the variable `public_base_url` is set \
     (it does not take its public URL from the request's Host header, and without it serves only \
     loopback connections)"
)]
pub struct PublicBaseUrlRequired;

impl PublicBaseUrlRequired {
    /// 421 Misdirected Request (RFC 9110 §15.5.20): the server will not produce an
    /// authoritative response for the request's authority. A 4xx, as the MCP DNS-rebinding
    /// checks expect for a foreign `Host`.
    pub const STATUS: StatusCode = StatusCode::MISDIRECTED_REQUEST;
}

/// The operator's `public_base_url` (a request extension the host sets, [`crate::settings`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl(pub String);

/// The public origin of this server ([`BaseUrl`]).
///
/// The configured one (the `public_base_url` variable, a [`PublicBaseUrl`] extension) wins. Without it, an origin is taken from the
/// request (the scheme and authority of its absolute URI, then its `Host` header) only for a
/// development setup: a request that came over a loopback connection ([`came_over_loopback`])
/// and names a loopback origin. Both are needed. The origin is built from the `Host` header,
/// which the caller chooses (on Spin even `spin-full-url` is), so it alone proves nothing: a
/// remote caller can send `Host: localhost`. The connection alone is not enough either: a
/// browser on this machine that a rebound DNS name (`evil.example` resolving to `127.0.0.1`)
/// sends here comes over loopback, naming a foreign origin. Anything else is an error
/// ([`PublicBaseUrlRequired`]): the issuer, the resource and the allowed `Origin` are never the
/// caller's choice. `X-Forwarded-*` headers are never trusted.
pub fn base_url(request: &Request) -> Result<BaseUrl, PublicBaseUrlRequired> {
    let configured = request.extensions().get::<PublicBaseUrl>().map(|configured| configured.0.trim());
    if let Some(configured) = configured.filter(|c| !c.is_empty()) {
        return Ok(BaseUrl { url: configured.trim_end_matches('/').to_owned(), configured: true });
    }
    let uri = request.uri();
    let from_uri = uri.scheme_str().zip(uri.authority()).map(|(scheme, authority)| format!("{scheme}://{authority}"));
    let from_host = || header_str(request, "host").map(|h| format!("http://{h}"));
    let url = from_uri.or_else(from_host).unwrap_or_else(|| "http://localhost".to_owned());
    if is_loopback_url(&url) && came_over_loopback(request) {
        Ok(BaseUrl { url, configured: false })
    } else {
        Err(PublicBaseUrlRequired)
    }
}

/// True when the request reached this server over a loopback connection: the address of the
/// connection's other end, as the host reported it ([`ClientAddr`]; on Spin the value it
/// appended to `spin-client-addr`), is a loopback address, and so is the client's address a
/// trusted proxy reported ([`ForwardedClient`]), if it reported one. Spin tells a component
/// nothing about its listener, so the peer is the one fact about the connection there is; a
/// request header never decides it. A request whose peer the host did not report is not a
/// loopback request.
pub fn came_over_loopback(request: &Request) -> bool {
    let peer = client_addr(request).is_some_and(|addr| addr.ip().to_canonical().is_loopback());
    let forwarded = request.extensions().get::<ForwardedClient>();
    peer && forwarded.is_none_or(|client| client.0.to_canonical().is_loopback())
}

/// True for a loopback host: `localhost`, `127.0.0.0/8`, `[::1]` (RFC 8252 §7.3, RFC 6761 §6.3).
/// Names that merely start with one (`127.0.0.1.evil.example`, `localhost.evil.example`) are not.
pub fn is_loopback_host(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(domain) => domain.eq_ignore_ascii_case("localhost"),
    }
}

/// True when `url` parses and its host is a loopback host ([`is_loopback_host`]).
pub fn is_loopback_url(url: &str) -> bool {
    plain_loopback(url).unwrap_or_else(|| {
        url::Url::parse(url).ok().is_some_and(|url| url.host().is_some_and(|host| is_loopback_host(&host)))
    })
}

/// [`is_loopback_url`] for the plain forms every local request's base URL has (`http` or
/// `https`, then `localhost`, a dotted-quad IPv4 or a bracketed IPv6 address, then at most a
/// port), decided without a URL parser; `None` for anything else, which the parser decides.
fn plain_loopback(url: &str) -> Option<bool> {
    let authority = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))?;
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) if !host.ends_with(':') && !port.contains(']') => (host, Some(port)),
        _ => (authority, None),
    };
    // Digits only: `u16`'s parser also takes a leading `+`, which no URL port may have.
    let valid_port = |port: &str| port.bytes().all(|b| b.is_ascii_digit()) && (1..=5).contains(&port.len());
    if port.is_some_and(|port| !valid_port(port) || port.parse::<u16>().is_err()) {
        return None;
    }
    if host.eq_ignore_ascii_case("localhost") {
        return Some(true);
    }
    if let Some(inner) = host.strip_prefix('[').and_then(|rest| rest.strip_suffix(']')) {
        return inner.parse::<std::net::Ipv6Addr>().ok().map(|ip| ip.is_loopback());
    }
    host.parse::<std::net::Ipv4Addr>().ok().map(|ip| ip.is_loopback())
}

/// `scheme://host[:port]` of an absolute URL with a host, lower-cased, without user info and
/// without the scheme's default port (as browsers send `Origin`).
pub fn origin_of(url: &str) -> Option<String> {
    let (scheme, authority) = scheme_and_authority(url)?;
    Some(format!("{scheme}://{authority}"))
}

/// `host[:port]` of an absolute URL with a host, normalised as in [`origin_of`].
pub fn authority_of(url: &str) -> Option<String> {
    scheme_and_authority(url).map(|(_, authority)| authority)
}

fn scheme_and_authority(url: &str) -> Option<(String, String)> {
    let url = url::Url::parse(url).ok()?;
    let host = url.host_str().filter(|h| !h.is_empty())?.to_ascii_lowercase();
    let authority = match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host,
    };
    Some((url.scheme().to_owned(), authority))
}

/// A header as UTF-8 text, if present and valid.
pub fn header_str<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

/// The request's path.
pub fn path(request: &Request) -> &str {
    request.uri().path()
}

/// Decoded query parameters, in order.
pub fn query_pairs(request: &Request) -> Vec<(String, String)> {
    request.uri().query().map(|q| decode_pairs(q.as_bytes())).unwrap_or_default()
}

/// A parameter that appeared more than once where only one is allowed (RFC 6749 §3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Repeated;

/// The value of a single-valued parameter among decoded `pairs`: `Ok(None)` when absent,
/// `Err(Repeated)` when it appears more than once.
pub fn single_value<'a>(pairs: &'a [(String, String)], name: &str) -> Result<Option<&'a str>, Repeated> {
    let mut values = pairs.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let first = values.next();
    if values.next().is_some() { Err(Repeated) } else { Ok(first) }
}

/// The first value of parameter `name` among decoded `pairs` (for parameters whose repetition
/// does not matter).
pub fn first_value<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Decoded `application/x-www-form-urlencoded` pairs.
pub fn decode_pairs(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

/// Percent-encodes pairs as a query string or form body.
pub fn encode_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// The media type of the body, lower-cased, without parameters.
pub fn media_type(request: &Request) -> Option<String> {
    let value = header_str(request, "content-type")?;
    Some(value.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
}

/// The value of cookie `name` from the `Cookie` header(s) (`a=1; b="2"`, RFC 6265 §5.4: pairs
/// only, no attributes; a quoted value loses its quotes). Pairs without `=` are skipped.
pub fn cookie(request: &Request, name: &str) -> Option<String> {
    request
        .headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|header| header.split(';'))
        .filter_map(|pair| pair.split_once('='))
        .find(|(pair_name, _)| pair_name.trim() == name)
        .map(|(_, value)| {
            let value = value.trim();
            value.strip_prefix('"').and_then(|v| v.strip_suffix('"')).unwrap_or(value).to_owned()
        })
}

/// Builds a response; header values that are not valid are dropped rather than panicking.
pub fn response(status: StatusCode, headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Response {
    let mut response = http::Response::new(body.into());
    *response.status_mut() = status;
    for (name, value) in headers {
        append_header(&mut response, name, value);
    }
    response
}

/// Appends one header, ignoring names or values that are not valid HTTP.
pub fn append_header(response: &mut Response, name: &str, value: &str) {
    if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), HeaderValue::from_str(value)) {
        response.headers_mut().append(name, value);
    }
}

/// A JSON response. `no-store` because most JSON here carries or concerns credentials.
pub fn json(status: StatusCode, body: &impl serde::Serialize) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    response(status, &[("content-type", "application/json"), ("cache-control", "no-store")], bytes)
}

/// A `302 Found` to `location`.
pub fn redirect(location: &str) -> Response {
    response(StatusCode::FOUND, &[("location", location), ("cache-control", "no-store")], Vec::new())
}

/// CORS for endpoints browser-based MCP clients call (metadata, register, token, revoke, mcp).
///
/// These endpoints authenticate with bearer tokens or client credentials in the body, never
/// with cookies, so any origin may call them; credentials mode stays off.
pub struct Cors {
    pub allow_methods: &'static str,
    pub allow_headers: &'static str,
    pub expose_headers: &'static str,
}

impl Cors {
    pub const DEFAULT_ALLOW_HEADERS: &'static str = "Authorization, Content-Type, Accept, Mcp-Session-Id, Mcp-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID";
    pub const DEFAULT_EXPOSE_HEADERS: &'static str = "WWW-Authenticate, Mcp-Session-Id, Mcp-Protocol-Version";

    /// Adds the CORS headers to a response to a request that carried `Origin`.
    pub fn apply(&self, request: &Request, response: &mut Response) {
        if request.headers().contains_key(header::ORIGIN) {
            append_header(response, "access-control-allow-origin", "*");
            append_header(response, "access-control-expose-headers", self.expose_headers);
            append_header(response, "vary", "Origin");
        }
    }

    /// The answer to a preflight (`OPTIONS`) request.
    pub fn preflight(&self) -> Response {
        response(
            StatusCode::NO_CONTENT,
            &[
                ("access-control-allow-origin", "*"),
                ("access-control-allow-methods", self.allow_methods),
                ("access-control-allow-headers", self.allow_headers),
                ("access-control-expose-headers", self.expose_headers),
                ("access-control-max-age", "86400"),
            ],
            Vec::new(),
        )
    }
}

/// True for a CORS preflight.
pub fn is_preflight(request: &Request) -> bool {
    request.method() == Method::OPTIONS
}

/// `405 Method Not Allowed` with the `Allow` header.
pub fn method_not_allowed(allow: &str) -> Response {
    response(
        StatusCode::METHOD_NOT_ALLOWED,
        &[("allow", allow), ("content-type", "text/plain; charset=utf-8")],
        "method not allowed",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(url: &str) -> Request {
        http::Request::builder().uri(url).body(Vec::new()).unwrap()
    }

    /// `request` as it arrives over a connection from `peer` (`ip:port`).
    fn from_peer(url: &str, peer: &str) -> Request {
        let mut req = request(url);
        req.extensions_mut().insert(ClientAddr(peer.parse().unwrap()));
        req
    }

    fn local(url: &str) -> Request {
        from_peer(url, "127.0.0.1:50000")
    }

    /// The base URL of `request` with the operator's `public_base_url` at `configured`.
    fn base_url_with(request: &Request, configured: Option<&str>) -> Result<BaseUrl, PublicBaseUrlRequired> {
        let mut request = request.clone();
        if let Some(configured) = configured {
            request.extensions_mut().insert(PublicBaseUrl(configured.to_owned()));
        }
        base_url(&request)
    }

    #[test]
    fn base_url_prefers_configured_value_without_trailing_slash() {
        let req = local("http://127.0.0.1:3000/mcp");
        let configured = BaseUrl { url: "https://mcp.example.com".into(), configured: true };
        assert_eq!(base_url_with(&req, Some("https://mcp.example.com/")), Ok(configured.clone()));
        assert_eq!(base_url_with(&request("http://evil.example/mcp"), Some("https://mcp.example.com")), Ok(configured));
        let derived = BaseUrl { url: "http://127.0.0.1:3000".into(), configured: false };
        assert_eq!(base_url_with(&req, Some("")), Ok(derived.clone()));
        assert_eq!(base_url_with(&req, None), Ok(derived));
    }

    #[test]
    fn base_url_without_absolute_uri_uses_host_header() {
        let mut req = http::Request::builder().uri("/mcp").header("host", "localhost:8080").body(Vec::new()).unwrap();
        req.extensions_mut().insert(ClientAddr("[::1]:4000".parse().unwrap()));
        assert_eq!(base_url_with(&req, None).map(|b| b.url).as_deref(), Ok("http://localhost:8080"));
        assert_eq!(base_url_with(&local("/mcp"), None).map(|b| b.url).as_deref(), Ok("http://localhost"));
    }

    #[test]
    fn without_public_base_url_only_a_loopback_origin_is_taken_from_the_request() {
        for url in ["http://[::1]:3000/mcp", "http://127.0.0.5/mcp", "http://LOCALHOST:1/mcp"] {
            assert!(base_url_with(&local(url), None).is_ok(), "{url}");
        }
        for url in ["http://evil.example:3223/mcp", "http://localhost.evil.example/mcp", "http://10.0.0.1/mcp"] {
            assert_eq!(base_url_with(&local(url), None), Err(PublicBaseUrlRequired), "{url}");
        }
        let mut host = http::Request::builder().uri("/mcp").header("host", "evil.example").body(Vec::new()).unwrap();
        host.extensions_mut().insert(ClientAddr("127.0.0.1:1".parse().unwrap()));
        assert_eq!(
            base_url_with(&host, None),
            Err(PublicBaseUrlRequired),
            "DNS rebinding: loopback peer, foreign Host"
        );
    }

    #[test]
    fn without_public_base_url_a_loopback_host_from_a_remote_peer_is_refused() {
        for peer in ["192.0.2.7:5555", "10.0.0.2:1", "[2001:db8::1]:443", "[::ffff:192.0.2.7]:1"] {
            for url in ["http://localhost:3000/mcp", "http://127.0.0.1:3000/mcp", "http://[::1]/mcp"] {
                assert_eq!(base_url_with(&from_peer(url, peer), None), Err(PublicBaseUrlRequired), "{peer} {url}");
            }
        }
        assert_eq!(base_url_with(&request("http://localhost/mcp"), None), Err(PublicBaseUrlRequired), "peer unknown");
    }

    #[test]
    fn loopback_connections_are_decided_by_the_peer_and_a_trusted_proxy_s_report() {
        for peer in ["127.0.0.1:1", "127.8.0.1:2", "[::1]:3", "[::ffff:127.0.0.1]:4"] {
            assert!(came_over_loopback(&from_peer("/x", peer)), "{peer}");
        }
        for peer in ["192.0.2.7:5555", "[::2]:1", "0.0.0.0:1"] {
            assert!(!came_over_loopback(&from_peer("/x", peer)), "{peer}");
        }
        assert!(!came_over_loopback(&request("/x")), "the host did not say");
        let mut proxied = local("/x");
        proxied.extensions_mut().insert(ForwardedClient("198.51.100.1".parse().unwrap()));
        assert!(!came_over_loopback(&proxied), "a local proxy relaying a remote client");
        let mut relayed = local("/x");
        relayed.extensions_mut().insert(ForwardedClient("127.0.0.1".parse().unwrap()));
        assert!(came_over_loopback(&relayed));
        let mut forged = from_peer("/x", "192.0.2.7:1");
        forged.extensions_mut().insert(ForwardedClient("127.0.0.1".parse().unwrap()));
        assert!(!came_over_loopback(&forged), "a header cannot make a remote connection local");
    }

    #[test]
    fn query_pairs_are_decoded_in_order() {
        let req = request("http://h/authorize?client_id=a%20b&state=x");
        assert_eq!(query_pairs(&req), vec![("client_id".into(), "a b".into()), ("state".into(), "x".into())]);
    }

    #[test]
    fn single_value_is_absent_present_or_repeated() {
        let pairs = decode_pairs(b"a=1&b=2&b=3&c=");
        assert_eq!(single_value(&pairs, "a"), Ok(Some("1")));
        assert_eq!(single_value(&pairs, "c"), Ok(Some("")));
        assert_eq!(single_value(&pairs, "z"), Ok(None));
        assert_eq!(single_value(&pairs, "b"), Err(Repeated));
        assert_eq!(first_value(&pairs, "b"), Some("2"));
        assert_eq!(first_value(&pairs, "z"), None);
    }

    #[test]
    fn client_addr_comes_from_the_host_extension() {
        let mut req = request("/mcp");
        assert_eq!(client_addr(&req), None);
        let addr: SocketAddr = "192.0.2.7:5555".parse().unwrap();
        req.extensions_mut().insert(ClientAddr(addr));
        assert_eq!(client_addr(&req), Some(addr));
    }

    fn from_proxy(lines: &[&str]) -> Request {
        let mut builder = http::Request::builder().uri("/register");
        for line in lines {
            builder = builder.header("x-forwarded-for", *line);
        }
        let mut req = builder.body(Vec::new()).unwrap();
        req.extensions_mut().insert(ClientAddr("10.0.0.2:40000".parse().unwrap()));
        req
    }

    #[test]
    fn the_client_address_is_the_connection_s_unless_a_header_is_trusted() {
        let req = from_proxy(&["198.51.100.1"]);
        assert_eq!(client_ip(&req), Some("10.0.0.2".parse().unwrap()), "the header is ignored by default");
        let mut req = from_proxy(&["198.51.100.1"]);
        use_client_addr_header(&mut req, "X-Forwarded-For");
        assert_eq!(client_ip(&req), Some("198.51.100.1".parse().unwrap()));
    }

    #[test]
    fn the_trusted_entry_is_the_last_one_the_proxy_appended() {
        for (lines, expected) in [
            (&["203.0.113.9, 198.51.100.1"][..], "198.51.100.1"),
            (&["203.0.113.9", "198.51.100.2"][..], "198.51.100.2"),
            (&["spoofed, 198.51.100.3:5555"][..], "198.51.100.3"),
            (&["[2001:db8::7]:443"][..], "2001:db8::7"),
            (&["2001:db8::8"][..], "2001:db8::8"),
            (&["[2001:db8::9]"][..], "2001:db8::9"),
        ] {
            let mut req = from_proxy(lines);
            use_client_addr_header(&mut req, "x-forwarded-for");
            assert_eq!(client_ip(&req), Some(expected.parse().unwrap()), "{lines:?}");
        }
    }

    #[test]
    fn a_missing_or_broken_trusted_header_leaves_the_connection_address() {
        for lines in [&[][..], &["unknown"][..], &["198.51.100.1, "][..], &["_hidden"][..]] {
            let mut req = from_proxy(lines);
            use_client_addr_header(&mut req, "x-forwarded-for");
            assert_eq!(client_ip(&req), Some("10.0.0.2".parse().unwrap()), "{lines:?}");
        }
        assert_eq!(client_ip(&request("/x")), None, "the host did not say");
    }

    #[test]
    fn origin_of_keeps_scheme_host_and_explicit_port_only() {
        assert_eq!(origin_of("HTTPS://MCP.Example:8443/mcp?x#y").as_deref(), Some("https://mcp.example:8443"));
        assert_eq!(origin_of("https://user:pw@mcp.example:443/").as_deref(), Some("https://mcp.example"));
        assert_eq!(origin_of("http://[::1]:3000/cb").as_deref(), Some("http://[::1]:3000"));
        assert_eq!(
            origin_of("cursor://Anysphere.cursor-retrieval/cb").as_deref(),
            Some("cursor://anysphere.cursor-retrieval")
        );
        for none in ["com.example.app:/cb", "/relative", "null", "https://"] {
            assert_eq!(origin_of(none), None, "{none}");
        }
        assert_eq!(authority_of("https://MCP.example:8443/x").as_deref(), Some("mcp.example:8443"));
    }

    #[test]
    fn loopback_hosts_are_localhost_127_slash_8_and_ipv6_loopback_only() {
        for yes in [
            "http://localhost:3000/",
            "http://LOCALHOST",
            "http://127.0.0.1:1/",
            "http://127.9.9.9/",
            "http://[::1]:8/",
        ] {
            assert!(is_loopback_url(yes), "{yes}");
        }
        for no in [
            "http://127.0.0.1.evil.example/",
            "http://localhost.evil.example/",
            "http://10.0.0.1/",
            "http://[::2]/",
            "http://0.0.0.0/",
            "not a url",
            "com.example.app:/cb",
        ] {
            assert!(!is_loopback_url(no), "{no}");
        }
    }

    #[test]
    fn plain_base_urls_are_decided_without_the_parser_and_as_the_parser_decides() {
        let parsed = |url: &str| {
            url::Url::parse(url).ok().is_some_and(|url| url.host().is_some_and(|host| is_loopback_host(&host)))
        };
        for url in [
            "http://localhost",
            "http://LocalHost:3000",
            "https://127.0.0.1:443",
            "http://127.255.0.1",
            "http://[::1]",
            "http://[::1]:8080",
            "http://10.0.0.1:80",
            "http://[::2]:1",
            "http://0.0.0.0",
        ] {
            assert_eq!(plain_loopback(url), Some(parsed(url)), "{url}");
        }
        for url in [
            "http://localhost:",
            "http://localhost:99999",
            "http://localhost:8a",
            "http://localhost:+80",
            "http://127.0.0.1:-1",
            "http://127.1",
            "http://127.000.0.1",
            "http://user@localhost",
            "http://localhost.",
            "http://localhost/path",
            "http://[::1",
            "http://evil.example",
            "ftp://localhost",
            "HTTP://localhost",
        ] {
            assert_eq!(plain_loopback(url), None, "{url} goes to the parser");
            assert_eq!(is_loopback_url(url), parsed(url), "{url}");
        }
    }

    #[test]
    fn cookie_finds_named_value_among_several() {
        let req = http::Request::builder().header("cookie", "a=1; __Host-b=two").body(Vec::new()).unwrap();
        assert_eq!(cookie(&req, "__Host-b").as_deref(), Some("two"));
        assert_eq!(cookie(&req, "c"), None);
        let req = http::Request::builder()
            .header("cookie", "broken; a=\"quoted\";; b=1")
            .header("cookie", "c=3")
            .body(Vec::new())
            .unwrap();
        assert_eq!((cookie(&req, "a").as_deref(), cookie(&req, "c").as_deref()), (Some("quoted"), Some("3")));
        assert_eq!(cookie(&req, "broken"), None, "a pair without a value");
    }

    #[test]
    fn invalid_header_values_are_dropped_not_panicked_on() {
        let resp = response(StatusCode::OK, &[("x-bad", "a\nb")], Vec::new());
        assert!(resp.headers().get("x-bad").is_none());
    }
}
