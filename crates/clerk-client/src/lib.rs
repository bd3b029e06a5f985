//! A host-agnostic client for Clerk as an upstream OpenID Connect provider.
//!
//! The parts, in the order a sign-in uses them:
//! - [`config`]: the Clerk settings (Spin variables) and their validation.
//! - [`discovery`]: OIDC discovery of the Frontend API, cached in the key-value store.
//! - [`upstream`]: the authorization URL (state, PKCE S256, nonce) and the code exchange (`oauth2`).
//! - [`id_token`]: the ID-token claim checks (`iss`, `aud`, `exp`, `nonce`).
//! - [`backend`]: the user's profile and `public_metadata.role` from the Backend API (the
//!   authoritative source), and [`BackendApi`], the user directory the token endpoint uses to
//!   re-read the role on refresh.
//! - [`claims`]: the profile claims every Clerk source reports, and the role in `public_metadata`.
//! - [`profile`]: the props of a sign-in from the ID token and userinfo, when the Backend API
//!   cannot answer.
//!
//! Everything talks to the network through [`platform::HttpClient`] with a timeout, so tests use
//! an in-memory fake and components use Spin's outbound HTTP.

pub mod backend;
pub mod claims;
pub mod config;
pub mod discovery;
pub mod error;
pub mod id_token;
mod keys;
mod oauth2_http;
pub mod profile;
mod transport;
pub mod upstream;
mod userinfo;

pub use backend::{BackendApi, ClerkDirectory, ClerkUser};
pub use config::{BackendConfig, ClerkConfig};
pub use discovery::ProviderMetadata;
pub use error::ClerkError;
pub use id_token::IdTokenClaims;
pub use upstream::{Clerk, SignedIn, UpstreamRequest};

use std::time::Duration;

/// How long any single call to Clerk may take before it counts as "Clerk is slow".
pub const CLERK_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest response body accepted from Clerk; anything larger is treated as garbage.
pub const MAX_RESPONSE_BYTES: usize = 256 * 1024;

/// An in-memory Clerk behind the `HttpClient` port, for this crate's and the sign-in flow's tests.
#[cfg(any(test, feature = "test-support"))]
pub mod fake;
