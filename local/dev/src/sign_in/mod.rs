//! The development sign-in: an OIDC provider that speaks the shapes of Clerk's endpoints, for
//! running the app without a Clerk instance (`cargo dev` starts it when no Clerk credentials are
//! configured). DEVELOPMENT ONLY: anyone who reaches it signs in as anyone, with any role.
//!
//! One loopback origin is both the Frontend API (the OIDC issuer) and the Backend API (`/v1`):
//!
//! | Endpoint | Behaviour |
//! | --- | --- |
//! | `GET /.well-known/openid-configuration` | discovery document for this origin |
//! | `GET /.well-known/jwks.json` | one EC P-256 key (`ES256`); ID tokens are real signed JWTs |
//! | `GET /oauth/authorize` | checks the request, then shows the sign-in page (pick an email and a role), or, without a page ([`Options::page`] off), redirects straight back with `code` and `state` for the chosen user |
//! | `POST /oauth/token` | `authorization_code` with Basic or post client auth and a PKCE S256 check; returns `access_token`, `token_type`, `expires_in`, `refresh_token`, `scope`, `id_token` |
//! | `GET /oauth/userinfo` | Bearer access token; claims by scope |
//! | `GET /v1/users/{id}` | Bearer `sk_...`; Clerk's `User` object, or `{errors:[...]}` with 401/404 |
//!
//! Without the page, the user who signs in is the one the `login_hint` query parameter names (an
//! email) if it is known, otherwise [`Provider::set_next_user`], otherwise the admin user.
//! Built-in users (see [`users::defaults`]): `admin@example.com` (role `admin`),
//! `premium@example.com` (`premium`), `user@example.com` (no role), `banned@example.com` (banned).
//!
//! A [`Gate`] sees every connection and request before the provider does: the test double of
//! Clerk (`tests/mock-clerk`) makes the provider slow, down, refusing or malformed through it.

mod handlers;
mod server;
mod signing;
mod state;
pub mod users;

use std::sync::Arc;
use std::time::Duration;

pub use users::User;

use state::State;

/// Credentials of the OAuth application the provider accepts.
pub const CLIENT_ID: &str = "mock_client_id";
pub const CLIENT_SECRET: &str = "mock_client_secret";
/// The Backend API key the provider accepts.
pub const SECRET_KEY: &str = "sk_test_mock_secret_key";

/// A request to the provider, and its answer.
pub type Request = http::Request<Vec<u8>>;
pub type Response = http::Response<Vec<u8>>;

/// How the provider is set up.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Loopback port to listen on; 0 picks a free one.
    pub port: u16,
    /// Show the sign-in page at `/oauth/authorize` (pick an email and a role) instead of
    /// redirecting straight back with the chosen user.
    pub page: bool,
}

/// What happens to a request before the provider answers it ([`Gate::before`]).
pub enum Before {
    /// The provider answers.
    Answer,
    /// The provider answers after this delay.
    Delay(Duration),
    /// This answer instead of the provider's.
    Replace(Response),
    /// No answer: the connection is closed.
    Close,
}

/// Sees every connection and request first.
pub trait Gate: Send + Sync + 'static {
    /// Whether a newly accepted connection is served (`false`: closed without an answer).
    fn admit(&self) -> bool {
        true
    }
    /// What happens to `request`.
    fn before(&self, _request: &Request) -> Before {
        Before::Answer
    }
}

/// The gate that lets everything through.
struct Open;
impl Gate for Open {}

/// A running provider. It stops when dropped.
pub struct Provider {
    base_url: String,
    state: Arc<State>,
    _runtime: tokio::runtime::Runtime,
}

impl Provider {
    /// Starts a provider, on its own runtime threads (works from plain `#[test]`s and from
    /// async code alike).
    pub fn start(options: Options) -> anyhow::Result<Self> {
        Self::start_gated(options, Arc::new(Open))
    }

    /// [`Provider::start`], with `gate` in front.
    pub fn start_gated(options: Options, gate: Arc<dyn Gate>) -> anyhow::Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
        let listener = runtime.block_on(tokio::net::TcpListener::bind(("127.0.0.1", options.port)))?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let state = Arc::new(State::new(base_url.clone(), options.page)?);
        runtime.spawn(server::serve(listener, state.clone(), gate));
        Ok(Self { base_url, state, _runtime: runtime })
    }

    /// The origin: issuer, Frontend API and Backend API base (`clerk_frontend_api`, `clerk_api_url`).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Spin variables that point the app at this provider.
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

    /// The user the next `/oauth/authorize` signs in without the page (by email), unless
    /// `login_hint` names one.
    pub fn set_next_user(&self, email: &str) {
        self.state.set_next_user(email);
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
}
