//! JSON-RPC 2.0 framing: one incoming message, classified, with errors that say what was wrong.
//!
//! The envelope is checked by hand (not by deserializing rmcp's untagged message enum) so an
//! unknown method, bad params and a malformed envelope get distinct, precise errors.

use http::StatusCode;
use rmcp::model::{ErrorCode, ErrorData, JsonObject, RequestId, ServerJsonRpcMessage, ServerResult};
use serde_json::Value;

/// One message from the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Incoming {
    Request {
        id: RequestId,
        method: String,
        params: Option<JsonObject>,
    },
    Notification {
        method: String,
    },
    /// A response or error answering a request of ours; we send none, so it is just accepted.
    Response,
}

/// A JSON-RPC error answer, with the HTTP status it travels with.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub id: Option<RequestId>,
    pub error: ErrorData,
    pub status: StatusCode,
    /// `Retry-After` seconds, for a refusal by a rate limit.
    pub retry_after: Option<u64>,
}

/// The JSON-RPC error code of a request refused by a rate limit: MCP defines none, so it is
/// the first of JSON-RPC's implementation-defined server errors (-32000 to -32099).
pub const RATE_LIMITED: ErrorCode = ErrorCode(-32000);

impl Failure {
    /// An error about the message itself (HTTP 400).
    pub fn bad_request(id: Option<RequestId>, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id,
            error: ErrorData::new(code, message.into(), None),
            status: StatusCode::BAD_REQUEST,
            retry_after: None,
        }
    }

    /// A request refused by a rate limit: HTTP 429 with `Retry-After`, and a JSON-RPC error
    /// that says which limit and when to retry (also as `data.retryAfter`).
    pub fn rate_limited(id: RequestId, message: String, retry_after: u64) -> Self {
        let data = serde_json::json!({ "retryAfter": retry_after });
        Self {
            id: Some(id),
            error: ErrorData::new(RATE_LIMITED, message, Some(data)),
            status: StatusCode::TOO_MANY_REQUESTS,
            retry_after: Some(retry_after),
        }
    }

    /// An error answering a well-formed request (HTTP 200, like any JSON-RPC response).
    pub fn in_band(id: RequestId, code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            id: Some(id),
            error: ErrorData::new(code, message.into(), None),
            status: StatusCode::OK,
            retry_after: None,
        }
    }

    pub fn with_data(mut self, data: Value) -> Self {
        self.error.data = Some(data);
        self
    }

    pub fn to_json(&self) -> Vec<u8> {
        encode(&ServerJsonRpcMessage::error(self.error.clone(), self.id.clone()))
    }
}

/// Serializes a successful response.
pub fn success(id: RequestId, result: ServerResult) -> Vec<u8> {
    encode(&ServerJsonRpcMessage::response(result, id))
}

fn encode(message: &ServerJsonRpcMessage) -> Vec<u8> {
    // Model types always serialize; the fallback keeps this path panic-free regardless.
    serde_json::to_vec(message)
        .unwrap_or_else(|_| br#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"Internal error"}}"#.to_vec())
}

/// Parses and classifies one message.
pub fn parse(body: &[u8]) -> Result<Incoming, Failure> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Failure::bad_request(None, ErrorCode::PARSE_ERROR, format!("Parse error: {e}")))?;
    let object = match value {
        Value::Object(object) => object,
        Value::Array(_) => {
            return Err(invalid(
                None,
                "JSON-RPC batches are not supported (removed in MCP 2025-06-18); send one message per request",
            ));
        }
        _ => return Err(invalid(None, "a JSON-RPC message must be an object")),
    };
    classify(object)
}

fn classify(mut object: JsonObject) -> Result<Incoming, Failure> {
    let id = match object.remove("id") {
        None => None,
        Some(raw) => Some(request_id(raw)?),
    };
    if object.get("jsonrpc").and_then(Value::as_str) != Some("2.0") {
        return Err(invalid(id, "`jsonrpc` must be \"2.0\""));
    }
    let method = match object.remove("method") {
        Some(Value::String(method)) => Some(method),
        Some(_) => return Err(invalid(id, "`method` must be a string")),
        None => None,
    };
    match (method, id) {
        (Some(method), Some(id)) => Ok(Incoming::Request { params: params(&id, object.remove("params"))?, id, method }),
        (Some(method), None) => Ok(Incoming::Notification { method }),
        (None, id) if object.contains_key("result") || object.contains_key("error") => {
            let _ = id;
            Ok(Incoming::Response)
        }
        (None, id) => Err(invalid(id, "a JSON-RPC request needs a `method`")),
    }
}

/// MCP ids are strings or integers, never null.
fn request_id(raw: Value) -> Result<RequestId, Failure> {
    let acceptable = raw.is_string() || raw.is_i64() || raw.is_u64();
    let parsed = acceptable.then(|| serde_json::from_value::<RequestId>(raw).ok()).flatten();
    parsed.ok_or_else(|| invalid(None, "`id` must be a string or an integer"))
}

fn params(id: &RequestId, raw: Option<Value>) -> Result<Option<JsonObject>, Failure> {
    match raw {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(params)) => Ok(Some(params)),
        Some(_) => Err(Failure::in_band(id.clone(), ErrorCode::INVALID_PARAMS, "`params` must be an object")),
    }
}

fn invalid(id: Option<RequestId>, message: &str) -> Failure {
    Failure::bad_request(id, ErrorCode::INVALID_REQUEST, format!("Invalid Request: {message}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmcp::model::NumberOrString;

    fn code(result: Result<Incoming, Failure>) -> (i32, StatusCode) {
        let failure = result.unwrap_err();
        (failure.error.code.0, failure.status)
    }

    #[test]
    fn malformed_json_is_parse_error_400() {
        assert_eq!(code(parse(b"{not json")), (-32700, StatusCode::BAD_REQUEST));
        assert_eq!(code(parse(b"")), (-32700, StatusCode::BAD_REQUEST));
    }

    #[test]
    fn batch_is_invalid_request() {
        let failure = parse(br#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#).unwrap_err();
        assert_eq!(failure.error.code, ErrorCode::INVALID_REQUEST);
        assert!(failure.error.message.contains("batches"));
    }

    #[test]
    fn non_object_wrong_version_and_bad_method_are_invalid_requests() {
        for body in [
            &br#""hello""#[..],
            br#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            br#"{"id":1,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            br#"{"jsonrpc":"2.0","id":1}"#,
            br#"{"jsonrpc":"2.0","id":null,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":1.5,"method":"ping"}"#,
            br#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
        ] {
            assert_eq!(code(parse(body)), (-32600, StatusCode::BAD_REQUEST), "{}", String::from_utf8_lossy(body));
        }
    }

    #[test]
    fn invalid_request_keeps_a_readable_id() {
        let failure = parse(br#"{"jsonrpc":"1.0","id":"abc","method":"ping"}"#).unwrap_err();
        assert_eq!(failure.id, Some(NumberOrString::String("abc".into())));
    }

    #[test]
    fn non_object_params_are_invalid_params() {
        let failure = parse(br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":[1]}"#).unwrap_err();
        assert_eq!((failure.error.code, failure.status), (ErrorCode::INVALID_PARAMS, StatusCode::OK));
    }

    #[test]
    fn classifies_requests_notifications_and_responses() {
        let request = parse(br#"{"jsonrpc":"2.0","id":"a","method":"ping"}"#).unwrap();
        assert_eq!(
            request,
            Incoming::Request { id: NumberOrString::String("a".into()), method: "ping".into(), params: None }
        );
        let note = parse(br#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap();
        assert_eq!(note, Incoming::Notification { method: "notifications/initialized".into() });
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":3,"result":{}}"#).unwrap(), Incoming::Response);
        assert_eq!(parse(br#"{"jsonrpc":"2.0","id":3,"error":{"code":1,"message":"x"}}"#).unwrap(), Incoming::Response);
    }

    #[test]
    fn failure_serializes_without_id_when_unknown() {
        let json: Value = serde_json::from_slice(&parse(b"x").unwrap_err().to_json()).unwrap();
        assert_eq!(json["jsonrpc"], "2.0");
        assert_eq!(json["error"]["code"], -32700);
        assert!(json.get("id").is_none());
    }
}
