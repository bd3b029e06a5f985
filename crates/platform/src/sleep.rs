//! Waiting inside a request: the few places that must wait for another request's write (a
//! refresh-token rotation in flight) do it through this port.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// Sleeps without blocking other work of the host (a monotonic-clock pollable in a Spin component).
pub trait Sleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + '_>>;
}

/// Blocks the calling thread: for native tests and tools, where each request has its own thread.
#[derive(Debug, Default, Clone, Copy)]
pub struct ThreadSleep;

impl Sleep for ThreadSleep {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn Future<Output = ()> + '_>> {
        std::thread::sleep(duration);
        Box::pin(std::future::ready(()))
    }
}
