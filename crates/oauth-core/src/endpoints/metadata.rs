//! The discovery documents: RFC 8414 (authorization server) and RFC 9728 (protected resource).

use http::StatusCode;
use platform::web::{self, BaseUrl, Response};
use serde_json::json;

use crate::rules::resource::sse_resource;
use crate::rules::{resource::mcp_resource, scope};

const AUTH_METHODS: &[&str] = &["none", "client_secret_basic", "client_secret_post"];

/// A discovery document about `base`: cacheable by anyone when `base` is configured; when it
/// was taken from the request's `Host`, only by the caller, so that no shared cache hands
/// another caller's `Host` to everyone.
fn document(base: &BaseUrl, body: &serde_json::Value) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    let cache = if base.configured { "public, max-age=300" } else { "private, no-cache" };
    web::response(StatusCode::OK, &[("content-type", "application/json"), ("cache-control", cache)], bytes)
}

/// `GET /.well-known/oauth-authorization-server`. `client_id_metadata_documents`: whether
/// clients may use a metadata document URL as `client_id` here (`crate::cimd::CimdSettings::advertised`).
pub(super) fn authorization_server(base_url: &BaseUrl, client_id_metadata_documents: bool) -> Response {
    let base = &base_url.url;
    let mut metadata = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/authorize"),
        "token_endpoint": format!("{base}/token"),
        "registration_endpoint": format!("{base}/register"),
        "revocation_endpoint": format!("{base}/revoke"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": AUTH_METHODS,
        "revocation_endpoint_auth_methods_supported": AUTH_METHODS,
        "scopes_supported": scope::supported(),
        "authorization_response_iss_parameter_supported": true,
        "protected_resources": [mcp_resource(base)],
    });
    if client_id_metadata_documents {
        metadata["client_id_metadata_document_supported"] = json!(true);
    }
    document(base_url, &metadata)
}

/// Which MCP endpoint a protected-resource document describes (RFC 9728 path-suffixed form).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum McpEndpoint {
    /// `/.well-known/oauth-protected-resource` and `.../mcp`: the canonical `<base>/mcp`.
    StreamableHttp,
    /// `.../sse`: the legacy transport's `<base>/sse`, an alias of the same resource.
    LegacySse,
}

/// `GET /.well-known/oauth-protected-resource[/mcp|/sse]`.
pub(super) fn protected_resource(base_url: &BaseUrl, endpoint: McpEndpoint) -> Response {
    let base = &base_url.url;
    let resource = match endpoint {
        McpEndpoint::StreamableHttp => mcp_resource(base),
        McpEndpoint::LegacySse => sse_resource(base),
    };
    document(
        base_url,
        &json!({
            "resource": resource,
            "authorization_servers": [base],
            "scopes_supported": scope::supported(),
            "bearer_methods_supported": ["header"],
            "resource_name": "MCP server (Clerk sign-in)",
        }),
    )
}
