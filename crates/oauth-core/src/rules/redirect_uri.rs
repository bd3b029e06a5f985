//! Redirect URI rules (OAuth 2.1 §2.3.1 and §7.5, RFC 8252 for native apps).
//!
//! Accepted at registration, and checked again at `/authorize` (a client registered under an
//! older or laxer policy gets a 400 page there, never a redirect):
//! - `https` URIs with a host;
//! - `http` only on a loopback host (`127.0.0.0/8`, `[::1]`, `localhost`), for native apps
//!   listening on an ephemeral port (RFC 8252 §7.3);
//! - private-use schemes of native apps (RFC 8252 §7.1), from an allow-list, never a block-list
//!   ([`RedirectPolicy`]): reverse-domain-name schemes (`com.example.app:/cb`, which the RFC
//!   asks native apps to use), plus the schemes of known MCP clients the operator lists in
//!   `native_redirect_schemes` (`cursor://anysphere.cursor-mcp/oauth/callback`). Anything
//!   else (`ms-msdt:`, `javascript:`, `data:`, `file:`, ...) is refused, since the operating
//!   system hands such a URI to whatever program claims the scheme.
//!
//! Never: fragments, user info, control characters or whitespace, relative URIs.
//!
//! Matching at `/authorize` is exact string comparison, except for loopback `http` URIs, where
//! the port may differ (RFC 8252 §7.3).

use platform::{VariableError, Variables};
use url::Url;

/// Longest redirect URI accepted, in bytes (real clients' are under 100).
pub const MAX_LEN: usize = 512;

/// The Spin variable listing the private-use schemes of known native clients (comma separated).
pub const SCHEMES_VARIABLE: &str = "native_redirect_schemes";

/// Schemes that are never redirect targets, whatever `native_redirect_schemes` says.
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
    "http",
    "https",
];

/// Which private-use schemes (RFC 8252 §7.1) redirect URIs may use.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RedirectPolicy {
    /// Lower-case schemes of known native clients, beyond reverse-domain-name ones.
    known_schemes: Vec<String>,
}

impl RedirectPolicy {
    /// A policy allowing `schemes` (case-insensitive) besides reverse-domain-name schemes.
    pub fn with_schemes<'a>(schemes: impl IntoIterator<Item = &'a str>) -> Result<Self, String> {
        let mut known_schemes = Vec::new();
        for scheme in schemes.into_iter().map(str::trim).filter(|s| !s.is_empty()) {
            let scheme = scheme.to_ascii_lowercase();
            if !is_scheme_syntax(&scheme) {
                return Err(format!("`{scheme}` is not a URI scheme"));
            }
            if REFUSED_SCHEMES.contains(&scheme.as_str()) {
                return Err(format!("`{scheme}` can never be a native app's redirect scheme"));
            }
            known_schemes.push(scheme);
        }
        Ok(Self { known_schemes })
    }

    /// The policy `native_redirect_schemes` describes (unset or empty: reverse-domain-name
    /// schemes only; spin.toml gives the default list).
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        let value = vars.get(SCHEMES_VARIABLE)?.unwrap_or_default();
        Self::with_schemes(value.split(','))
            .map_err(|reason| VariableError::Invalid { name: SCHEMES_VARIABLE.to_owned(), reason })
    }

    /// Whether a redirect URI may use the private-use `scheme` (lower case, as `Url` gives it).
    fn allows(&self, scheme: &str) -> bool {
        is_reverse_domain_name(scheme) || self.known_schemes.iter().any(|known| known == scheme)
    }
}

/// RFC 3986 §3.1: `ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )`.
fn is_scheme_syntax(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// A scheme in reverse domain-name form (RFC 8252 §7.1, e.g. `com.example.app`): two or more
/// dot-separated DNS labels, the first a top-level domain (letters only). That excludes
/// operating-system handlers such as `x-apple.systempreferences` or `ms-settings`.
fn is_reverse_domain_name(scheme: &str) -> bool {
    let labels: Vec<&str> = scheme.split('.').collect();
    let is_label = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(is_label)
        && labels[0].len() >= 2
        && labels[0].bytes().all(|b| b.is_ascii_alphabetic())
}

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
    #[error(
        "redirect URI scheme `{0}` is not allowed: native apps may use https, loopback http, a reverse-domain-name scheme (com.example.app:/callback) or a scheme listed in native_redirect_schemes"
    )]
    UnknownPrivateScheme(String),
    #[error("http redirect URIs are allowed only for loopback hosts (127.0.0.1, [::1], localhost)")]
    HttpNotLoopback,
    #[error("https redirect URI has no host")]
    MissingHost,
}

/// Checks a redirect URI a client wants to register, or one a registered client names at
/// `/authorize` (under today's `policy`).
pub fn validate(uri: &str, policy: &RedirectPolicy) -> Result<(), RedirectUriError> {
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
        scheme if policy.allows(scheme) => Ok(()),
        scheme => Err(RedirectUriError::UnknownPrivateScheme(scheme.to_owned())),
    }
}

fn is_loopback_host(url: &Url) -> bool {
    url.host().is_some_and(|host| platform::web::is_loopback_host(&host))
}

/// True for an `http` loopback URI (the consent page warns about these).
pub fn is_loopback(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| url.scheme() == "http" && is_loopback_host(&url))
}

/// Where the consent page says the user goes back to: the host of an http(s) URI; for a
/// private-use URI the scheme, which names the app the operating system hands it to, with its
/// host if it has one (`cursor://anysphere.cursor-mcp`, `com.example.app:`).
pub fn display_host(uri: &str) -> String {
    match Url::parse(uri) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => url.host_str().unwrap_or_default().to_owned(),
        Ok(url) => match url.host_str().filter(|h| !h.is_empty()) {
            Some(host) => format!("{}://{host}", url.scheme()),
            None => format!("{}:", url.scheme()),
        },
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
            assert_eq!(validate(uri, &strict()), Ok(()), "{uri}");
        }
    }

    fn strict() -> RedirectPolicy {
        RedirectPolicy::default()
    }

    fn known() -> RedirectPolicy {
        RedirectPolicy::with_schemes(["cursor", " VSCode ", "vscode-insiders", "windsurf"]).unwrap()
    }

    #[test]
    fn reverse_domain_name_schemes_are_accepted_without_configuration() {
        for uri in ["com.example.app:/oauth2redirect", "io.github.user.app:/cb", "org.example-1.mcp://callback"] {
            assert_eq!(validate(uri, &strict()), Ok(()), "{uri}");
        }
    }

    #[test]
    fn known_client_schemes_are_accepted_only_when_listed() {
        let cursor = "cursor://anysphere.cursor-mcp/oauth/callback";
        assert_eq!(validate(cursor, &known()), Ok(()));
        assert_eq!(validate("vscode://saoudrizwan.claude-dev/cb", &known()), Ok(()));
        assert_eq!(validate(cursor, &strict()), Err(RedirectUriError::UnknownPrivateScheme("cursor".into())));
    }

    #[test]
    fn private_use_schemes_outside_the_allow_list_are_refused() {
        for uri in [
            "ms-msdt:/id%20PCWDiagnostic",
            "ms-settings:privacy",
            "x-apple.systempreferences:com.apple.preference",
            "steam://run/1",
            "zoommtg://zoom.us/join",
            "a.b:/cb",
            "com..example:/cb",
            "com.-example:/cb",
            "myapp://callback",
        ] {
            assert!(
                matches!(
                    validate(uri, &known()),
                    Err(RedirectUriError::UnknownPrivateScheme(_) | RedirectUriError::RefusedScheme(_))
                ),
                "{uri}"
            );
        }
    }

    #[test]
    fn the_allow_list_cannot_name_refused_or_malformed_schemes() {
        for bad in ["javascript", "http", "HTTPS", "file", "data", "1abc", "a b", "cur/sor"] {
            assert!(RedirectPolicy::with_schemes([bad]).is_err(), "{bad}");
        }
        assert_eq!(
            RedirectPolicy::with_schemes(["", " ", "cursor"]).unwrap(),
            RedirectPolicy::with_schemes(["cursor"]).unwrap()
        );
    }

    #[test]
    fn the_policy_comes_from_native_redirect_schemes() {
        let vars = platform::StaticVariables::new([(SCHEMES_VARIABLE, "cursor, windsurf")]);
        let policy = RedirectPolicy::from_variables(&vars).unwrap();
        assert_eq!(validate("windsurf://codeium.windsurf/cb", &policy), Ok(()));
        assert_eq!(RedirectPolicy::from_variables(&platform::StaticVariables::default()).unwrap(), strict());
        let bad = platform::StaticVariables::new([(SCHEMES_VARIABLE, "cursor,javascript")]);
        assert!(matches!(
            RedirectPolicy::from_variables(&bad),
            Err(VariableError::Invalid { name, .. }) if name == SCHEMES_VARIABLE
        ));
    }

    #[test]
    fn dangerous_schemes_are_refused() {
        for uri in ["javascript:alert(1)", "data:text/html,hi", "file:///etc/passwd", "vbscript:x", "ws://localhost/cb"]
        {
            assert!(matches!(validate(uri, &known()), Err(RedirectUriError::RefusedScheme(_))), "{uri}");
        }
    }

    #[test]
    fn http_on_a_public_host_is_refused() {
        assert_eq!(validate("http://client.example.com/cb", &known()), Err(RedirectUriError::HttpNotLoopback));
        assert_eq!(validate("http://127.0.0.1.evil.com/cb", &known()), Err(RedirectUriError::HttpNotLoopback));
    }

    #[test]
    fn fragments_userinfo_relative_and_control_characters_are_refused() {
        assert_eq!(validate("https://a.example/cb#x", &strict()), Err(RedirectUriError::Fragment));
        assert_eq!(validate("https://a.example/cb#", &strict()), Err(RedirectUriError::Fragment));
        assert_eq!(validate("https://user:pw@a.example/cb", &strict()), Err(RedirectUriError::UserInfo));
        assert_eq!(validate("/cb", &strict()), Err(RedirectUriError::NotAbsolute));
        assert_eq!(validate("https://a.example/c b", &strict()), Err(RedirectUriError::BadCharacters));
        assert_eq!(validate("https://a.example/\ncb", &strict()), Err(RedirectUriError::BadCharacters));
        assert_eq!(
            validate(&format!("https://a.example/{}", "x".repeat(MAX_LEN)), &strict()),
            Err(RedirectUriError::TooLong)
        );
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
        assert_eq!(display_host("cursor://anysphere.cursor-mcp/oauth/callback"), "cursor://anysphere.cursor-mcp");
        assert!(is_loopback("http://localhost:1/cb"));
        assert!(!is_loopback("https://localhost:1/cb"));
    }
}
