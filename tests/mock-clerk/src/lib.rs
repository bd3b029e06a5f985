//! A mock Clerk for the tests: the development sign-in's OIDC provider (`mcp_dev::sign_in`, which
//! speaks the shapes of Clerk's Frontend and Backend APIs on one loopback origin), signing the
//! chosen user in without a page, plus the switches a test needs to make Clerk misbehave.
//!
//! Which user signs in: the `login_hint` query parameter (an email) if it names a known user,
//! otherwise [`MockClerk::set_next_user`], otherwise the admin user. Built-in users (see
//! [`users::defaults`]): `admin@example.com` (role `admin`), `premium@example.com` (`premium`),
//! `user@example.com` (no role), `banned@example.com` (banned).
//!
//! Webhooks ([`webhooks`]): Clerk's events (`user.deleted`, `user.updated`, `session.*`) as
//! deliveries signed as Svix signs them, with [`webhooks::WEBHOOK_SECRET`].
//!
//! Switches ([`MockClerk::set_fault`]): slow (a delay before every answer), down (503 with an
//! HTML page), refused (connections closed without an answer) and malformed (200 with garbage);
//! [`MockClerk::fail_next_authorize`]; [`MockClerk::hits`] counts requests per path.
//!
//! ```no_run
//! let clerk = mock_clerk::MockClerk::start().unwrap();
//! println!("issuer {}", clerk.base_url());
//! clerk.set_next_user("premium@example.com");
//! ```

pub mod webhooks;

use std::collections::HashMap;
use std::ops::Deref;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use mcp_dev::sign_in::{Before, Gate, Provider, Request, Response};

pub use mcp_dev::sign_in::{CLIENT_ID, CLIENT_SECRET, Options, SECRET_KEY, User, users};

/// A failure mode for every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Wait this long before answering.
    Slow(Duration),
    /// `503` with an HTML body, like a load balancer in front of a dead service.
    Down,
    /// Accept the connection and close it without answering; a request on a connection opened
    /// earlier (a pooled keep-alive connection) gets its connection closed without an answer too.
    Refused,
    /// `200` with a body that is not what the endpoint promises.
    Malformed,
}

/// The switches, in front of the provider ([`Gate`]).
#[derive(Default)]
struct Switches {
    inner: Mutex<SwitchState>,
}

#[derive(Default)]
struct SwitchState {
    fault: Fault,
    authorize_error: Option<String>,
    hits: HashMap<String, usize>,
}

impl Switches {
    fn lock(&self) -> MutexGuard<'_, SwitchState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Gate for Switches {
    fn admit(&self) -> bool {
        self.lock().fault != Fault::Refused
    }

    fn before(&self, request: &Request) -> Before {
        let mut state = self.lock();
        if state.fault == Fault::Refused {
            return Before::Close;
        }
        *state.hits.entry(request.uri().path().to_owned()).or_default() += 1;
        if request.uri().path() == "/oauth/authorize"
            && let Some(error) = state.authorize_error.take()
        {
            return Before::Replace(authorize_error(request, &error));
        }
        match state.fault {
            Fault::Slow(delay) => Before::Delay(delay),
            Fault::Down => {
                Before::Replace(text(503, "text/html", "<html><body><h1>503 Service Unavailable</h1></body></html>"))
            }
            Fault::Malformed => Before::Replace(text(200, "application/json", "<html>this is not JSON")),
            Fault::None | Fault::Refused => Before::Answer,
        }
    }
}

/// The redirect back to the client with `error=<error>` (and its `state`).
fn authorize_error(request: &Request, error: &str) -> Response {
    let query = platform::web::decode_pairs(request.uri().query().unwrap_or("").as_bytes());
    let get = |name: &str| query.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default();
    let redirect_uri = get("redirect_uri");
    let pairs = [("error", error), ("error_description", "mock Clerk was told to fail"), ("state", get("state"))];
    let separator = if redirect_uri.contains('?') { '&' } else { '?' };
    let location = format!("{redirect_uri}{separator}{}", platform::web::encode_pairs(pairs));
    http::Response::builder().status(302).header("location", location).body(Vec::new()).unwrap_or_default()
}

fn text(status: u16, content_type: &str, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap_or_default()
}

/// A running mock Clerk. It stops when dropped. The provider's own methods (users, the next
/// user, its variables) are reached through it ([`Deref`]).
pub struct MockClerk {
    provider: Provider,
    switches: Arc<Switches>,
}

impl MockClerk {
    /// Starts a mock on a free loopback port, signing users in without a page.
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> anyhow::Result<Self> {
        let switches = Arc::new(Switches::default());
        let provider = Provider::start_gated(options, switches.clone())?;
        Ok(Self { provider, switches })
    }

    /// Makes the next `/oauth/authorize` redirect back with `error=<code>` (once).
    pub fn fail_next_authorize(&self, error: &str) {
        self.switches.lock().authorize_error = Some(error.to_owned());
    }

    /// Sets the failure mode for every endpoint.
    pub fn set_fault(&self, fault: Fault) {
        self.switches.lock().fault = fault;
    }

    /// Convenience: `Fault::Slow(delay)`.
    pub fn set_slow(&self, delay: Duration) {
        self.set_fault(Fault::Slow(delay));
    }

    /// How many requests hit `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.switches.lock().hits.get(path).copied().unwrap_or(0)
    }
}

impl Deref for MockClerk {
    type Target = Provider;
    fn deref(&self) -> &Provider {
        &self.provider
    }
}
