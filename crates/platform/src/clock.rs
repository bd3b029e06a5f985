//! Wall-clock time in whole seconds since the Unix epoch, injectable for expiry tests.

use std::sync::atomic::{AtomicU64, Ordering};

pub trait Clock {
    fn now_unix(&self) -> u64;
}

impl<T: Clock + ?Sized> Clock for &T {
    fn now_unix(&self) -> u64 {
        (**self).now_unix()
    }
}

/// The system clock (`wasi:clocks/wall-clock` inside a component).
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> u64 {
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
    }
}

/// A clock tests move by hand.
#[derive(Debug, Default)]
pub struct ManualClock(AtomicU64);

impl ManualClock {
    pub fn at(now_unix: u64) -> Self {
        Self(AtomicU64::new(now_unix))
    }
    pub fn advance(&self, seconds: u64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}
