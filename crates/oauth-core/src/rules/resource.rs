//! The resource indicator (RFC 8707) and the MCP server's canonical URI.
//!
//! This server protects exactly one resource, the MCP server, whose canonical URI is
//! `<base>/mcp` (no trailing slash, MCP authorization §"Canonical Server URI"). A client's
//! `resource` is compared after canonicalisation (lower-case scheme and host, default port
//! dropped, trailing slash dropped, no fragment). Two other spellings name the same resource:
//! - `<base>` and `<base>/`: older clients send the origin itself;
//! - `<base>/sse`: clients of the legacy HTTP+SSE transport connect to `/sse`, and the official
//!   SDKs refuse a protected-resource document whose `resource` is not a prefix of the URL they
//!   connect to (RFC 9728 §3.3), so `/.well-known/oauth-protected-resource/sse` advertises
//!   `<base>/sse` and tokens requested for it are bound to the canonical `<base>/mcp`.

use url::Url;

/// The canonical MCP resource for a base URL: `<base>/mcp`.
pub fn mcp_resource(base_url: &str) -> String {
    format!("{}/mcp", base_url.trim_end_matches('/'))
}

/// The resource URI of the legacy HTTP+SSE endpoint: `<base>/sse` (an alias of [`mcp_resource`]).
pub fn sse_resource(base_url: &str) -> String {
    format!("{}/sse", base_url.trim_end_matches('/'))
}

/// Every spelling that names our MCP resource, canonicalised.
fn accepted_forms(base_url: &str) -> impl Iterator<Item = String> {
    [mcp_resource(base_url), sse_resource(base_url), base_url.to_owned()].into_iter().filter_map(|u| canonical(&u))
}

/// The canonical form of an absolute URI, or `None` if it is not one or has a fragment.
pub fn canonical(uri: &str) -> Option<String> {
    if uri.contains('#') {
        return None;
    }
    let url = Url::parse(uri).ok()?;
    let host = url.host_str()?;
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let path = url.path().trim_end_matches('/');
    let query = url.query().map(|q| format!("?{q}")).unwrap_or_default();
    Some(format!("{}://{host}{port}{path}{query}", url.scheme()))
}

/// The resource a request may name: `Some(<base>/mcp)` when `requested` is one of our MCP
/// resource's spellings, `None` otherwise (→ `invalid_target`).
pub fn resolve(requested: &str, base_url: &str) -> Option<String> {
    let requested = canonical(requested)?;
    accepted_forms(base_url).any(|a| a == requested).then(|| mcp_resource(base_url))
}

/// Whether two resource URIs name the same resource. Every access token's check lands here,
/// nearly always with the very string the server issued, so that case parses one URI, not two.
pub fn same(a: &str, b: &str) -> bool {
    if a == b {
        return canonical(a).is_some();
    }
    matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "https://mcp.example.com";

    #[test]
    fn mcp_resource_has_no_trailing_slash() {
        assert_eq!(mcp_resource("https://mcp.example.com/"), "https://mcp.example.com/mcp");
    }

    #[test]
    fn canonical_forms_of_our_resource_are_accepted() {
        for requested in [
            "https://mcp.example.com/mcp",
            "https://mcp.example.com/mcp/",
            "HTTPS://MCP.Example.com/mcp",
            "https://mcp.example.com:443/mcp",
            "https://mcp.example.com",
            "https://mcp.example.com/",
            "https://mcp.example.com/sse",
        ] {
            assert_eq!(resolve(requested, BASE).as_deref(), Some("https://mcp.example.com/mcp"), "{requested}");
        }
    }

    #[test]
    fn foreign_resources_are_refused() {
        for requested in [
            "https://other.example.com/mcp",
            "https://mcp.example.com/other",
            "https://mcp.example.com/MCP",
            "https://mcp.example.com/sse/message",
            "http://mcp.example.com/mcp",
            "https://mcp.example.com:8443/mcp",
            "https://mcp.example.com/mcp#frag",
            "mcp",
            "",
        ] {
            assert_eq!(resolve(requested, BASE), None, "{requested}");
        }
    }

    #[test]
    fn same_compares_canonical_forms() {
        assert!(same("http://127.0.0.1:3000/mcp", "http://127.0.0.1:3000/mcp/"));
        assert!(!same("http://127.0.0.1:3000/mcp", "http://127.0.0.1:3001/mcp"));
        assert!(!same("garbage", "garbage"));
    }
}

/// Whether a token request's `resource` names `bound` (a grant's `<base>/mcp`), accepting the
/// same forms as [`resolve`].
pub fn names(requested: &str, bound: &str) -> bool {
    match bound.strip_suffix("/mcp") {
        Some(base) => resolve(requested, base).is_some_and(|ours| same(&ours, bound)),
        None => same(requested, bound),
    }
}

#[cfg(test)]
mod names_tests {
    use super::*;

    #[test]
    fn token_request_resource_may_use_any_accepted_form() {
        let bound = "https://mcp.example.com/mcp";
        assert!(names("https://mcp.example.com/mcp/", bound));
        assert!(names("https://mcp.example.com/", bound));
        assert!(names("https://mcp.example.com/sse", bound));
        assert!(!names("https://other.example.com/mcp", bound));
    }
}
