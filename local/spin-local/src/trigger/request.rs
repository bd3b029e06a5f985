//! Reading a request's body before the request takes an instance slot.
//!
//! Spin streams the body to the guest as it arrives, so a client that sends a large
//! `Content-Length` and then one byte a minute holds an instance (and, here, an instance slot)
//! for as long as it likes: 257 such sockets stalled spin-local for everyone. spin-local instead
//! reads the whole body first, within the request deadline and a size cap, and only then runs
//! the guest, which gets the body at once.

use super::limits::Limits;
use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::convert::Infallible;
use tokio::time::Instant;

/// Why a body was not read: the answer is one of these statuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refused {
    /// The request took longer than the request deadline (`408`).
    TooSlow,
    /// The body is larger than the cap (`413`).
    TooLarge,
    /// The client broke the body off (`400`).
    Broken,
}

impl Refused {
    pub(super) fn status(self) -> StatusCode {
        match self {
            Refused::TooSlow => StatusCode::REQUEST_TIMEOUT,
            Refused::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Refused::Broken => StatusCode::BAD_REQUEST,
        }
    }

    /// The response body: what went wrong, for the client.
    pub(super) fn reason(self) -> &'static str {
        match self {
            Refused::TooSlow => "Request Timeout: the request did not arrive in time",
            Refused::TooLarge => "Payload Too Large",
            Refused::Broken => "Bad Request: the request body was cut off",
        }
    }
}

/// A request whose body is in memory.
pub(super) type Buffered = Request<Full<Bytes>>;

/// Reads the body of `req`, which started (its first byte arrived) at `started`.
pub(super) async fn buffer(req: Request<Incoming>, started: Instant, limits: &Limits) -> Result<Buffered, Refused> {
    if declared_length(&req).is_some_and(|length| length > limits.max_request_body as u64) {
        return Err(Refused::TooLarge);
    }
    let (parts, body) = req.into_parts();
    let deadline = started + limits.request_read_timeout;
    let bytes = tokio::time::timeout_at(deadline, collect(body, limits.max_request_body))
        .await
        .map_err(|_elapsed| Refused::TooSlow)??;
    Ok(Request::from_parts(parts, Full::new(bytes)))
}

fn declared_length(req: &Request<Incoming>) -> Option<u64> {
    req.headers().get(http::header::CONTENT_LENGTH)?.to_str().ok()?.trim().parse().ok()
}

/// The whole body, refused as soon as it grows past `cap` (chunked bodies declare no length).
async fn collect(mut body: Incoming, cap: usize) -> Result<Bytes, Refused> {
    let mut buffer = Vec::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|_| Refused::Broken)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > cap {
                return Err(Refused::TooLarge);
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(Bytes::from(buffer))
}

/// A buffered request as the guest gets it.
pub(super) type ForGuest = Request<http_body_util::combinators::UnsyncBoxBody<Bytes, hyper::Error>>;

/// The guest's view of a buffered body: `wasmtime-wasi-http` wants a body whose error type
/// converts into its own, and a buffered body has no errors left.
pub(super) fn for_guest(req: Buffered) -> ForGuest {
    req.map(|body| body.map_err(|never: Infallible| match never {}).boxed_unsync())
}
