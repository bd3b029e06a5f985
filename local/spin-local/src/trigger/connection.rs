//! One client connection: served like Spin serves it (hyper-util's auto builder, no
//! `TCP_NODELAY` unless asked), plus a deadline Spin does not have: a request head must arrive
//! within [`Limits::header_read_timeout`] of its first byte, or the client gets `408` and the
//! connection is closed. A slow client then ties up a socket for that long at most, never an
//! instance slot (the request body is read before a slot is taken, see `request.rs`).

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio::time::{Instant, Sleep};

/// What spin-local sends a client whose request head is too slow; the connection then closes.
const HEAD_TIMEOUT_RESPONSE: &[u8] =
    b"HTTP/1.1 408 Request Timeout\r\nconnection: close\r\ncontent-type: text/plain\r\ncontent-length: 15\r\n\r\nRequest Timeout";

/// The HTTP/2 connection preface starts so: such connections get no head deadline (the 408
/// above is HTTP/1.1, and an idle HTTP/2 connection is not a slow request).
const HTTP2_PREFACE_START: &[u8] = b"PRI ";

/// Serves `socket` with `service` until the client or the server closes it.
pub(super) async fn serve<S>(socket: GuardedStream, service: S)
where
    S: hyper::service::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<super::Body>,
            Error = std::convert::Infallible,
        > + 'static,
    S::Future: Send + 'static,
{
    let _ = auto::Builder::new(TokioExecutor::new()).serve_connection(TokioIo::new(socket), service).await;
}

/// The state of one connection shared by its reader and the requests served on it.
#[derive(Debug, Default)]
pub(super) struct ConnectionState(Mutex<Phase>);

#[derive(Debug, Default)]
struct Phase {
    /// Requests whose head was read and whose response has not ended.
    open_requests: usize,
    /// When the first byte of the head being read arrived.
    head_started: Option<Instant>,
    http2: bool,
}

impl ConnectionState {
    fn phase(&self) -> MutexGuard<'_, Phase> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A request's head was read: returns when its first byte arrived (its deadlines count
    /// from there) and keeps the head deadline off until its response ends.
    pub(super) fn request_started(self: &Arc<Self>) -> RequestGuard {
        let mut phase = self.phase();
        phase.open_requests += 1;
        let started = phase.head_started.take().unwrap_or_else(Instant::now);
        RequestGuard { state: self.clone(), started }
    }
}

/// Held while a request is open (until its response body ends or is dropped).
#[derive(Debug)]
pub(super) struct RequestGuard {
    state: Arc<ConnectionState>,
    /// When the request's first byte arrived.
    pub(super) started: Instant,
}

impl RequestGuard {
    /// `body`, holding this request open until hyper has taken its last frame (or dropped it).
    pub(super) fn held_until_end_of(self, body: super::Body) -> super::Body {
        use http_body_util::BodyExt;
        body.map_frame(move |frame| {
            let _open = &self;
            frame
        })
        .boxed_unsync()
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        let mut phase = self.state.phase();
        phase.open_requests = phase.open_requests.saturating_sub(1);
    }
}

/// The socket, with the head deadline enforced on reads.
pub(super) struct GuardedStream {
    inner: TcpStream,
    state: Arc<ConnectionState>,
    header_read_timeout: std::time::Duration,
    deadline: Option<Pin<Box<Sleep>>>,
    /// The head deadline passed: the 408 was sent, and reads now end the connection.
    timed_out: bool,
}

impl GuardedStream {
    pub(super) fn new(inner: TcpStream, state: Arc<ConnectionState>, header_read_timeout: std::time::Duration) -> Self {
        Self { inner, state, header_read_timeout, deadline: None, timed_out: false }
    }

    /// Whether the head being read is past its deadline (polling the deadline registers the
    /// reader's waker, so hyper's pending read wakes up when it passes).
    fn head_overdue(&mut self, cx: &mut Context<'_>) -> bool {
        let reading_head = {
            let phase = self.state.phase();
            phase.open_requests == 0 && !phase.http2
        };
        if !reading_head {
            self.deadline = None;
            return false;
        }
        self.deadline.as_mut().is_some_and(|deadline| deadline.as_mut().poll(cx).is_ready())
    }

    /// Notes bytes just read: the first ones of a head start its deadline.
    fn on_bytes(&mut self, http2_preface: bool, cx: &mut Context<'_>) {
        let mut phase = self.state.phase();
        if phase.open_requests > 0 || phase.http2 {
            return;
        }
        if phase.head_started.is_none() {
            if http2_preface {
                phase.http2 = true;
                return;
            }
            let now = Instant::now();
            phase.head_started = Some(now);
            drop(phase);
            let mut deadline = Box::pin(tokio::time::sleep_until(now + self.header_read_timeout));
            // Registers the waker now, so the deadline fires even if hyper's next read is the
            // one that blocks.
            let _ = deadline.as_mut().poll(cx);
            self.deadline = Some(deadline);
        }
    }

    /// Sends the 408 (best effort: one write on a socket with nothing else queued).
    fn time_out(&mut self, cx: &mut Context<'_>) {
        self.timed_out = true;
        self.deadline = None;
        let _ = Pin::new(&mut self.inner).poll_write(cx, HEAD_TIMEOUT_RESPONSE);
        let _ = Pin::new(&mut self.inner).poll_flush(cx);
    }
}

impl AsyncRead for GuardedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.timed_out {
            return Poll::Ready(Ok(()));
        }
        if self.head_overdue(cx) {
            self.time_out(cx);
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let read = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = read {
            let fresh = &buf.filled()[before..];
            if !fresh.is_empty() {
                self.on_bytes(fresh.starts_with(HTTP2_PREFACE_START), cx);
            }
        }
        read
    }
}

impl AsyncWrite for GuardedStream {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
