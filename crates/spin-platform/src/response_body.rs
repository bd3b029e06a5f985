//! Writing a response so that Spin's HTTP server sends its head and body together.
//!
//! Spin hands the response to hyper the moment the guest sets the response outparam. hyper
//! encodes the head, polls the body, and flushes whatever it has: if the guest has not written
//! the body yet, the head goes out alone. Spin does not set `TCP_NODELAY`, so the body, a second
//! small segment, then waits for the client's delayed ACK: about 40 ms on every request.
//!
//! wasmtime-wasi-http (the host of every Spin from 3.5 on) queues body writes in a channel that
//! accepts data with nobody reading it: `check-write` grants up to 1 MiB per write while a slot
//! is free, two slots by default. So a body written and finished *before* the outparam is set
//! is complete when hyper first polls it, and hyper writes head and body in one go. Bodies
//! larger than what the host takes without a reader (images of several MB) send that much with
//! the head and stream the rest after the outparam is set; waiting for room before setting it
//! would deadlock, since hyper only starts reading once it has the response.

use spin_executor::CancelOnDropToken;
use spin_sdk::http::{OutgoingBody, OutgoingResponse, ResponseOutparam};
use std::future::poll_fn;
use std::task::Poll;
use wasi::io::streams::OutputStream;

/// The client went away (hyper dropped the body): nobody is left to write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the response body is closed")]
pub struct BodyClosed;

/// Sends `outgoing` with a body known in full: finished before the outparam is set when the
/// host takes it at once, else as much as it takes with the head and the rest streamed.
pub async fn send_buffered(outgoing: OutgoingResponse, out: ResponseOutparam, body: &[u8]) {
    let Some(mut writer) = BodyWriter::take(&outgoing) else {
        return out.set(outgoing);
    };
    let written = writer.write_now(body);
    if written == body.len() {
        writer.finish();
        return out.set(outgoing);
    }
    out.set(outgoing);
    // The client may have gone away; there is nobody left to tell.
    let _ = writer.write_all(&body[written..]).await;
}

/// Starts a streamed response whose first chunk goes out with the head; the caller writes the
/// rest. `None` when the body cannot be written at all (the client is gone).
pub async fn start_streaming(outgoing: OutgoingResponse, out: ResponseOutparam, first: &[u8]) -> Option<BodyWriter> {
    let Some(mut writer) = BodyWriter::take(&outgoing) else {
        out.set(outgoing);
        return None;
    };
    let written = writer.write_now(first);
    out.set(outgoing);
    writer.write_all(&first[written..]).await.ok()?;
    Some(writer)
}

/// An outgoing body and its stream. Dropping it finishes the body.
pub struct BodyWriter {
    stream: Option<OutputStream>,
    body: Option<OutgoingBody>,
}

impl BodyWriter {
    /// The body of `response`, or `None` if it was already taken.
    fn take(response: &OutgoingResponse) -> Option<Self> {
        let body = response.body().ok()?;
        let stream = body.write().ok()?;
        Some(Self { stream: Some(stream), body: Some(body) })
    }

    /// Writes as much of `bytes` as the host accepts without waiting; returns how much.
    fn write_now(&mut self, bytes: &[u8]) -> usize {
        let Some(stream) = &self.stream else { return 0 };
        let mut written = 0;
        while written < bytes.len() {
            let room = match stream.check_write() {
                Ok(0) | Err(_) => break,
                Ok(room) => usize::try_from(room).unwrap_or(usize::MAX),
            };
            let end = bytes.len().min(written.saturating_add(room));
            if stream.write(&bytes[written..end]).is_err() {
                break;
            }
            written = end;
        }
        written
    }

    /// Whether the client is gone, asked without writing anything: the host's `check-write`
    /// fails once hyper has dropped the body, which it does as soon as it reads the end of the
    /// connection (wasmtime-wasi-http's body stream reports its channel closed; Spin 3.5 to 4.0
    /// and spin-local serve with hyper, half-close off). A client that vanished without closing
    /// its connection is noticed only when a write fails.
    pub fn client_gone(&self) -> bool {
        self.stream.as_ref().is_none_or(|stream| stream.check_write().is_err())
    }

    /// Writes all of `bytes`, waiting whenever the host's buffer is full.
    pub async fn write_all(&mut self, bytes: &[u8]) -> Result<(), BodyClosed> {
        let stream = self.stream.as_ref().ok_or(BodyClosed)?;
        let mut written = 0;
        while written < bytes.len() {
            let room = writable(stream).await?;
            let end = bytes.len().min(written.saturating_add(room));
            stream.write(&bytes[written..end]).map_err(|_| BodyClosed)?;
            written = end;
        }
        Ok(())
    }

    /// Ends the body: the stream is dropped first, as `wasi:http` requires before `finish`.
    pub fn finish(mut self) {
        self.end();
    }

    fn end(&mut self) {
        drop(self.stream.take());
        if let Some(body) = self.body.take() {
            // A failed finish means the client is gone; there is nobody left to tell.
            let _ = OutgoingBody::finish(body, None);
        }
    }
}

impl Drop for BodyWriter {
    fn drop(&mut self) {
        self.end();
    }
}

/// Waits until the host accepts a write; returns how many bytes it accepts.
async fn writable(stream: &OutputStream) -> Result<usize, BodyClosed> {
    let mut token = None;
    poll_fn(|cx| match stream.check_write() {
        Ok(0) => {
            // Spin's executor re-polls whenever any pollable is ready: check again each time.
            // Replacing the token drops (cancels) the previous registration.
            let registered = spin_executor::push_waker_and_get_token(stream.subscribe(), cx.waker().clone());
            token = Some(CancelOnDropToken::from(registered));
            Poll::Pending
        }
        Ok(room) => Poll::Ready(Ok(usize::try_from(room).unwrap_or(usize::MAX))),
        Err(_) => Poll::Ready(Err(BodyClosed)),
    })
    .await
}
