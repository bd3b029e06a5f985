//! Which `client_id`s are URLs, and which URLs may name a client metadata document
//! (draft-ietf-oauth-client-id-metadata-document §3 and its SSRF considerations).
//!
//! These checks run before anything is fetched, so a `client_id` that cannot be a document URL
//! costs no request: `https` only, a path other than `/`, no user info, no fragment, no query
//! (the draft says SHOULD NOT; refusing it also stops cache-busting variants of one URL), no
//! `.`/`..` segments, written in the normal form a URL parser gives it (so the document's
//! `client_id` can be compared by plain string equality, and one document has one spelling),
//! at most [`MAX_URL_LEN`] bytes, and a host on the public internet (no IP address outside
//! public unicast ranges, no `localhost`, no single-label or special-use name). The one
//! exception, which the draft makes too: a server that itself runs on a loopback address (a
//! developer's machine) may fetch documents from loopback. Names that *resolve* to private
//! addresses are the runtime's to refuse (`[outbound_networking] block_networks`).

use std::net::{Ipv4Addr, Ipv6Addr};

use url::{Host, Url};

/// The longest `client_id` URL accepted. The draft recommends short URLs; the consent page
/// shows it, and the cache key holds only its hash.
pub const MAX_URL_LEN: usize = 512;

/// Domain suffixes that never name a public host (RFC 6761, RFC 6762, RFC 8375, RFC 7686).
const SPECIAL_USE_SUFFIXES: &[&str] = &["localhost", "local", "internal", "home.arpa", "invalid", "test", "onion"];

/// Why a `client_id` URL cannot name a document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("is not a valid URL")]
    NotAUrl,
    #[error("is longer than {MAX_URL_LEN} bytes")]
    TooLong,
    #[error("must be an https URL")]
    NotHttps,
    #[error("must have a path (https://host/path)")]
    NoPath,
    #[error("must not contain a user name or password")]
    UserInfo,
    #[error("must not contain a fragment")]
    Fragment,
    #[error("must not contain a query")]
    Query,
    #[error("must not contain `.` or `..` path segments")]
    DotSegment,
    #[error("must be written in its normal form (lower-case scheme and host, no default port, no needless escapes)")]
    NotNormalised,
    #[error("names a host that is not on the public internet")]
    NotPublic,
}

/// True when `client_id` is meant as a URL rather than an id this server issued: issued ids are
/// base64url and never contain `:`.
pub fn is_url(client_id: &str) -> bool {
    client_id.contains(':')
}

/// A `client_id` that may name a client metadata document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentUrl {
    url: String,
    /// `host[:port]`, what the consent page shows.
    authority: String,
    loopback: bool,
}

impl DocumentUrl {
    /// Checks `client_id` against the rules of this module. `allow_loopback`: this server runs
    /// on a loopback address itself, so loopback documents are allowed (the draft's exception).
    pub fn parse(client_id: &str, allow_loopback: bool) -> Result<Self, UrlError> {
        if client_id.len() > MAX_URL_LEN {
            return Err(UrlError::TooLong);
        }
        let url = Url::parse(client_id).map_err(|_| UrlError::NotAUrl)?;
        if url.scheme() != "https" {
            return Err(UrlError::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(UrlError::UserInfo);
        }
        if client_id.contains('#') {
            return Err(UrlError::Fragment);
        }
        if client_id.contains('?') {
            return Err(UrlError::Query);
        }
        if has_dot_segment(client_id) {
            return Err(UrlError::DotSegment);
        }
        if url.path() == "/" {
            return Err(UrlError::NoPath);
        }
        if url.as_str() != client_id {
            return Err(UrlError::NotNormalised);
        }
        let host = url.host().ok_or(UrlError::NotAUrl)?;
        let loopback = is_loopback(&host);
        if !(is_public(&host) || (loopback && allow_loopback)) {
            return Err(UrlError::NotPublic);
        }
        let authority = match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_string(),
        };
        Ok(Self { url: client_id.to_owned(), authority, loopback })
    }

    pub fn as_str(&self) -> &str {
        &self.url
    }

    /// `host[:port]` of the URL: the part of a document client's identity that its fetch over
    /// https verified.
    pub fn authority(&self) -> &str {
        &self.authority
    }

    /// Whether the document lives on this machine (only allowed for a server on loopback).
    pub fn is_loopback(&self) -> bool {
        self.loopback
    }
}

/// The verified host (`host[:port]`) of a document client's `client_id`, for pages that show
/// who a client is; `None` for registered clients. Only meaningful for a `client_id` that was
/// resolved (its document fetched over https from that host).
pub fn verified_host(client_id: &str) -> Option<String> {
    if !is_url(client_id) {
        return None;
    }
    DocumentUrl::parse(client_id, true).ok().map(|url| url.authority)
}

/// A `.` or `..` segment in the path, also percent-encoded (`%2e`), which URL parsers resolve.
fn has_dot_segment(client_id: &str) -> bool {
    let after_scheme = client_id.split_once("://").map_or(client_id, |(_, rest)| rest);
    let Some((_, path)) = after_scheme.split_once('/') else {
        return false;
    };
    path.split('/').map(|segment| segment.to_ascii_lowercase().replace("%2e", ".")).any(|s| s == "." || s == "..")
}

fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => *name == "localhost" || name.ends_with(".localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A host a public document can live on: a multi-label DNS name outside the special-use
/// domains, or a public unicast address.
fn is_public(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => {
            let name = name.trim_end_matches('.');
            name.contains('.')
                && !SPECIAL_USE_SUFFIXES.iter().any(|suffix| name == *suffix || name.ends_with(&format!(".{suffix}")))
        }
        Host::Ipv4(ip) => is_public_v4(*ip),
        Host::Ipv6(ip) => is_public_v6(*ip),
    }
}

/// Not in an RFC 6890 special-purpose block (this network, private, shared, loopback,
/// link-local, protocol assignments, documentation, benchmarking, reserved, broadcast, multicast).
fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(a == 0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b))
        || (a == 169 && b == 254)
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 192 && b == 0 && c == 2)
        || (a == 192 && b == 168)
        || (a == 198 && (b == 18 || b == 19))
        || (a == 198 && b == 51 && c == 100)
        || (a == 203 && b == 0 && c == 113)
        || a >= 224)
}

/// Global unicast (`2000::/3`) outside documentation (`2001:db8::/32`) and the IETF protocol
/// assignments (`2001::/23`); an IPv4-mapped address is judged as IPv4.
fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let [first, second, ..] = ip.segments();
    (first & 0xe000) == 0x2000 && !(first == 0x2001 && (second == 0x0db8 || second < 0x0200))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(client_id: &str) -> UrlError {
        DocumentUrl::parse(client_id, false).unwrap_err()
    }

    #[test]
    fn the_urls_real_clients_use_are_accepted() {
        for url in [
            "https://claude.ai/oauth/claude-code-client-metadata",
            "https://vscode.dev/oauth/client-metadata.json",
            "https://client.example.com:8443/meta",
            "https://93.184.215.14/client.json",
        ] {
            let parsed = DocumentUrl::parse(url, false).unwrap();
            assert_eq!(parsed.as_str(), url);
        }
        assert_eq!(DocumentUrl::parse("https://claude.ai/x", false).unwrap().authority(), "claude.ai");
        assert_eq!(
            DocumentUrl::parse("https://a.example.com:8443/x", false).unwrap().authority(),
            "a.example.com:8443"
        );
    }

    #[test]
    fn each_rule_refuses_with_its_own_reason() {
        let cases = [
            ("http://client.example.com/meta", UrlError::NotHttps),
            ("ftp://client.example.com/meta", UrlError::NotHttps),
            ("https://client.example.com", UrlError::NoPath),
            ("https://client.example.com/", UrlError::NoPath),
            ("https://user:pw@client.example.com/meta", UrlError::UserInfo),
            ("https://client.example.com/meta#x", UrlError::Fragment),
            ("https://client.example.com/meta?v=1", UrlError::Query),
            ("https://client.example.com/a/../meta", UrlError::DotSegment),
            ("https://client.example.com/./meta", UrlError::DotSegment),
            ("https://client.example.com/a/%2E%2e/meta", UrlError::DotSegment),
            ("HTTPS://client.example.com/meta", UrlError::NotNormalised),
            ("https://Client.Example.com/meta", UrlError::NotNormalised),
            ("https://client.example.com:443/meta", UrlError::NotNormalised),
            ("https://client.example.com/m eta", UrlError::NotNormalised),
            ("https://bücher.example/meta", UrlError::NotNormalised),
            ("not a url", UrlError::NotAUrl),
            ("https:", UrlError::NotAUrl),
        ];
        for (url, reason) in cases {
            assert_eq!(refused(url), reason, "{url}");
        }
        assert_eq!(refused(&format!("https://a.example.com/{}", "x".repeat(MAX_URL_LEN))), UrlError::TooLong);
    }

    #[test]
    fn hosts_off_the_public_internet_are_refused_before_any_fetch() {
        for url in [
            "https://localhost/meta",
            "https://app.localhost/meta",
            "https://127.0.0.1/meta",
            "https://10.1.2.3/meta",
            "https://169.254.169.254/latest/meta-data",
            "https://192.168.1.1/meta",
            "https://172.16.0.1/meta",
            "https://100.64.0.1/meta",
            "https://0.0.0.0/meta",
            "https://[::1]/meta",
            "https://[fd00::1]/meta",
            "https://[fe80::1]/meta",
            "https://[::ffff:a00:1]/meta",
            "https://[2001:db8::1]/meta",
            "https://intranet/meta",
            "https://printer.local/meta",
            "https://db.internal/meta",
            "https://router.home.arpa/meta",
        ] {
            assert_eq!(refused(url), UrlError::NotPublic, "{url}");
        }
        assert!(is_public_v6("2606:4700::1111".parse().unwrap()));
        assert!(is_public_v4("1.1.1.1".parse().unwrap()));
    }

    #[test]
    fn loopback_documents_only_for_a_server_on_loopback() {
        for url in ["https://localhost:8443/meta", "https://127.0.0.1:8443/meta", "https://[::1]:8443/meta"] {
            let parsed = DocumentUrl::parse(url, true).unwrap();
            assert!(parsed.is_loopback(), "{url}");
        }
        assert_eq!(DocumentUrl::parse("https://10.0.0.1/meta", true), Err(UrlError::NotPublic), "loopback only");
        assert_eq!(DocumentUrl::parse("https://localhost:8443/meta", true).unwrap().authority(), "localhost:8443");
    }

    #[test]
    fn issued_ids_are_never_urls_and_have_no_verified_host() {
        assert!(!is_url("Zm9vYmFyYmF6cXV4cXV1eA"));
        assert!(is_url("https://claude.ai/oauth/claude-code-client-metadata"));
        assert_eq!(verified_host("Zm9vYmFyYmF6cXV4cXV1eA"), None);
        assert_eq!(verified_host("https://claude.ai/oauth/x").as_deref(), Some("claude.ai"));
        assert_eq!(verified_host("http://claude.ai/oauth/x"), None);
    }
}
