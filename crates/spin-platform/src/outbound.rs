//! Outbound `wasi:http` with timeouts. `spin_sdk::http::send` offers no request options, so this
//! sends through `outgoing-handler` directly with connect, first-byte and between-bytes timeouts
//! (Spin's first-byte timeout covers connecting too). The whole exchange must also end within
//! the timeout from the call (a server dripping a byte just inside the between-bytes timeout
//! would otherwise hold us for as long as it likes): the body is read against a deadline. It is
//! capped at the request's [`platform::outbound::ResponseLimit`] or [`MAX_RESPONSE_BYTES`].

use std::future::poll_fn;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;

use futures::future::{Either, select};
use futures::{SinkExt, StreamExt};
use platform::outbound::{Request, Response, Sending, response_limit};
use platform::{HttpClient, OutboundError};
use spin_sdk::http::{Fields, IncomingResponse, Method as SpinMethod, OutgoingRequest, Scheme};
use spin_sdk::wit::wasi::http0_2_0::outgoing_handler;
use spin_sdk::wit::wasi::http0_2_0::types::{ErrorCode, FutureIncomingResponse, RequestOptions};
use wasi::clocks::monotonic_clock;

/// Responses larger than this are refused: nothing this app calls returns more.
const MAX_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

#[derive(Debug, Default, Clone, Copy)]
pub struct SpinHttpClient;

impl HttpClient for SpinHttpClient {
    fn send(&self, request: Request, timeout: Duration) -> Sending<'_> {
        Box::pin(send(request, timeout))
    }
}

async fn send(request: Request, timeout: Duration) -> Result<Response, OutboundError> {
    let deadline = monotonic_clock::now().saturating_add(u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX));
    let host = request.uri().host().unwrap_or_default().to_owned();
    let limit = response_limit(&request).map_or(MAX_RESPONSE_BYTES, |limit| limit.min(MAX_RESPONSE_BYTES));
    let (parts, body) = request.into_parts();
    let outgoing = outgoing_request(&parts, body.len())?;
    let options = request_options(timeout);
    let mut body_sink = outgoing.take_body();
    let pending = outgoing_handler::handle(outgoing, Some(options)).map_err(|e| map_error(&host, e))?;
    if !body.is_empty() {
        body_sink.send(body).await.map_err(|e| unreachable_error(&host, e.to_string()))?;
    }
    // Dropping the sink finishes the request body.
    drop(body_sink);
    let incoming = await_response(pending).await.map_err(|e| map_error(&host, e))?;
    let read = pin!(read_response(&host, incoming, limit));
    let remaining = Duration::from_nanos(deadline.saturating_sub(monotonic_clock::now()));
    match select(read, pin!(crate::sleep::sleep(remaining))).await {
        Either::Left((response, _)) => response,
        Either::Right(((), _)) => Err(OutboundError::Timeout { host: host.clone() }),
    }
}

fn outgoing_request(parts: &http::request::Parts, body_len: usize) -> Result<OutgoingRequest, OutboundError> {
    let headers = header_list(&parts.headers, body_len);
    let fields = Fields::from_list(&headers).map_err(|e| OutboundError::InvalidRequest(e.to_string()))?;
    let request = OutgoingRequest::new(fields);
    let invalid = |what: &str| OutboundError::InvalidRequest(format!("cannot set {what}"));
    let method = SpinMethod::from(parts.method.clone());
    request.set_method(&method).map_err(|_| invalid("method"))?;
    let scheme = match parts.uri.scheme_str() {
        Some("https") => Scheme::Https,
        Some("http") => Scheme::Http,
        other => return Err(OutboundError::InvalidRequest(format!("unsupported scheme {other:?}"))),
    };
    request.set_scheme(Some(&scheme)).map_err(|_| invalid("scheme"))?;
    let authority = parts.uri.authority().map(|a| a.as_str());
    request.set_authority(authority).map_err(|_| invalid("authority"))?;
    let path = parts.uri.path_and_query().map(|p| p.as_str());
    request.set_path_with_query(path).map_err(|_| invalid("path"))?;
    Ok(request)
}

/// The request's headers as `wasi:http` takes them, with `content-length` added for a body we
/// hold whole. Without it the host sends the body chunked, after the request head: a server
/// that answers on the head alone and closes (or refuses chunked uploads with 411) then fails
/// the call mid-body (`StreamError::Closed`), as every HTTP client that knows the length avoids.
fn header_list(headers: &http::HeaderMap, body_len: usize) -> Vec<(String, Vec<u8>)> {
    let mut list: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    if body_len > 0 && !headers.contains_key(http::header::CONTENT_LENGTH) {
        list.push((http::header::CONTENT_LENGTH.as_str().to_owned(), body_len.to_string().into_bytes()));
    }
    list
}

fn request_options(timeout: Duration) -> RequestOptions {
    let options = RequestOptions::new();
    let nanos = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
    // A host that does not support a timeout refuses to set it; the others still apply.
    let _ = options.set_connect_timeout(Some(nanos));
    let _ = options.set_first_byte_timeout(Some(nanos));
    let _ = options.set_between_bytes_timeout(Some(nanos));
    options
}

async fn await_response(pending: FutureIncomingResponse) -> Result<IncomingResponse, ErrorCode> {
    let mut token = None;
    poll_fn(|cx| match pending.get() {
        Some(Ok(result)) => Poll::Ready(result),
        // Polling twice is a host contract violation; report it as a protocol error.
        Some(Err(())) => Poll::Ready(Err(ErrorCode::InternalError(Some("response already taken".into())))),
        None => {
            token = Some(spin_executor::push_waker_and_get_token(pending.subscribe(), cx.waker().clone()));
            Poll::Pending
        }
    })
    .await
}

/// The response with its whole body (the caller bounds how long this may take).
async fn read_response(host: &str, incoming: IncomingResponse, limit: usize) -> Result<Response, OutboundError> {
    let mut builder = http::Response::builder().status(incoming.status());
    for (name, value) in incoming.headers().entries() {
        builder = builder.header(name, value);
    }
    let mut body = Vec::new();
    let mut stream = incoming.take_body_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unreachable_error(host, e.to_debug_string()))?;
        if body.len() + chunk.len() > limit {
            return Err(OutboundError::TooLarge { host: host.to_owned(), limit });
        }
        body.extend_from_slice(&chunk);
    }
    builder.body(body).map_err(|e| unreachable_error(host, e.to_string()))
}

fn map_error(host: &str, error: ErrorCode) -> OutboundError {
    match error {
        ErrorCode::HttpRequestDenied => OutboundError::Denied { host: host.to_owned() },
        ErrorCode::ConnectionTimeout | ErrorCode::ConnectionReadTimeout | ErrorCode::ConnectionWriteTimeout => {
            OutboundError::Timeout { host: host.to_owned() }
        }
        ErrorCode::HttpResponseTimeout | ErrorCode::DnsTimeout => OutboundError::Timeout { host: host.to_owned() },
        ErrorCode::DestinationIpProhibited => OutboundError::Prohibited { host: host.to_owned() },
        other => unreachable_error(host, format!("{other:?}")),
    }
}

fn unreachable_error(host: &str, reason: String) -> OutboundError {
    OutboundError::Unreachable { host: host.to_owned(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_and_values(list: &[(String, Vec<u8>)]) -> Vec<(&str, &str)> {
        list.iter().map(|(name, value)| (name.as_str(), std::str::from_utf8(value).unwrap_or("?"))).collect()
    }

    #[test]
    fn a_body_held_whole_is_sent_with_its_length() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
        let list = header_list(&headers, 42);
        assert_eq!(names_and_values(&list), [("content-type", "application/json"), ("content-length", "42")]);
    }

    #[test]
    fn a_declared_length_is_kept_and_an_empty_body_declares_none() {
        let mut headers = http::HeaderMap::new();
        headers.insert(http::header::CONTENT_LENGTH, http::HeaderValue::from_static("7"));
        assert_eq!(names_and_values(&header_list(&headers, 7)), [("content-length", "7")]);
        assert!(header_list(&http::HeaderMap::new(), 0).is_empty());
    }
}
