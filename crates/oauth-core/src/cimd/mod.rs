//! Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document; MCP 2025-11-25
//! "Client Registration"): a client whose `client_id` is an `https` URL is described by the
//! JSON document at that URL, fetched when needed, instead of by a registration record.
//!
//! [`ClientResolver`] is where every `client_id` is resolved, at `/authorize`, `/token` and
//! `/revoke`: an id this server issued is looked up in the store (`crate::clients`, unchanged);
//! a URL is counted against its caller's address ([`throttle`]) and checked ([`client_id`])
//! before anything is fetched, then taken from the cache ([`cache`]), refused again if it was
//! refused a moment ago, or fetched ([`fetch`]) and validated ([`document`]), but only where
//! the runtime keeps the component away from private networks ([`network_guard`]). A document
//! that cannot be used is a [`DocumentRefused`]: the caller answers `invalid_client` (a 400 page
//! at `/authorize`, one fixed sentence) and logs why. A fetch happens inside the request that
//! needs it, bounded by [`fetch::FETCH_TIMEOUT`] in all and [`fetch::MAX_DOCUMENT_BYTES`].
//!
//! Limits on what an unauthenticated caller can make this server do ([`throttle`]): requests
//! naming documents per address; fetches started per address and in all, in windows longer than
//! a fetch takes, so a slow document server holds a bounded number of instances; one fetch per
//! request (5 s, 5 KiB, only for a URL that passed [`client_id`]'s rules, none for anything
//! else); one cached record per working document URL, of a few KiB, kept 5 minutes to 24 hours
//! (so a document in use is refetched at most every 5 minutes), and one bare refusal marker per
//! failing URL for a minute, both within a cap on cache writes per address. SSRF: documents are
//! fetched only over https on port 443 (`spin.toml`), the URL rules refuse private and
//! special-use hosts, and names that resolve to them are refused by the runtime, which must be
//! configured to (`[outbound_networking] block_networks = ["private"]`; [`network_guard`]
//! checks it before every fetch, except on a server that itself runs on loopback).

pub mod cache;
pub mod client_id;
mod document;
mod error;
pub mod fetch;
pub mod network_guard;
pub mod throttle;

#[cfg(test)]
mod tests;

use std::net::IpAddr;

use platform::{Clock, HttpClient, KeyValueStore, VariableError, Variables};

use crate::clients::{PresentedCredentials, lookup_client, verify_credentials};
use crate::records::{AuthMethod, ClientDocumentRecord, ClientRecord};
use crate::rules::redirect_uri::RedirectPolicy;
use client_id::DocumentUrl;

pub use client_id::{is_url, verified_host};
pub use error::{CimdError, ClientAuthError, DocumentRefused, ResolveError};
pub use throttle::{DocumentLimits, Limited};

/// Whether documents are used, from where, and how much a caller may make us fetch and store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CimdSettings {
    /// Off: URL `client_id`s are unknown clients, and the metadata does not advertise support.
    pub enabled: bool,
    /// This server runs on a loopback address (a developer's machine), so documents on loopback
    /// are allowed too (the draft's one exception to its SSRF rule), and the private-network
    /// check before a fetch is skipped (nobody but this machine can call it).
    pub allow_loopback: bool,
    pub limits: DocumentLimits,
}

impl CimdSettings {
    /// The Spin variable that turns documents on (`true`, the default) or off (`false`).
    pub const VARIABLE: &'static str = "client_id_metadata_documents";

    /// The settings from the variable's value (unset: on) and this server's public base URL,
    /// with the default limits.
    pub fn new(variable: Option<&str>, base_url: &str) -> Result<Self, VariableError> {
        let enabled = match variable.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("" | "true") => true,
            Some("false") => false,
            Some(other) => {
                let reason = format!("must be `true` or `false`, not `{other}`");
                return Err(VariableError::Invalid { name: Self::VARIABLE.into(), reason });
            }
        };
        Ok(Self { enabled, allow_loopback: false, limits: DocumentLimits::default() }.for_server(base_url))
    }

    /// The settings from the variables (`client_id_metadata_documents` and the limits
    /// [`DocumentLimits::from_variables`] reads), for a server that is not on loopback: see
    /// [`CimdSettings::for_server`].
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        let settings = Self::new(vars.get(Self::VARIABLE)?.as_deref(), "")?;
        Ok(Self { limits: DocumentLimits::from_variables(vars)?, ..settings })
    }

    /// These settings for a server at `base_url` (its public origin, which may come from the
    /// request on a developer's machine): documents on loopback are allowed when it runs on
    /// loopback itself.
    pub fn for_server(self, base_url: &str) -> Self {
        Self { allow_loopback: serves_on_loopback(base_url), ..self }
    }

    /// Documents off.
    pub fn disabled() -> Self {
        Self { enabled: false, allow_loopback: false, limits: DocumentLimits::default() }
    }

    /// Whether the metadata should advertise documents: they are on, and either this server
    /// runs on loopback or the runtime was found refusing private networks
    /// ([`network_guard::blocked_as_last_checked`]).
    pub async fn advertised(&self, store: &dyn KeyValueStore, clock: &dyn Clock, http: &dyn HttpClient) -> bool {
        self.enabled && (self.allow_loopback || network_guard::blocked_as_last_checked(store, clock, http).await)
    }
}

impl Default for CimdSettings {
    /// On, with the default limits, for a server that is not on loopback.
    fn default() -> Self {
        Self { enabled: true, allow_loopback: false, limits: DocumentLimits::default() }
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
pub struct ClientResolver<'a> {
    pub store: &'a dyn KeyValueStore,
    pub clock: &'a dyn Clock,
    /// Where documents are fetched from (Spin's outbound HTTP in the components).
    pub http: &'a dyn HttpClient,
    pub settings: CimdSettings,
    /// The private-use redirect schemes a document may list, as for registrations.
    pub redirect_policy: &'a RedirectPolicy,
    /// The address of the caller whose request this is (`platform::web::client_ip`): what the
    /// limits on document clients count.
    pub caller: Option<IpAddr>,
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
}

impl ClientResolver<'_> {
    /// The client `client_id` names, or `None` when there is none: an unknown or expired
    /// registration, or a URL while documents are off.
    pub async fn resolve(&self, client_id: &str) -> Result<Option<ResolvedClient>, ResolveError> {
        if !is_url(client_id) {
            return Ok(lookup_client(self.store, self.clock, client_id)?.map(ResolvedClient::known));
        }
        if !self.settings.enabled {
            return Ok(None);
        }
        self.settings.limits.count_request(self.store, self.clock, self.caller)?;
        self.resolve_document(client_id).await.map(Some)
    }

    /// The client a document URL describes: cached, or fetched now.
    async fn resolve_document(&self, client_id: &str) -> Result<ResolvedClient, ResolveError> {
        let refused = |error: CimdError| DocumentRefused { client_id: client_id.to_owned(), error };
        let url = DocumentUrl::parse(client_id, self.settings.allow_loopback).map_err(|e| refused(e.into()))?;
        if let Some(cached) = cache::load(self.store, self.clock, url.as_str())? {
            return Ok(ResolvedClient::known(cached.client()));
        }
        if cache::recently_refused(self.store, self.clock, url.as_str())? {
            return Err(refused(CimdError::RecentlyRefused).into());
        }
        if !self.settings.allow_loopback {
            let guarded = network_guard::private_networks_blocked(self.http).await;
            guarded.map_err(|reachable| refused(CimdError::PrivateNetworksReachable(reachable)))?;
        }
        self.settings.limits.count_fetch(self.store, self.clock, self.caller)?;
        let fetched = match fetch::fetch(self.http, &url, self.redirect_policy).await {
            Ok(fetched) => fetched,
            Err(error) => {
                if error.came_from_fetching() && self.may_write() {
                    // Best effort: without the marker, the next request fetches again.
                    let _ = cache::save_refusal(self.store, url.as_str(), self.clock.now_unix());
                }
                return Err(refused(error).into());
            }
        };
        let document = cache::entry(url.as_str(), fetched.metadata, self.clock.now_unix(), fetched.max_age);
        Ok(ResolvedClient { client: document.client(), fetched: Some(document) })
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
            Err(ResolveError::Limited(limited)) => return Err(ClientAuthError::Limited(limited)),
            Err(ResolveError::Store(error)) => return Err(ClientAuthError::Store(error)),
        };
        verify_credentials(&resolved.client, presented)?;
        Ok(resolved)
    }
}

impl ClientResolver<'_> {
    /// Caches a document fetched for `resolved`'s request, if the caller's address may still
    /// write to the cache. Call it once the request succeeded, so a refused request stores no
    /// document. Best effort: without the cache the next request fetches again, so a failed
    /// write must not fail the request that succeeded.
    pub fn remember(&self, resolved: &ResolvedClient) {
        if let Some(document) = &resolved.fetched
            && self.may_write()
        {
            let _ = cache::save(self.store, document);
        }
    }

    /// Counts a cache write for this caller; false past its cap.
    fn may_write(&self) -> bool {
        self.settings.limits.may_write(self.store, self.clock, self.caller)
    }
}
