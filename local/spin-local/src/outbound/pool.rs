//! Idle outbound connections, reused by later requests to the same origin, as Spin reuses them.
//!
//! Spin's outbound `wasi:http` goes through hyper-util's pooling client, one per app, shared by
//! all its components and instances (`factor-outbound-http/src/wasi.rs` `HttpClients`;
//! `connection_pooling_enabled` is on by default, 3.5.0 to 4.0.2). A connection whose response
//! body was read to its end goes back to the pool, keyed by scheme, host and port only (not by
//! component: one component's `[[client_tls]]` connection can carry another's next request), and
//! stays there until it has been idle for 90 s (hyper-util's default) or the server closes it.
//! A reused connection skips the connect step, so `block_networks` and the TLS settings applied
//! when it was made. Without this, spin-local opened a connection per request, and a server fault
//! that only refuses new connections looked, here, like an outage Spin never sees.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::{Duration, Instant};
use wasmtime_wasi_http::WasiBody;

/// hyper-util's `pool_idle_timeout` default, which Spin keeps.
const IDLE_TIMEOUT: Duration = Duration::from_secs(90);

/// A connection's sending half: it takes the next request once this response was read (the pool
/// keeps it meanwhile).
pub(super) type Sender = hyper::client::conn::http1::SendRequest<WasiBody>;

/// Which connections a request may reuse: `(https?, host as in the URI, port)`.
pub(super) type Origin = (bool, String, u16);

/// Idle connections to one origin, each with the moment it went idle.
type IdleConnections = Vec<(Sender, Instant)>;

/// The app's idle connections (cheap to clone: one pool per app).
#[derive(Clone, Default)]
pub struct ConnectionPool {
    idle: Arc<Mutex<HashMap<Origin, IdleConnections>>>,
}

impl std::fmt::Debug for ConnectionPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConnectionPool")
    }
}

impl ConnectionPool {
    /// An idle connection to `origin` that can take a request now, if there is one; stale and
    /// closed ones are dropped on the way.
    pub(super) async fn take(&self, origin: &Origin) -> Option<Sender> {
        loop {
            let (mut sender, since) = self.idle.lock().ok()?.get_mut(origin)?.pop()?;
            if since.elapsed() > IDLE_TIMEOUT || sender.is_closed() {
                continue;
            }
            let ready = std::future::poll_fn(|cx| Poll::Ready(sender.poll_ready(cx))).await;
            if matches!(ready, Poll::Ready(Ok(()))) {
                return Some(sender);
            }
        }
    }

    /// Keeps `sender` for the next request to `origin` (its last response was read to the end).
    pub(super) fn put(&self, origin: Origin, sender: Sender) {
        if sender.is_closed() {
            return;
        }
        if let Ok(mut idle) = self.idle.lock() {
            idle.entry(origin).or_default().push((sender, Instant::now()));
        }
    }
}
