//! How a guest's response reaches hyper: as it stood when the guest set the response outparam.
//!
//! Spin hands the response to hyper the moment the guest sets the outparam, and hyper may poll
//! the body before the guest has written it: Spin's SQLite key-value store and its environment
//! variable provider call `tokio::task::block_in_place`, which passes the worker's scheduler to
//! another thread, so from then on the guest and the connection task run in parallel. hyper
//! then flushes the head alone, and without `TCP_NODELAY` the body waits for the client's
//! delayed ACK (~40 ms). On Spin 4.1 that hit 54-89% of the requests of components that set the
//! outparam before writing their body.
//!
//! spin-local makes that outcome certain rather than likely (never kinder than Spin): the body
//! hyper gets first yields what the guest had written, and whether it had finished, when it set
//! the outparam; if it had not finished, the body then reports "not ready" once, so hyper
//! flushes what it has before it sees anything written later. A guest that writes and finishes
//! a buffered body before setting the outparam gets head and body sent in one write, as on Spin.

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::{Body, Frame};
use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use wasmtime_wasi_http::Error;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;

/// The response body as hyper will see it: frames ready at set time first, then the rest.
pub(crate) fn as_set(body: HyperOutgoingBody) -> HyperOutgoingBody {
    AsSet::snapshot(body).boxed_unsync()
}

struct AsSet {
    /// Frames the guest had written when it set the outparam.
    ready: VecDeque<Result<Frame<Bytes>, Error>>,
    /// The guest had finished (or failed) the body by then.
    ended: bool,
    /// The one "not ready" that stands for the guest still running, already reported.
    deferred: bool,
    rest: HyperOutgoingBody,
}

impl AsSet {
    /// Takes everything the body holds right now, without waiting.
    fn snapshot(mut rest: HyperOutgoingBody) -> Self {
        let mut ready = VecDeque::new();
        let mut cx = Context::from_waker(Waker::noop());
        let ended = loop {
            match Pin::new(&mut rest).poll_frame(&mut cx) {
                Poll::Ready(Some(Ok(frame))) => ready.push_back(Ok(frame)),
                Poll::Ready(Some(Err(e))) => {
                    ready.push_back(Err(e));
                    break true;
                }
                Poll::Ready(None) => break true,
                Poll::Pending => break false,
            }
        };
        Self { ready, ended, deferred: false, rest }
    }
}

impl Body for AsSet {
    type Data = Bytes;
    type Error = Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
        if let Some(frame) = self.ready.pop_front() {
            return Poll::Ready(Some(frame));
        }
        if self.ended {
            return Poll::Ready(None);
        }
        if !self.deferred {
            // Come back at once, after hyper has flushed what it has.
            self.deferred = true;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        Pin::new(&mut self.rest).poll_frame(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Empty, Full};
    use tokio::sync::mpsc;

    /// What the guest wrote, as a body: the receiving end of its writes.
    struct Written(mpsc::UnboundedReceiver<Bytes>);

    impl Body for Written {
        type Data = Bytes;
        type Error = Error;
        fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Error>>> {
            self.0.poll_recv(cx).map(|chunk| chunk.map(|data| Ok(Frame::data(data))))
        }
    }

    fn polls(body: &mut HyperOutgoingBody) -> Vec<Poll<Option<Vec<u8>>>> {
        let mut cx = Context::from_waker(Waker::noop());
        (0..3)
            .map(|_| match Pin::new(&mut *body).poll_frame(&mut cx) {
                Poll::Ready(Some(frame)) => {
                    Poll::Ready(Some(frame.ok().and_then(|f| f.into_data().ok()).unwrap_or_default().to_vec()))
                }
                Poll::Ready(None) => Poll::Ready(None),
                Poll::Pending => Poll::Pending,
            })
            .collect()
    }

    #[test]
    fn a_body_finished_before_set_is_all_there_at_the_first_poll() {
        let mut body = as_set(Full::new(Bytes::from_static(b"done")).map_err(|never| match never {}).boxed_unsync());
        assert_eq!(polls(&mut body), [Poll::Ready(Some(b"done".to_vec())), Poll::Ready(None), Poll::Ready(None)]);
        let mut empty = as_set(Empty::new().map_err(|never| match never {}).boxed_unsync());
        assert_eq!(polls(&mut empty)[0], Poll::Ready(None));
    }

    #[test]
    fn a_body_unfinished_at_set_gives_its_written_part_then_waits_once() {
        let (tx, rx) = mpsc::unbounded_channel();
        tx.send(Bytes::from_static(b"first")).expect("send");
        let mut body = as_set(Written(rx).boxed_unsync());
        // Written after set: reaches hyper only after it flushed what it had.
        tx.send(Bytes::from_static(b"later")).expect("send");
        assert_eq!(
            polls(&mut body),
            [Poll::Ready(Some(b"first".to_vec())), Poll::Pending, Poll::Ready(Some(b"later".to_vec()))]
        );
    }
}
