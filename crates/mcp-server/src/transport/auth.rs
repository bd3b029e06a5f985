//! Bearer authentication for every MCP request: one key-value read through oauth-core. Any
//! valid token for this resource may use the MCP endpoints; what each tool call needs beyond
//! that (its scope) is checked per call, and a missing scope gets the step-up challenge
//! ([`insufficient_scope`]).

use headers::HeaderMapExt;
use headers::authorization::{Authorization, Bearer};
use http::StatusCode;
use oauth_core::rules::scope;
use oauth_core::{AccessTokenRecord, TokenError};
use platform::web::{self, Request, Response};
use platform::{Clock, KeyValueStore};

/// The endpoint a request came to: each has its own protected-resource document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transport {
    /// `/mcp`: the document for the canonical resource `<base>/mcp`.
    StreamableHttp,
    /// `/sse`, `/sse/message`: the document for `<base>/sse`, an alias of the same resource. SDK
    /// clients refuse a document whose `resource` is not a prefix of the URL they connect to.
    LegacySse,
}

/// The protected-resource metadata URL for `base_url` (RFC 9728, path-suffixed form).
pub fn resource_metadata_url(base_url: &str, transport: Transport) -> String {
    let suffix = match transport {
        Transport::StreamableHttp => "mcp",
        Transport::LegacySse => "sse",
    };
    format!("{base_url}/.well-known/oauth-protected-resource/{suffix}")
}

/// The caller's access-token record, or the 401/403/503 to send instead (boxed: it is large).
pub fn authenticate(
    request: &Request,
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    base_url: &str,
    transport: Transport,
) -> Result<AccessTokenRecord, Box<Response>> {
    let metadata = resource_metadata_url(base_url, transport);
    let Some(token) = bearer_token(request) else {
        return Err(Box::new(challenge(&metadata, None)));
    };
    let resource = oauth_core::mcp_resource(base_url);
    match oauth_core::verify_access_token(store, clock, &token, &resource) {
        Ok(record) => Ok(record),
        Err(TokenError::Store(error)) => Err(Box::new(super::store_unavailable(&error))),
        Err(error) => Err(Box::new(challenge(&metadata, Some(&error.to_string())))),
    }
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer_token(request: &Request) -> Option<String> {
    let bearer = request.headers().typed_get::<Authorization<Bearer>>()?;
    Some(bearer.token().trim()).filter(|token| !token.is_empty()).map(str::to_owned)
}

/// The `scope` of the 401 challenge: every scope in `scopes_supported`. MCP clients request
/// exactly the scope a 401 names (2025-11-25, scope selection); naming them all asks for
/// everything the user's role allows, as the single `mcp` scope did before, so clients that know
/// nothing of per-tool scopes see no change. A client that wants less asks for less.
pub fn challenge_scope() -> String {
    scope::supported().join(" ")
}

/// 401 telling the client where to get a token (MCP authorization, RFC 9728 §5.1); names the
/// problem with `error="invalid_token"` when a token was sent (RFC 6750 §3.1).
fn challenge(metadata_url: &str, problem: Option<&str>) -> Response {
    let mut value = format!(r#"Bearer resource_metadata="{metadata_url}", scope="{}""#, challenge_scope());
    let body = match problem {
        Some(description) => {
            value.push_str(&format!(r#", error="invalid_token", error_description="{description}""#));
            serde_json::json!({ "error": "invalid_token", "error_description": description })
        }
        None => serde_json::json!({ "error": "unauthorized", "error_description": "a bearer token is required" }),
    };
    let mut response = web::json(StatusCode::UNAUTHORIZED, &body);
    web::append_header(&mut response, "www-authenticate", &value);
    response
}

/// 403 for a call of `tool` whose scope the token lacks (RFC 6750 §3.1, MCP step-up
/// authorization): `scope` names every scope the call needs, the token's and the missing one, so
/// a client that authorizes again with it keeps what it had.
pub fn insufficient_scope(metadata_url: &str, tool: &str, scope: &str) -> Response {
    let description = format!("calling `{tool}` needs the scopes `{scope}`; authorize again with them");
    let value = format!(
        r#"Bearer error="insufficient_scope", scope="{scope}", resource_metadata="{metadata_url}", error_description="{description}""#
    );
    let body = serde_json::json!({ "error": "insufficient_scope", "error_description": description, "scope": scope });
    let mut response = web::json(StatusCode::FORBIDDEN, &body);
    web::append_header(&mut response, "www-authenticate", &value);
    response
}
