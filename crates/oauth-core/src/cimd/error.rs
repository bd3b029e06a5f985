//! Why a client metadata document was refused. Callers answer `invalid_client` (or the 400
//! page at `/authorize`, one fixed sentence whatever the reason) without details; the reason
//! goes to the operator's log.

use platform::OutboundError;
use platform::record::RecordError;

use super::cache::REFUSAL_CACHE_SECS;
use super::client_id::UrlError;
use super::network_guard::Reachable;
use super::throttle::Limited;
use crate::clients::CredentialsRefused;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CimdError {
    #[error("the URL {0}")]
    Url(#[from] UrlError),
    #[error("fetching the document failed: {0}")]
    Fetch(OutboundError),
    #[error("the document is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the document URL answered a redirect (HTTP {0}), which is not followed")]
    Redirect(u16),
    #[error("the document URL answered HTTP {0}, not 200")]
    Status(u16),
    #[error("the document is not JSON: {0}")]
    NotJson(String),
    #[error("the document's client_id is not exactly its URL")]
    ClientIdMismatch,
    #[error("the document asks for a shared-secret client (`{0}`); documents may describe public clients only")]
    SharedSecret(String),
    #[error("the document's token_endpoint_auth_method `{0}` is not supported (only `none`)")]
    UnsupportedAuthMethod(String),
    #[error("the document contains a client secret, which documents must not")]
    ClientSecret,
    #[error("the document is invalid: {0}")]
    Metadata(String),
    #[error(
        "no document is fetched: this component can reach private networks ({0}); refuse them in the \
         runtime config with `[outbound_networking] block_networks = [\"private\"]` \
         (`spin up --runtime-config-file runtime-config.toml`; README \"Deploy\")"
    )]
    PrivateNetworksReachable(Reachable),
    #[error("the document was refused less than {REFUSAL_CACHE_SECS} seconds ago (an earlier line says why)")]
    RecentlyRefused,
}

impl CimdError {
    /// True when the document was fetched, or its fetch tried, and this is what came of it: a
    /// refusal worth remembering for a moment, so the same URL is not fetched in a loop. (A URL
    /// refused by its form, or a fetch refused before it started, cost nothing to refuse again.)
    pub fn came_from_fetching(&self) -> bool {
        !matches!(self, CimdError::Url(_) | CimdError::PrivateNetworksReachable(_) | CimdError::RecentlyRefused)
    }
}

/// A refused `client_id` URL and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_id {client_id}: {error}")]
pub struct DocumentRefused {
    /// As the caller sent it (quote it only through `platform::diagnostic`, which escapes it).
    pub client_id: String,
    pub error: CimdError,
}

/// Why a `client_id` could not be resolved.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// A URL `client_id` whose document cannot be used: `invalid_client`, logged.
    #[error(transparent)]
    Document(#[from] DocumentRefused),
    /// The caller named too many document clients, or too many fetches are under way: 429.
    #[error(transparent)]
    Limited(#[from] Limited),
    /// The store failed: retry later.
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// Why a client could not authenticate at the token or revocation endpoint
/// ([`super::ClientResolver::authenticate`]).
#[derive(Debug, thiserror::Error)]
pub enum ClientAuthError {
    /// Unknown client, wrong secret or wrong method: RFC 6749 `invalid_client`.
    #[error("client authentication failed")]
    InvalidClient,
    /// A `client_id` URL whose document cannot be used: also `invalid_client`, and logged.
    #[error(transparent)]
    Document(#[from] DocumentRefused),
    /// A `client_id` URL, and its caller named too many, or too many fetches are under way: 429.
    #[error(transparent)]
    Limited(#[from] Limited),
    #[error(transparent)]
    Store(#[from] RecordError),
}

impl From<CredentialsRefused> for ClientAuthError {
    fn from(_: CredentialsRefused) -> Self {
        ClientAuthError::InvalidClient
    }
}
