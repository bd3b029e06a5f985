//! The HTTP endpoints, host-agnostic: Streamable HTTP (`/mcp`) here, legacy HTTP+SSE in
//! [`crate::sse`]. Components convert Spin's request into an `http::Request`, call these and
//! write the `http::Response` back.

pub mod auth;
pub mod checks;

use crate::calls::ToolCalls;
use crate::dispatch::{Envelope, Reply, dispatch, step_up_by_headers};
use crate::settings::{MAX_BODY_BYTES, Settings};
use crate::tools::Toolbox;
use http::{Method, StatusCode};
use oauth_core::AccessTokenRecord;
use platform::Ports;
use platform::web::{self, Cors, Request, Response};

/// What the endpoints need from the host: the request's ports and this crate's settings.
pub struct Services<'a> {
    pub ports: Ports<'a>,
    pub settings: &'a Settings,
}

impl Services<'_> {
    /// Our public origin; an error when `public_base_url` is unset outside loopback.
    pub fn base_url(&self, request: &Request) -> Result<String, web::PublicBaseUrlRequired> {
        web::base_url(request).map(|base| base.url)
    }

    /// The tools of the holder of `token`.
    pub(crate) fn toolbox(&self, token: &AccessTokenRecord) -> Toolbox<'_> {
        Toolbox::new(token.props.clone(), token.scope.clone(), &self.settings.tools, self.ports.http)
    }

    /// What watches the tool calls of `request`, made by the holder of `token`.
    pub(crate) fn tool_calls<'s>(&'s self, request: &Request, token: &'s AccessTokenRecord) -> ToolCalls<'s> {
        ToolCalls {
            store: self.ports.store,
            clock: self.ports.clock,
            limit: self.settings.tool_calls,
            audit: self.ports.audit,
            user_id: &token.props.user_id,
            client_id: &token.client_id,
            client_addr: web::client_ip(request),
        }
    }
}

/// CORS for `/mcp`: browser-based clients (the MCP Inspector) must read `WWW-Authenticate`.
pub const MCP_CORS: Cors = Cors {
    allow_methods: "POST, OPTIONS",
    allow_headers: Cors::DEFAULT_ALLOW_HEADERS,
    expose_headers: Cors::DEFAULT_EXPOSE_HEADERS,
};

/// `POST /mcp` (and the 405/preflight answers for its other methods).
pub async fn handle_mcp(request: &Request, services: &Services<'_>) -> Response {
    let mut response = mcp_response(request, services).await;
    MCP_CORS.apply(request, &mut response);
    response
}

async fn mcp_response(request: &Request, services: &Services<'_>) -> Response {
    let record = match admit(request, services, &MCP_ENDPOINT) {
        Ok(record) => record,
        Err(response) => return *response,
    };
    let protocol_version = match checks::protocol_version_header(request) {
        Ok(version) => version,
        Err(response) => return *response,
    };
    if let Some(refusal) = body_refusal(request, Some("application/json")) {
        return refusal;
    }
    let toolbox = services.toolbox(&record);
    let envelope = Envelope {
        protocol_version,
        mcp_method: web::header_str(request, "mcp-method"),
        mcp_name: web::header_str(request, "mcp-name"),
    };
    let reply = match step_up_by_headers(&toolbox, envelope) {
        Some(step_up) => step_up,
        None => dispatch(&toolbox, request.body(), envelope, &services.tool_calls(request, &record)).await,
    };
    reply_response(reply, request, services, auth::Transport::StreamableHttp)
}

/// One MCP endpoint as its preamble sees it: the method it serves, its CORS, and which
/// protected-resource document its 401 points to.
pub(crate) struct Endpoint {
    pub method: Method,
    pub cors: Cors,
    pub transport: auth::Transport,
}

/// POST only: stateless, so no standalone GET stream and no sessions to DELETE.
const MCP_ENDPOINT: Endpoint =
    Endpoint { method: Method::POST, cors: MCP_CORS, transport: auth::Transport::StreamableHttp };

/// What every MCP endpoint checks first, in this order: a foreign `Origin` (403, before
/// anything else, against DNS rebinding), a CORS preflight (204), the method (405 + `Allow`),
/// then the bearer token (401/403/503). The caller's access-token record, or the answer to send.
pub(crate) fn admit(
    request: &Request,
    services: &Services<'_>,
    endpoint: &Endpoint,
) -> Result<AccessTokenRecord, Box<Response>> {
    let base = services.base_url(request).map_err(|error| Box::new(misdirected(&error)))?;
    if !checks::origin_allowed(request, &base, &services.settings.allowed_origins) {
        return Err(Box::new(checks::forbidden_origin()));
    }
    if web::is_preflight(request) {
        return Err(Box::new(endpoint.cors.preflight()));
    }
    if request.method() != endpoint.method {
        return Err(Box::new(web::method_not_allowed(endpoint.method.as_str())));
    }
    auth::authenticate(request, services.ports.store, services.ports.clock, &base, endpoint.transport)
}

/// 415, 406 or 413 for a message body we cannot take.
/// `answer_type` is what the answer will be, when it comes in this response.
pub(crate) fn body_refusal(request: &Request, answer_type: Option<&str>) -> Option<Response> {
    if !checks::is_json(request) {
        return Some(checks::unsupported_media_type());
    }
    if let Some(answer_type) = answer_type.filter(|t| !checks::accepts(request, t)) {
        return Some(checks::not_acceptable(answer_type));
    }
    if request.body().len() > MAX_BODY_BYTES {
        return Some(checks::too_large(MAX_BODY_BYTES));
    }
    None
}

fn reply_response(reply: Reply, request: &Request, services: &Services<'_>, transport: auth::Transport) -> Response {
    match reply {
        Reply::Accepted => web::response(StatusCode::ACCEPTED, &[], Vec::new()),
        Reply::Json { status, body, retry_after } => json_reply(status, body, retry_after),
        Reply::InsufficientScope { tool, scope } => step_up(request, services, transport, &tool, &scope),
    }
}

/// The 403 `insufficient_scope` challenge for a call of `tool` that needs `scope`.
pub(crate) fn step_up(
    request: &Request,
    services: &Services<'_>,
    transport: auth::Transport,
    tool: &str,
    scope: &str,
) -> Response {
    match services.base_url(request) {
        Ok(base) => auth::insufficient_scope(&auth::resource_metadata_url(&base, transport), tool, scope),
        Err(error) => misdirected(&error),
    }
}

/// A JSON-RPC answer, with `Retry-After` when a rate limit refused the request.
pub(crate) fn json_reply(status: StatusCode, body: Vec<u8>, retry_after: Option<u64>) -> Response {
    let mut response =
        web::response(status, &[("content-type", "application/json"), ("cache-control", "no-store")], body);
    if let Some(seconds) = retry_after {
        web::append_header(&mut response, "retry-after", &seconds.to_string());
    }
    response
}

/// The answer when configuration is missing or malformed: a 500 that names the variable.
pub fn config_error(error: &impl std::fmt::Display) -> Response {
    checks::plain(StatusCode::INTERNAL_SERVER_ERROR, &format!("server misconfigured: {error}"))
}

/// 421 for a request to an authority this server does not know it has (no `public_base_url`,
/// not loopback): a misconfigured deployment, or a DNS-rebinding page on a local one.
pub fn misdirected(error: &web::PublicBaseUrlRequired) -> Response {
    checks::plain(web::PublicBaseUrlRequired::STATUS, &error.to_string())
}

/// 503 when the key-value store fails: a generic body with `Retry-After`; what the store said
/// (which may name hosts and ports) goes to the component's log as the response's diagnostic.
pub fn store_unavailable(error: &impl std::fmt::Display) -> Response {
    let mut response =
        checks::plain(StatusCode::SERVICE_UNAVAILABLE, "the server's storage is temporarily unavailable; retry later");
    web::append_header(&mut response, "retry-after", "1");
    platform::diagnostic::attach(&mut response, &format!("key-value store: {error}"));
    response
}

/// 404 for paths under `/sse/...` that are not ours.
pub fn not_found() -> Response {
    checks::plain(StatusCode::NOT_FOUND, "Not Found")
}

#[cfg(test)]
mod tests;
