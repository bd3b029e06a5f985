//! Stateless JSON-RPC dispatch: one message in, at most one answer out.
//!
//! Every request carries all it needs (the caller's token gives the user; the version comes
//! from `_meta`, the `MCP-Protocol-Version` header, or the spec's default), so nothing is
//! remembered between requests and any instance can answer any request.

use crate::calls::{CallOutcome, ToolCalls};
use crate::protocol::jsonrpc::{self, Failure, Incoming};
use crate::protocol::version;
use crate::tools::{Access, CallError, Toolbox};
use http::StatusCode;
use rmcp::model::{
    CallToolRequestParams, DiscoverResult, EmptyResult, ErrorCode, Implementation, InitializeResult, JsonObject,
    ListToolsResult, ProtocolVersion, RequestId, RequestMetaObject, ServerCapabilities, ServerResult,
};
use serde_json::{Value, json};
use std::time::Instant;

pub const SERVER_NAME: &str = "mcp-clerk-oauth";
const INSTRUCTIONS: &str = "Tools: `add` sums two numbers; `userInfo` returns your profile; \
    `generateImage` (privileged roles only) draws an image from a prompt.";

/// What the transport knows about a message besides its body.
#[derive(Debug, Clone, Copy, Default)]
pub struct Envelope<'a> {
    /// `MCP-Protocol-Version`, already checked to be a supported version.
    pub protocol_version: Option<&'a str>,
    /// `Mcp-Method` (SEP-2243), checked against the body when present.
    pub mcp_method: Option<&'a str>,
    /// `Mcp-Name` (SEP-2243), checked against a `tools/call`'s tool name when present.
    pub mcp_name: Option<&'a str>,
}

/// The outcome of one message.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A notification or a response: nothing to answer (HTTP 202).
    Accepted,
    /// A JSON-RPC response or error, with the HTTP status it goes out with (and `Retry-After`
    /// seconds for a rate-limit refusal).
    Json { status: StatusCode, body: Vec<u8>, retry_after: Option<u64> },
    /// A call of `tool`, which the token's scopes do not cover but the user's role would: the
    /// transport answers `403` with an `insufficient_scope` challenge naming `scope`, every
    /// scope the call needs (the token's and the missing one), so the client can step up.
    InsufficientScope { tool: String, scope: String },
}

impl From<Failure> for Reply {
    fn from(failure: Failure) -> Self {
        Reply::Json { status: failure.status, body: failure.to_json(), retry_after: failure.retry_after }
    }
}

/// Why a request got no result.
enum Stop {
    Failure(Failure),
    /// See [`Reply::InsufficientScope`].
    StepUp {
        tool: String,
        scope: String,
    },
}

impl From<Failure> for Stop {
    fn from(failure: Failure) -> Self {
        Stop::Failure(failure)
    }
}

/// The step-up answer for a `tools/call` whose `Mcp-Method` and `Mcp-Name` headers (2026-07-28)
/// name a tool this token lacks the scope of, decided before the body is read. A request
/// whose headers pass goes on to [`dispatch`], which refuses a body that contradicts them.
pub fn step_up_by_headers(toolbox: &Toolbox<'_>, envelope: Envelope<'_>) -> Option<Reply> {
    let tool = envelope.mcp_name.filter(|_| envelope.mcp_method == Some("tools/call"))?;
    match toolbox.access(tool) {
        Access::ScopeMissing(missing) => {
            Some(Reply::InsufficientScope { tool: tool.to_owned(), scope: toolbox.scopes_with(missing) })
        }
        Access::Allowed | Access::Absent => None,
    }
}

/// Handles one message for the user `toolbox` belongs to; `calls` watches its tool calls.
pub async fn dispatch(toolbox: &Toolbox<'_>, body: &[u8], envelope: Envelope<'_>, calls: &ToolCalls<'_>) -> Reply {
    let (id, method, params) = match jsonrpc::parse(body) {
        Ok(Incoming::Request { id, method, params }) => (id, method, params),
        Ok(Incoming::Notification { .. } | Incoming::Response) => return Reply::Accepted,
        Err(failure) => return failure.into(),
    };
    match answer(toolbox, &id, &method, params, envelope, calls).await {
        Ok(body) => Reply::Json { status: StatusCode::OK, body, retry_after: None },
        Err(Stop::Failure(failure)) => failure.into(),
        Err(Stop::StepUp { tool, scope }) => Reply::InsufficientScope { tool, scope },
    }
}

async fn answer(
    toolbox: &Toolbox<'_>,
    id: &RequestId,
    method: &str,
    params: Option<JsonObject>,
    envelope: Envelope<'_>,
    calls: &ToolCalls<'_>,
) -> Result<Vec<u8>, Stop> {
    check_method_header(id, method, envelope)?;
    if method == "initialize" {
        return Ok(jsonrpc::success(id.clone(), initialize(params.as_ref())));
    }
    let version = request_version(id, method, params.as_ref(), envelope)?;
    let mut result = match method {
        "ping" => ServerResult::EmptyResult(EmptyResult {}),
        "server/discover" => ServerResult::DiscoverResult(discover()),
        "tools/list" => ServerResult::ListToolsResult(ListToolsResult { tools: toolbox.list(), ..Default::default() }),
        "tools/call" => ServerResult::CallToolResult(call_tool(toolbox, id, params, envelope, calls).await?),
        other => {
            return Err(Stop::Failure(Failure::in_band(
                id.clone(),
                ErrorCode::METHOD_NOT_FOUND,
                format!("Method not found: {other}"),
            )));
        }
    };
    shape_for(&version, &mut result);
    Ok(jsonrpc::success(id.clone(), result))
}

/// Results carry `resultType` and cache hints from 2026-07-28 on; older peers get the shape
/// their revision defined.
fn shape_for(version: &ProtocolVersion, result: &mut ServerResult) {
    if version::is_stateless(version) {
        result.fill_missing_cache_hints();
    } else {
        result.strip_result_type_for_legacy_peer();
        result.strip_non_object_output_for_legacy_peer();
    }
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities::builder().enable_tools().build()
}

fn server_info() -> Implementation {
    Implementation::new(SERVER_NAME, env!("CARGO_PKG_VERSION"))
}

fn initialize(params: Option<&JsonObject>) -> ServerResult {
    // A missing or odd `protocolVersion` is negotiated like an unknown one rather than refused:
    // the answer tells the client what we speak.
    let requested = params.and_then(|p| p.get("protocolVersion")).and_then(Value::as_str).unwrap_or("");
    let result = InitializeResult::new(capabilities())
        .with_protocol_version(version::negotiate(requested))
        .with_server_info(server_info())
        .with_instructions(INSTRUCTIONS);
    ServerResult::InitializeResult(result)
}

fn discover() -> DiscoverResult {
    let config = InitializeResult::new(capabilities()).with_server_info(server_info()).with_instructions(INSTRUCTIONS);
    DiscoverResult::from_server_info(version::SUPPORTED.to_vec(), config)
}

/// The version a (non-initialize) request speaks: `_meta`'s, else the header's, else the default.
fn request_version(
    id: &RequestId,
    method: &str,
    params: Option<&JsonObject>,
    envelope: Envelope<'_>,
) -> Result<ProtocolVersion, Failure> {
    let meta = request_meta(id, params)?;
    let from_meta = meta.0.get("io.modelcontextprotocol/protocolVersion").map(|v| match v.as_str() {
        Some(text) => version::supported(text).ok_or_else(|| unsupported_version(id, text)),
        None => Err(missing_meta(id, &["io.modelcontextprotocol/protocolVersion"])),
    });
    let version = match (from_meta.transpose()?, envelope.protocol_version) {
        (Some(meta_version), Some(header)) if meta_version.as_str() != header => {
            return Err(Failure::bad_request(
                Some(id.clone()),
                ErrorCode::HEADER_MISMATCH,
                format!("MCP-Protocol-Version header ({header}) does not match _meta protocolVersion ({meta_version})"),
            ));
        }
        (Some(meta_version), _) => meta_version,
        (None, Some(header)) => version::supported(header).unwrap_or(version::ASSUMED),
        (None, None) => version::ASSUMED,
    };
    // Stateless requests must say who is asking in `_meta`; `server/discover` exists only there.
    if version::is_stateless(&version) || method == "server/discover" {
        let missing = meta.missing_required_keys(&ProtocolVersion::V_2026_07_28);
        if !missing.is_empty() {
            return Err(missing_meta(id, &missing));
        }
    }
    Ok(version)
}

fn request_meta(id: &RequestId, params: Option<&JsonObject>) -> Result<RequestMetaObject, Failure> {
    match params.and_then(|p| p.get("_meta")) {
        None => Ok(RequestMetaObject::default()),
        Some(raw) => serde_json::from_value(raw.clone())
            .map_err(|_| Failure::in_band(id.clone(), ErrorCode::INVALID_PARAMS, "`_meta` must be an object")),
    }
}

fn missing_meta(id: &RequestId, missing: &[&str]) -> Failure {
    Failure::bad_request(
        Some(id.clone()),
        ErrorCode::INVALID_PARAMS,
        format!("request _meta is missing or has malformed required fields: {}", missing.join(", ")),
    )
}

fn unsupported_version(id: &RequestId, requested: &str) -> Failure {
    Failure::bad_request(
        Some(id.clone()),
        ErrorCode::UNSUPPORTED_PROTOCOL_VERSION,
        format!("Unsupported protocol version: {requested}"),
    )
    .with_data(json!({ "requested": requested, "supported": version::SUPPORTED }))
}

/// A present `Mcp-Method` header must name the body's method (a middlebox routing on it must
/// not see one thing while we do another).
fn check_method_header(id: &RequestId, method: &str, envelope: Envelope<'_>) -> Result<(), Failure> {
    match envelope.mcp_method {
        Some(header) if header != method => Err(Failure::bad_request(
            Some(id.clone()),
            ErrorCode::HEADER_MISMATCH,
            format!("Mcp-Method header `{header}` does not match body method `{method}`"),
        )),
        _ => Ok(()),
    }
}

async fn call_tool(
    toolbox: &Toolbox<'_>,
    id: &RequestId,
    params: Option<JsonObject>,
    envelope: Envelope<'_>,
    calls: &ToolCalls<'_>,
) -> Result<rmcp::model::CallToolResult, Stop> {
    let params: CallToolRequestParams = serde_json::from_value(Value::Object(params.unwrap_or_default()))
        .map_err(|e| Failure::in_band(id.clone(), ErrorCode::INVALID_PARAMS, format!("Invalid params: {e}")))?;
    if let Some(header) = envelope.mcp_name.filter(|name| *name != params.name) {
        return Err(Stop::Failure(Failure::bad_request(
            Some(id.clone()),
            ErrorCode::HEADER_MISMATCH,
            format!("Mcp-Name header `{header}` does not match tool name `{}`", params.name),
        )));
    }
    // Before the rate limit counts it: a step-up is not a call.
    if let Access::ScopeMissing(missing) = toolbox.access(&params.name) {
        calls.record(&params.name, CallOutcome::InsufficientScope, std::time::Duration::ZERO);
        return Err(Stop::StepUp { scope: toolbox.scopes_with(missing), tool: params.name.to_string() });
    }
    let started = Instant::now();
    calls.admit(&params.name).map_err(|refused| {
        Failure::rate_limited(id.clone(), refused.limit.refusal(refused.retry_after), refused.retry_after)
    })?;
    let result = toolbox.call(&params.name, params.arguments.as_ref()).await;
    let outcome = match &result {
        Ok(called) if called.is_error == Some(true) => CallOutcome::ToolError,
        Ok(_) => CallOutcome::Success,
        Err(CallError::UnknownTool(_)) => CallOutcome::UnknownTool,
        Err(CallError::InvalidArguments(_)) => CallOutcome::InvalidArguments,
        Err(CallError::ScopeMissing(_)) => CallOutcome::InsufficientScope,
    };
    calls.record(&params.name, outcome, started.elapsed());
    result.map_err(|error| match error {
        CallError::ScopeMissing(missing) => {
            Stop::StepUp { scope: toolbox.scopes_with(missing), tool: params.name.to_string() }
        }
        CallError::UnknownTool(_) | CallError::InvalidArguments(_) => {
            Stop::Failure(Failure::in_band(id.clone(), ErrorCode::INVALID_PARAMS, error.to_string()))
        }
    })
}

#[cfg(test)]
mod tests;
