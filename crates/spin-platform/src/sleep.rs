//! Sleeping inside a Spin component without a tokio runtime: wait on a
//! `wasi:clocks/monotonic-clock` pollable registered with Spin's executor.

use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::task::Poll;
use std::time::Duration;
use wasi::clocks::monotonic_clock;

pub async fn sleep(duration: Duration) {
    let nanos = u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    let deadline = monotonic_clock::now().saturating_add(nanos);
    let mut registered = false;
    poll_fn(|cx| {
        // Spin's executor re-polls when any registered pollable is ready, so check the clock
        // rather than assuming it was ours.
        if monotonic_clock::now() >= deadline {
            return Poll::Ready(());
        }
        if !registered {
            spin_executor::push_waker(monotonic_clock::subscribe_instant(deadline), cx.waker().clone());
            registered = true;
        }
        Poll::Pending
    })
    .await
}

/// [`sleep`] as the platform's [`platform::Sleep`] port.
#[derive(Debug, Default, Clone, Copy)]
pub struct SpinSleep;

impl platform::Sleep for SpinSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        Box::pin(sleep(duration))
    }
}
