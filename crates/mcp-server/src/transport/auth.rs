//! Bearer authentication for every MCP request: one key-value read through oauth-core.

use headers::HeaderMapExt;
use headers::authorization::{Authorization, Bearer};
use http::StatusCode;
use oauth_core::{AccessTokenRecord, TokenError};
use platform::web::{self, Request, Response};
use platform::{Clock, KeyValueStore};

/// The scope our authorization server grants for using this MCP server.
pub const SCOPE: &str = "mcp";

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
        Ok(record) if record.has_scope(SCOPE) => Ok(record),
        Ok(_) => Err(Box::new(insufficient_scope(&metadata))),
        Err(TokenError::Store(error)) => Err(Box::new(super::store_unavailable(&error))),
        Err(error) => Err(Box::new(challenge(&metadata, Some(&error.to_string())))),
    }
}

/// The token from `Authorization: Bearer <token>` (scheme case-insensitive).
pub(crate) fn bearer_token(request: &Request) -> Option<String> {
    let bearer = request.headers().typed_get::<Authorization<Bearer>>()?;
    Some(bearer.token().trim()).filter(|token| !token.is_empty()).map(str::to_owned)
}

/// 401 telling the client where to get a token (MCP authorization, RFC 9728 §5.1); names the
/// problem with `error="invalid_token"` when a token was sent (RFC 6750 §3.1).
fn challenge(metadata_url: &str, problem: Option<&str>) -> Response {
    let mut value = format!(r#"Bearer resource_metadata="{metadata_url}", scope="{SCOPE}""#);
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

fn insufficient_scope(metadata_url: &str) -> Response {
    let value = format!(r#"Bearer resource_metadata="{metadata_url}", scope="{SCOPE}", error="insufficient_scope""#);
    let body =
        serde_json::json!({ "error": "insufficient_scope", "error_description": "the token lacks the mcp scope" });
    let mut response = web::json(StatusCode::FORBIDDEN, &body);
    web::append_header(&mut response, "www-authenticate", &value);
    response
}
