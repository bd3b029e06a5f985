//! Request checks shared by `/mcp` and the legacy SSE endpoints: `Origin`, `Accept`,
//! `Content-Type` and `MCP-Protocol-Version`.

use crate::protocol::version;
use http::StatusCode;
use platform::accept::Accept;
use platform::web::{self, Request, Response};

/// `Origin` is absent (not a browser), our own origin, or configured. Browsers send it on
/// cross-origin requests, so checking it stops DNS-rebinding pages from driving the server.
pub fn origin_allowed(request: &Request, base_url: &str, allowed: &[String]) -> bool {
    let Some(origin) = web::header_str(request, "origin") else {
        return request.headers().get("origin").is_none();
    };
    let origin = comparable_origin(origin);
    web::origin_of(base_url).as_deref() == Some(origin.as_str())
        || allowed.iter().any(|a| a == "*" || comparable_origin(a) == origin)
}

/// An origin as URLs compare (case, default port); text that is no URL (`null`) as it is.
fn comparable_origin(text: &str) -> String {
    let text = text.trim();
    web::origin_of(text).unwrap_or_else(|| text.to_ascii_lowercase())
}

pub fn forbidden_origin() -> Response {
    plain(StatusCode::FORBIDDEN, "Forbidden: this Origin may not use the MCP endpoint")
}

/// True when the client accepts `wanted` (`platform::accept`). A missing `Accept` means
/// "anything": the spec asks Streamable HTTP clients to list both `application/json` and
/// `text/event-stream`, but several send only the one they need.
pub fn accepts(request: &Request, wanted: &str) -> bool {
    Accept::of(request).accepts(wanted)
}

pub fn not_acceptable(wanted: &str) -> Response {
    plain(StatusCode::NOT_ACCEPTABLE, &format!("Not Acceptable: the client must accept {wanted}"))
}

/// The body is declared as JSON.
pub fn is_json(request: &Request) -> bool {
    web::media_type(request).as_deref() == Some("application/json")
}

pub fn unsupported_media_type() -> Response {
    plain(StatusCode::UNSUPPORTED_MEDIA_TYPE, "Unsupported Media Type: the body must be application/json")
}

pub fn too_large(limit: usize) -> Response {
    plain(StatusCode::PAYLOAD_TOO_LARGE, &format!("Payload Too Large: the limit is {limit} bytes"))
}

/// The `MCP-Protocol-Version` header, `Ok(None)` when absent; an unsupported or unreadable
/// value is a 400 (Streamable HTTP: "the server MUST respond with 400 Bad Request").
pub fn protocol_version_header(request: &Request) -> Result<Option<&str>, Box<Response>> {
    let Some(raw) = request.headers().get("mcp-protocol-version") else { return Ok(None) };
    match raw.to_str().ok().map(str::trim) {
        Some(text) if version::supported(text).is_some() => Ok(Some(text)),
        other => Err(Box::new(bad_version(other.unwrap_or("(not text)")))),
    }
}

fn bad_version(requested: &str) -> Response {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "error": {
            "code": -32600,
            "message": format!("Bad Request: unsupported MCP-Protocol-Version `{requested}` (supported: {})", version::supported_list()),
            "data": { "requested": requested, "supported": version::SUPPORTED },
        }
    });
    web::json(StatusCode::BAD_REQUEST, &body)
}

pub fn plain(status: StatusCode, text: &str) -> Response {
    web::response(status, &[("content-type", "text/plain; charset=utf-8")], text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(headers: &[(&str, &str)]) -> Request {
        let mut builder = http::Request::post("/mcp");
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        builder.body(Vec::new()).unwrap()
    }

    #[test]
    fn origin_absent_own_or_configured_is_allowed() {
        let allowed = vec!["https://app.example".to_owned()];
        assert!(origin_allowed(&with(&[]), "https://mcp.example", &allowed));
        assert!(origin_allowed(&with(&[("origin", "https://MCP.example")]), "https://mcp.example", &allowed));
        assert!(origin_allowed(&with(&[("origin", "https://app.example")]), "https://mcp.example", &allowed));
        assert!(!origin_allowed(&with(&[("origin", "https://evil.example")]), "https://mcp.example", &allowed));
        assert!(!origin_allowed(&with(&[("origin", "null")]), "https://mcp.example", &allowed));
        assert!(origin_allowed(&with(&[("origin", "https://x")]), "https://mcp.example", &["*".to_owned()]));
    }

    #[test]
    fn origins_compare_as_urls() {
        let allowed = vec!["https://App.example:443/".to_owned(), "null".to_owned()];
        assert!(origin_allowed(&with(&[("origin", "https://mcp.example:443")]), "https://mcp.example", &[]));
        assert!(origin_allowed(&with(&[("origin", "https://app.example")]), "https://mcp.example", &allowed));
        assert!(origin_allowed(&with(&[("origin", "null")]), "https://mcp.example", &allowed));
        assert!(!origin_allowed(&with(&[("origin", "https://mcp.example:8443")]), "https://mcp.example", &[]));
    }

    #[test]
    fn content_type_must_be_json_with_any_parameters() {
        assert!(is_json(&with(&[("content-type", "application/json; charset=utf-8")])));
        assert!(!is_json(&with(&[("content-type", "text/plain")])));
        assert!(!is_json(&with(&[])));
    }

    #[test]
    fn protocol_header_absent_supported_or_400() {
        assert_eq!(protocol_version_header(&with(&[])).unwrap(), None);
        assert_eq!(
            protocol_version_header(&with(&[("mcp-protocol-version", "2025-06-18")])).unwrap(),
            Some("2025-06-18")
        );
        let response = protocol_version_header(&with(&[("mcp-protocol-version", "1900-01-01")])).unwrap_err();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    }
}
