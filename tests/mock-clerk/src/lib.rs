//! A mock Clerk for tests and for the development sign-in.
//!
//! It speaks the shapes of Clerk's real endpoints on one
//! loopback origin, which is both the Frontend API (the OIDC issuer) and the Backend API (`/v1`):
//!
//! | Endpoint | Behaviour |
//! | --- | --- |
//! | `GET /.well-known/openid-configuration` | discovery document for this origin |
//! | `GET /.well-known/jwks.json` | one EC P-256 key (`ES256`); ID tokens are real signed JWTs |
//! | `GET /oauth/authorize` | checks the request, then redirects straight back with `code` and `state` for the chosen user (see below), or with `error=` when told to; in development mode it shows a sign-in page instead |
//! | `POST /oauth/token` | `authorization_code` with Basic or post client auth and a PKCE S256 check; returns `access_token`, `token_type`, `expires_in`, `refresh_token`, `scope`, `id_token` |
//! | `GET /oauth/userinfo` | Bearer access token; claims by scope |
//! | `GET /v1/users/{id}` | Bearer `sk_...`; Clerk's `User` object, or `{errors:[...]}` with 401/404 |
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
//! HTML page), refused (connections closed without an answer) and malformed (200 with garbage).
//!
//! ```no_run
//! let clerk = mock_clerk::MockClerk::start().unwrap();
//! println!("issuer {}", clerk.base_url());
//! clerk.set_next_user("premium@example.com");
//! ```

mod handlers;
mod server;
mod signing;
mod state;
pub mod users;
pub mod webhooks;

use std::sync::Arc;
use std::time::Duration;

pub use state::Fault;
pub use users::User;

use state::State;

/// Credentials of the OAuth application the mock accepts.
pub const CLIENT_ID: &str = "mock_client_id";
pub const CLIENT_SECRET: &str = "mock_client_secret";
/// The Backend API key the mock accepts.
pub const SECRET_KEY: &str = "sk_test_mock_secret_key";

/// How the mock is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// Show a sign-in page at `/oauth/authorize` (pick an email and a role) instead of
    /// redirecting straight back: the development sign-in.
    pub interactive: bool,
}

/// A running mock Clerk. It stops when dropped.
pub struct MockClerk {
    base_url: String,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

impl MockClerk {
    /// Starts a mock on a free loopback port, on its own runtime threads (works from plain
    /// `#[test]`s and from async code alike).
    pub fn start() -> anyhow::Result<Self> {
        Self::start_with(Options::default())
    }

    pub fn start_with(options: Options) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", options.port)))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::new(base_url.clone(), options.interactive)?);
        runtime.spawn(server::serve(listener, state.clone()));
        Ok(Self { base_url, state, _runtime: runtime })
    }

    /// The origin: issuer, Frontend API and Backend API base (`clerk_frontend_api`, `clerk_api_url`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Spin variables that point the app at this mock.
    pub fn variables(&self) -> Vec<(String, String)> {
        [
            ("clerk_frontend_api", self.base_url.as_str()),
            ("clerk_api_url", self.base_url.as_str()),
            ("clerk_client_id", CLIENT_ID),
            ("clerk_client_secret", CLIENT_SECRET),
            ("clerk_secret_key", SECRET_KEY),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    /// The user the next `/oauth/authorize` signs in (by email), unless `login_hint` names one.
    pub fn set_next_user(&self, email: &str) {
        self.state.set_next_user(email);
    }

    /// Makes the next `/oauth/authorize` redirect back with `error=<code>` (once).
    pub fn fail_next_authorize(&self, error: &str) {
        self.state.set_authorize_error(Some(error.to_owned()));
    }

    /// Adds or replaces a user; returns it.
    pub fn upsert_user(&self, user: User) -> User {
        self.state.upsert_user(user)
    }

    /// Changes a user's `public_metadata.role` (what a refresh should pick up).
    pub fn set_role(&self, email: &str, role: Option<&str>) {
        self.state.set_role(email, role);
    }

    /// The user with this email.
    pub fn user(&self, email: &str) -> Option<User> {
        self.state.user_by_email(email)
    }

    /// Deletes a user (the Backend API then answers 404).
    pub fn delete_user(&self, email: &str) {
        self.state.delete_user(email);
    }

    /// Sets the failure mode for every endpoint.
    pub fn set_fault(&self, fault: Fault) {
        self.state.set_fault(fault);
    }

    /// Convenience: `Fault::Slow(delay)`.
    pub fn set_slow(&self, delay: Duration) {
        self.set_fault(Fault::Slow(delay));
    }

    /// How many requests hit `path` so far.
    pub fn hits(&self, path: &str) -> usize {
        self.state.hits(path)
    }
}
