//! Outbound HTTP, for calls to Clerk, the image backends and client metadata documents.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OutboundError {
    #[error("request to {host} timed out")]
    Timeout { host: String },
    #[error("{host} is not in allowed_outbound_hosts")]
    Denied { host: String },
    #[error("could not reach {host}: {reason}")]
    Unreachable { host: String, reason: String },
    /// The runtime refused to connect: every address the host resolved to is in a network the
    /// runtime config blocks (Spin's `[outbound_networking] block_networks`; the guest sees
    /// `destination-ip-prohibited`), so nothing was sent.
    #[error("{host} resolves only to addresses the runtime config blocks (destination-ip-prohibited)")]
    Prohibited { host: String },
    #[error("response from {host} is larger than {limit} bytes")]
    TooLarge { host: String, limit: usize },
    #[error("invalid outbound request: {0}")]
    InvalidRequest(String),
}

/// A request extension: the largest response body the caller accepts. An implementation stops
/// reading as soon as the body would exceed it and answers [`OutboundError::TooLarge`], so a
/// server chosen by a caller (a client metadata document's) cannot make us buffer more. Without
/// it, the implementation's own cap applies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseLimit(pub usize);

/// The limit `request` carries, if any.
pub fn response_limit(request: &Request) -> Option<usize> {
    request.extensions().get::<ResponseLimit>().map(|limit| limit.0)
}

/// What [`HttpClient::send`] returns: the response, once it is in (boxed, so the port can be a
/// trait object; one allocation per outbound request).
pub type Sending<'a> = Pin<Box<dyn Future<Output = Result<Response, OutboundError>> + 'a>>;

/// Sends one request and buffers the response body.
///
/// `timeout` bounds the whole exchange, from the call to the last byte of the body (connect,
/// head and body together), so a slow, hung or trickling upstream becomes
/// [`OutboundError::Timeout`] instead of holding the request open. A [`ResponseLimit`]
/// extension on the request caps the body.
pub trait HttpClient {
    fn send(&self, request: Request, timeout: Duration) -> Sending<'_>;
}
