//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
//! "Client Registration"): a client whose `client_id` is an `https` URL is described by the
//! JSON document at that URL, fetched when needed, instead of by a registration record.
//!
//! [`ClientResolver`] is where every `client_id` is resolved, at `/authorize`, `/token` and
//! `/revoke`: an id this server issued is looked up in the store (`crate::clients`, unchanged);
//! a URL is checked ([`client_id`]) before anything is fetched, then taken from the cache
//! ([`cache`]) or fetched ([`fetch`]) and validated ([`document`]). A document that cannot be
//! used is a [`DocumentRefused`]: the caller answers `invalid_client` (a 400 page at
//! `/authorize`) and logs why, and nothing is stored. A fetch happens inside the request that
//! needs it, bounded by [`fetch::FETCH_TIMEOUT`] and [`fetch::MAX_DOCUMENT_BYTES`], so a slow
//! or broken document host costs only its own client's requests.
//!
//! Limits on what an unauthenticated caller can make this server do: one fetch per request
//! (5 s, 5 KiB, only for a URL that passed [`client_id`]'s rules, none for anything else); one
//! cached record per working document URL, of a few KiB, kept 5 minutes to 24 hours (so a
//! document in use is refetched at most every 5 minutes); nothing stored for a refused one. A
//! failing URL is fetched again by each request that names it (the draft forbids caching
//! errors, and a refusal must leave the store unchanged): that is one bounded fetch per
//! request, which the request rate limits bound. SSRF: documents are fetched only over https on
//! port 443 (`spin.toml`), the URL rules refuse private and special-use hosts, and
//! `[outbound_networking] block_networks = ["private"]` in the runtime config refuses names
//! that resolve to them.

pub mod cache;
pub mod client_id;
mod document;
mod error;
pub mod fetch;

#[cfg(test)]
mod tests;

use platform::{Clock, HttpClient, KeyValueStore, VariableError};

use crate::clients::{ClientAuthError, PresentedCredentials, lookup_client, verify_credentials};
use crate::records::{AuthMethod, ClientDocumentRecord, ClientRecord};
use crate::rules::redirect_uri::RedirectPolicy;
use client_id::DocumentUrl;

pub use client_id::{is_url, verified_host};
pub use error::{CimdError, DocumentRefused, ResolveError};

/// Whether documents are used, and from where.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CimdSettings {
    /// Off: URL `client_id`s are unknown clients, and the metadata does not advertise support.
    pub enabled: bool,
    /// This server runs on a loopback address (a developer's machine), so documents on loopback
    /// are allowed too (the draft's one exception to its SSRF rule).
    pub allow_loopback: bool,
}

impl CimdSettings {
    /// The Spin variable that turns documents on (`true`, the default) or off (`false`).
    pub const VARIABLE: &'static str = "client_id_metadata_documents";

    /// The settings from the variable's value (unset: on) and this server's public base URL.
    pub fn new(variable: Option<&str>, base_url: &str) -> Result<Self, VariableError> {
        let enabled = match variable.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "true") => true,
            Some("false") => false,
            Some(other) => {
                let reason = format!("must be `true` or `false`, not `{other}`");
                return Err(VariableError::Invalid { name: Self::VARIABLE.into(), reason });
            }
        };
        Ok(Self { enabled, allow_loopback: serves_on_loopback(base_url) })
    }

    /// Documents off.
    pub fn disabled() -> Self {
        Self { enabled: false, allow_loopback: false }
    }
}

/// Whether `base_url`'s host is a loopback address or `localhost`.
fn serves_on_loopback(base_url: &str) -> bool {
    url::Url::parse(base_url).ok().is_some_and(|url| match url.host() {
        Some(url::Host::Domain(name)) => name == "localhost",
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    })
}

/// Resolves `client_id`s: registered clients from the store, URLs from their documents.
pub struct ClientResolver<'a, H> {
    pub store: &'a dyn KeyValueStore,
    pub clock: &'a dyn Clock,
    /// Where documents are fetched from (Spin's outbound HTTP in the components).
    pub http: &'a H,
    pub settings: CimdSettings,
    /// The private-use redirect schemes a document may list, as for registrations.
    pub redirect_policy: &'a RedirectPolicy,
}

/// A resolved client, and the document fetched for it if it was not cached.
#[derive(Debug, Clone)]
pub struct ResolvedClient {
    pub client: ClientRecord,
    fetched: Option<ClientDocumentRecord>,
}

impl ResolvedClient {
    fn known(client: ClientRecord) -> Self {
        Self { client, fetched: None }
    }

    /// Caches a document fetched for this request. Call it once the request succeeded, so a
    /// refused request stores nothing. Best effort: without the cache the next request fetches
    /// again, so a failed write must not fail the request that succeeded.
    pub fn remember(&self, store: &dyn KeyValueStore) {
        if let Some(document) = &self.fetched {
            let _ = cache::save(store, document);
        }
    }
}

impl<H: HttpClient> ClientResolver<'_, H> {
    /// The client `client_id` names, or `None` when there is none: an unknown or expired
    /// registration, or a URL while documents are off.
    pub async fn resolve(&self, client_id: &str) -> Result<Option<ResolvedClient>, ResolveError> {
        if !is_url(client_id) {
            return Ok(lookup_client(self.store, self.clock, client_id)?.map(ResolvedClient::known));
        }
        if !self.settings.enabled {
            return Ok(None);
        }
        let refused = |error: CimdError| DocumentRefused { client_id: client_id.to_owned(), error };
        let url = DocumentUrl::parse(client_id, self.settings.allow_loopback).map_err(|e| refused(e.into()))?;
        if let Some(cached) = cache::load(self.store, self.clock, url.as_str())? {
            return Ok(Some(ResolvedClient::known(cached.client())));
        }
        let fetched = fetch::fetch(self.http, &url, self.redirect_policy).await.map_err(refused)?;
        let document = cache::entry(url.as_str(), fetched.metadata, self.clock.now_unix(), fetched.max_age);
        Ok(Some(ResolvedClient { client: document.client(), fetched: Some(document) }))
    }

    /// Authenticates a client at the token or revocation endpoint: resolves it, then checks
    /// the presented method and secret against it. A URL `client_id` presented with a secret is
    /// refused without a fetch: documents describe public clients only.
    pub async fn authenticate(&self, presented: &PresentedCredentials) -> Result<ResolvedClient, ClientAuthError> {
        if is_url(&presented.client_id) && presented.method != AuthMethod::None {
            return Err(ClientAuthError::InvalidClient);
        }
        let resolved = match self.resolve(&presented.client_id).await {
            Ok(Some(resolved)) => resolved,
            Ok(None) => return Err(ClientAuthError::InvalidClient),
            Err(ResolveError::Document(refused)) => return Err(ClientAuthError::Document(refused)),
            Err(ResolveError::Store(error)) => return Err(ClientAuthError::Store(error)),
        };
        verify_credentials(&resolved.client, presented)?;
        Ok(resolved)
    }
}
