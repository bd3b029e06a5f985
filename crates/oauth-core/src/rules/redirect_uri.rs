//! Redirect URI rules (OAuth 2.1 §2.3.1 and §7.5, RFC 8252 for native apps).
//!
//! Accepted at registration:
//! - `https` URIs with a host;
//! - `http` only on a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`), for native apps
//!   listening on an ephemeral port (RFC 8252 §7.3);
//! - private-use schemes of native apps (RFC 8252 §7.1, e.g. `cursor://...`,
//!   `com.example.app:/cb`). DESIGN §6 lists only https and loopback; we also accept these
//!   because desktop MCP clients (Cursor) register them, and PKCE protects the code. Schemes a
//!   browser would execute or that are not redirects (`javascript`, `data`, `file`, ...) are
//!   refused.
//!
//! Never: fragments, user info, control characters or whitespace, relative URIs.
//!
//! Matching at `/authorize` is exact string comparison, except for loopback `http` URIs, where
//! the port may differ (RFC 8252 §7.3).

use url::{Host, Url};

/// Longest redirect URI accepted.
pub const MAX_LEN: usize = 2000;

/// Schemes that are never redirect targets.
const REFUSED_SCHEMES: &[&str] = &[
    "javascript",
    "data",
    "vbscript",
    "file",
    "blob",
    "about",
    "mailto",
    "tel",
    "sms",
    "ftp",
    "ws",
    "wss",
    "view-source",
    "filesystem",
    "chrome",
    "chrome-extension",
    "intent",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    #[error("redirect URI is too long")]
    TooLong,
    #[error("redirect URI contains whitespace or control characters")]
    BadCharacters,
    #[error("redirect URI is not an absolute URI")]
    NotAbsolute,
    #[error("redirect URI must not contain a fragment")]
    Fragment,
    #[error("redirect URI must not contain user information")]
    UserInfo,
    #[error("redirect URI scheme `{0}` is not allowed")]
    RefusedScheme(String),
    #[error("http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    HttpNotLoopback,
    #[error("https redirect URI has no host")]
    MissingHost,
}

/// Checks a redirect URI a client wants to register.
pub fn validate(uri: &str) -> Result<(), RedirectUriError> {
    if uri.len() > MAX_LEN {
        return Err(RedirectUriError::TooLong);
    }
    if uri.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(RedirectUriError::BadCharacters);
    }
    let url = Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if url.cannot_be_a_base() && url.scheme() != "https" {
        // `javascript:alert(1)`, `data:text/html,...`, `urn:...`: not a redirect target.
        return Err(RedirectUriError::RefusedScheme(url.scheme().to_owned()));
    }
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(RedirectUriError::UserInfo);
    }
    match url.scheme() {
        "https" if url.host().is_none() => Err(RedirectUriError::MissingHost),
        "https" => Ok(()),
        "http" if is_loopback_host(&url) => Ok(()),
        "http" => Err(RedirectUriError::HttpNotLoopback),
        scheme if REFUSED_SCHEMES.contains(&scheme) => Err(RedirectUriError::RefusedScheme(scheme.to_owned())),
        _ => Ok(()),
    }
}

fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(domain)) => domain.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// True for an `http` loopback URI (the consent page warns about these).
pub fn is_loopback(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && is_loopback_host(&url))
}

/// The host to show on the consent page (or the scheme for private-use URIs without a host).
pub fn display_host(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) => url.host_str().map(str::to_owned).unwrap_or_else(|| format!("{}:", url.scheme())),
        Err(_) => String::new(),
    }
}

/// Whether `requested` is one of `registered`: exact match, or, for loopback `http`, a match
/// that ignores the port.
pub fn matches_registered(registered: &[String], requested: &str) -> bool {
    registered.iter().any(|candidate| candidate == requested || same_except_loopback_port(candidate, requested))
}

fn same_except_loopback_port(registered: &str, requested: &str) -> bool {
    let (Ok(a), Ok(b)) = (Url::parse(registered), Url::parse(requested)) else {
        return false;
    };
    if requested.contains('#') || !is_loopback(registered) || !is_loopback(requested) {
        return false;
    }
    a.host() == b.host()
        && a.path() == b.path()
        && a.query() == b.query()
        && b.username().is_empty()
        && b.password().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn https_and_loopback_http_are_accepted() {
        for uri in [
            "https://client.example.com/cb",
            "https://client.example.com/cb?x=1",
            "http://127.0.0.1:33418/callback",
            "http://[::1]/cb",
            "http://localhost:6274/oauth/callback",
        ] {
            assert_eq!(validate(uri), Ok(()), "{uri}");
        }
    }

    #[test]
    fn private_use_schemes_for_native_apps_are_accepted() {
        assert_eq!(validate("cursor://anysphere.cursor-retrieval/oauth/callback"), Ok(()));
        assert_eq!(validate("com.example.app:/oauth2redirect"), Ok(()));
    }

    #[test]
    fn dangerous_schemes_are_refused() {
        for uri in ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "vbscript:x", "ws://localhost/cb"]
        {
            assert!(matches!(validate(uri), Err(RedirectUriError::RefusedScheme(_))), "{uri}");
        }
    }

    #[test]
    fn http_on_a_public_host_is_refused() {
        assert_eq!(validate("http://client.example.com/cb"), Err(RedirectUriError::HttpNotLoopback));
        assert_eq!(validate("http://127.0.0.1.evil.com/cb"), Err(RedirectUriError::HttpNotLoopback));
    }

    #[test]
    fn fragments_userinfo_relative_and_control_characters_are_refused() {
        assert_eq!(validate("https://a.example/cb#x"), Err(RedirectUriError::Fragment));
        assert_eq!(validate("https://a.example/cb#"), Err(RedirectUriError::Fragment));
        assert_eq!(validate("https://user:pw@a.example/cb"), Err(RedirectUriError::UserInfo));
        assert_eq!(validate("/cb"), Err(RedirectUriError::NotAbsolute));
        assert_eq!(validate("https://a.example/c b"), Err(RedirectUriError::BadCharacters));
        assert_eq!(validate("https://a.example/\ncb"), Err(RedirectUriError::BadCharacters));
        assert_eq!(validate(&format!("https://a.example/{}", "x".repeat(MAX_LEN))), Err(RedirectUriError::TooLong));
    }

    #[test]
    fn matching_is_exact_for_https() {
        let registered = vec!["https://a.example/cb".to_owned()];
        assert!(matches_registered(&registered, "https://a.example/cb"));
        assert!(!matches_registered(&registered, "https://a.example/cb/"));
        assert!(!matches_registered(&registered, "https://A.example/cb"));
        assert!(!matches_registered(&registered, "https://a.example/cb?x=1"));
        assert!(!matches_registered(&registered, "https://a.example:444/cb"));
    }

    #[test]
    fn loopback_matching_ignores_only_the_port() {
        let registered = vec!["http://127.0.0.1:1234/cb".to_owned()];
        assert!(matches_registered(&registered, "http://127.0.0.1:5678/cb"));
        assert!(matches_registered(&registered, "http://127.0.0.1/cb"));
        assert!(!matches_registered(&registered, "http://127.0.0.1:5678/other"));
        assert!(!matches_registered(&registered, "http://localhost:5678/cb"));
        assert!(!matches_registered(&registered, "http://127.0.0.1:5678/cb#f"));
        assert!(!matches_registered(&registered, "https://127.0.0.1:5678/cb"));
    }

    #[test]
    fn display_host_and_loopback_flag() {
        assert_eq!(display_host("https://a.example/cb"), "a.example");
        assert_eq!(display_host("com.example.app:/cb"), "com.example.app:");
        assert!(is_loopback("http://localhost:1/cb"));
        assert!(!is_loopback("https://localhost:1/cb"));
    }
}
