//! What the HTTP trigger allows one client (spin-local's own: Spin has none).

use std::time::Duration;

/// What spin-local allows one client, so that a slow or stalled one ties up a socket for a
/// while at most, never the instance slots everyone shares. Spin has none of these (a client
/// trickling its body holds an instance there for as long as it likes); see the README.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request head must arrive within this of its first byte, else `408` and the connection
    /// is closed. An idle keep-alive connection has no deadline.
    pub header_read_timeout: Duration,
    /// The whole request, head and body, must arrive within this of its first byte, else `408`.
    /// The body is read before the request takes an instance slot.
    pub request_read_timeout: Duration,
    /// The largest request body read, else `413`: far above every component's own cap, which
    /// then answers first, as on Spin.
    pub max_request_body: usize,
    /// How long a request waits for an instance slot when all are taken, else `503`.
    pub instance_wait_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            request_read_timeout: Duration::from_secs(30),
            max_request_body: 16 << 20,
            instance_wait_timeout: Duration::from_secs(10),
        }
    }
}
