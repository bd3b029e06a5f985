//! Incoming requests to `http` types with a body limit, and `http` responses back out.

use crate::response_body;
use futures::StreamExt;
use http::StatusCode;
use platform::web::{self, Request, Response};
use spin_sdk::http::{Fields, IncomingRequest, Method as SpinMethod, OutgoingResponse, ResponseOutparam};

#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    #[error("request body is larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("request body could not be read")]
    Unreadable,
    #[error("request line or headers are not valid HTTP")]
    Malformed,
}

impl BodyError {
    /// The plain-text 413 or 400 for a refused body.
    pub fn into_response(self) -> Response {
        let status = match self {
            BodyError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            BodyError::Unreadable | BodyError::Malformed => StatusCode::BAD_REQUEST,
        };
        web::response(status, &[("content-type", "text/plain; charset=utf-8")], self.to_string())
    }
}

/// Reads `incoming` into an `http::Request`, refusing bodies over `max_body_bytes` whether or not
/// they declare a `Content-Length` (chunked bodies are counted as they arrive).
pub async fn read_request(incoming: IncomingRequest, max_body_bytes: usize) -> Result<Request, BodyError> {
    let mut builder = http::Request::builder().method(method(&incoming.method())).uri(incoming.uri());
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    if declared_length(&incoming).is_some_and(|len| len > max_body_bytes) {
        return Err(BodyError::TooLarge { limit: max_body_bytes });
    }
    let mut body = Vec::new();
    let mut stream = incoming.into_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|_| BodyError::Unreadable)?;
        if body.len() + chunk.len() > max_body_bytes {
            return Err(BodyError::TooLarge { limit: max_body_bytes });
        }
        body.extend_from_slice(&chunk);
    }
    builder.body(body).map_err(|_| BodyError::Malformed)
}

fn declared_length(incoming: &IncomingRequest) -> Option<usize> {
    incoming
        .headers()
        .get("content-length")
        .first()
        .and_then(|v| std::str::from_utf8(v).ok())
        .and_then(|v| v.trim().parse().ok())
}

fn method(method: &SpinMethod) -> http::Method {
    let name = method.to_string();
    http::Method::from_bytes(name.as_bytes()).unwrap_or(http::Method::GET)
}

/// Writes a buffered response, with its `content-length`, so that Spin sends head and body in
/// one write (see [`crate::response_body`]: the body is finished before the outparam is set).
pub async fn write_response(response: Response, out: ResponseOutparam) {
    let (mut parts, body) = response.into_parts();
    if status_allows_body(parts.status) {
        parts.headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from(body.len()));
    }
    let outgoing = OutgoingResponse::new(fields(&parts.headers));
    let _ = outgoing.set_status_code(parts.status.as_u16());
    response_body::send_buffered(outgoing, out, &body).await;
}

/// 1xx, 204 and 304 responses carry no body and no `content-length` (RFC 9110 8.6).
fn status_allows_body(status: StatusCode) -> bool {
    !(status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED)
}

/// Spin `Fields` for `http` headers (streamed responses build their own `OutgoingResponse`).
pub fn fields(headers: &http::HeaderMap) -> Fields {
    let headers: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    // Header names and values come from `http` types, which already validated them.
    Fields::from_list(&headers).unwrap_or_else(|_| Fields::new())
}

/// Reads the request (answering 413/400 itself when the body is refused), runs `handler`, and
/// writes its response. Components whose answers are buffered use this as their whole body.
pub async fn serve<F, Fut>(incoming: IncomingRequest, out: ResponseOutparam, max_body_bytes: usize, handler: F)
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    let response = match read_request(incoming, max_body_bytes).await {
        Ok(request) => handler(request).await,
        Err(error) => error.into_response(),
    };
    write_response(response, out).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_length_goes_on_every_status_that_carries_a_body() {
        for code in [200, 201, 302, 400, 401, 413, 500] {
            assert!(status_allows_body(StatusCode::from_u16(code).expect("status")), "{code}");
        }
        for code in [100, 101, 204, 304] {
            assert!(!status_allows_body(StatusCode::from_u16(code).expect("status")), "{code}");
        }
    }
}
