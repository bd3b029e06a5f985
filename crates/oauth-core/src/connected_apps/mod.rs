//! "Connected apps": the grants a signed-in user has given MCP clients, as a page lists them,
//! and their revocation by that user.
//!
//! The grants come from the user's grant index ([`index`]), kept by the token issue and read
//! without listing keys. Every function here takes the user's id and only ever returns or
//! changes that user's grants: a grant of anyone else is "not found", and nothing is written.

pub mod groups;
mod index;

pub use groups::{AppGroup, group};
pub(crate) use index::{Owner, keep_listed, scan};

use std::collections::HashMap;

use platform::record::RecordError;
use platform::{Clock, KeyValueStore};

use crate::cimd;
use crate::clients::lookup_client;
use crate::grants;
use crate::records::{ClientRecord, GrantRecord};
use crate::rules::redirect_uri;

/// The most index entries one listing reads (each costs a read, plus one for its grant). A
/// listing deletes the dead entries it reads, so a longer index shrinks with each listing.
pub const MAX_ENTRIES_PER_LISTING: usize = 400;

/// One grant as the connected-apps page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectedApp {
    pub grant_id: String,
    pub client_id: String,
    /// The client's registered name: untrusted text, chosen by whoever registered it.
    pub client_name: Option<String>,
    /// Whether the client's registration still exists (it expires after long disuse). Always
    /// true for a client identified by a metadata document, which is fetched again when needed.
    pub client_registered: bool,
    /// The redirect URI the user approved (absent on grants from before this was recorded).
    pub redirect_uri: Option<String>,
    /// What the grant's tokens may do: the scopes of its latest access token (for a grant of an
    /// earlier release not refreshed since, the scopes it was approved with, `mcp` spelled out).
    pub scope: Vec<String>,
    /// When the user approved the client (the grant's creation).
    pub approved_at: u64,
    /// When the client last refreshed its tokens, if ever.
    pub refreshed_at: Option<u64>,
}

impl ConnectedApp {
    pub(crate) fn new(grant: GrantRecord, client: Option<&ClientRecord>) -> Self {
        Self {
            client_name: client.and_then(|c| c.metadata.client_name.clone()),
            client_registered: client.is_some() || cimd::is_url(&grant.client_id),
            grant_id: grant.grant_id,
            client_id: grant.client_id,
            redirect_uri: grant.redirect_uri,
            scope: grant.token_scope.unwrap_or_else(|| crate::rules::scope::expand(&grant.scope)),
            approved_at: grant.created_at,
            refreshed_at: grant.refreshed_at,
        }
    }

    /// For a client identified by an `https` URL (a Client ID Metadata Document), that URL's
    /// host: the client's identity, verified by where its metadata was fetched from.
    pub fn verified_host(&self) -> Option<String> {
        let url = url::Url::parse(&self.client_id).ok().filter(|url| url.scheme() == "https")?;
        url.host_str().map(str::to_owned)
    }

    /// The host the approved redirect URI goes to.
    pub fn redirect_host(&self) -> Option<String> {
        self.redirect_uri.as_deref().map(redirect_uri::display_host).filter(|host| !host.is_empty())
    }

    /// Whether the approved redirect URI is on the user's own computer (loopback `http`).
    pub fn redirect_is_loopback(&self) -> bool {
        self.redirect_uri.as_deref().is_some_and(redirect_uri::is_loopback)
    }
}

/// A user's connected apps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Most recently approved first.
    pub apps: Vec<ConnectedApp>,
    /// The listing stopped at [`MAX_ENTRIES_PER_LISTING`]; reloading shows the rest (the
    /// dead entries read this time are gone by then).
    pub truncated: bool,
}

/// The clients `user_id` has live grants for, one per grant.
pub fn list(store: &dyn KeyValueStore, clock: &dyn Clock, user_id: &str) -> Result<Listing, RecordError> {
    if user_id.is_empty() {
        return Ok(Listing::default());
    }
    let scan = index::scan(store, clock, Owner::User(user_id), MAX_ENTRIES_PER_LISTING)?;
    let mut clients: HashMap<String, Option<ClientRecord>> = HashMap::new();
    let mut apps = Vec::with_capacity(scan.grants.len());
    for grant in scan.grants {
        if !clients.contains_key(&grant.client_id) {
            let client = known_client(store, clock, &grant.client_id)?;
            clients.insert(grant.client_id.clone(), client);
        }
        let client = clients.get(&grant.client_id).and_then(Option::as_ref);
        apps.push(ConnectedApp::new(grant, client));
    }
    apps.sort_by(|a, b| b.approved_at.cmp(&a.approved_at).then_with(|| a.grant_id.cmp(&b.grant_id)));
    Ok(Listing { apps, truncated: scan.truncated })
}

/// What this server knows of `client_id` without fetching anything: its registration, or for a
/// client identified by a metadata document URL, the cached document (seen as a registration).
/// A listing never fetches a document: a page load must not make this server call other hosts.
pub(crate) fn known_client(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client_id: &str,
) -> Result<Option<ClientRecord>, RecordError> {
    if cimd::is_url(client_id) {
        return Ok(cimd::cache::load(store, clock, client_id)?.map(|document| document.client()));
    }
    lookup_client(store, clock, client_id)
}

/// Why [`revoke_for_user`] revoked nothing.
#[derive(Debug, thiserror::Error)]
pub enum RevokeAppError {
    /// No such grant, or not this user's: nothing was changed.
    #[error("this user has no such connected app")]
    NotFound,
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// What was revoked: the client, and the redirect URIs it could have been approved with (to
/// forget the browser's remembered approvals for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RevokedApp {
    pub client_id: String,
    pub redirect_uris: Vec<String>,
}

/// Revokes `user_id`'s grant `grant_id` the way every revocation does
/// ([`grants::revoke_grant`]: the marker, then the tokens, so they fail on the next request
/// on every instance). A grant of another user, or none, is [`RevokeAppError::NotFound`] and
/// nothing is written; revoking an already revoked grant of the user writes nothing either.
pub fn revoke_for_user(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    grant_id: &str,
) -> Result<RevokedApp, RevokeAppError> {
    let grant = grants::load(store, clock, grant_id)?
        .filter(|grant| !user_id.is_empty() && grant.props.user_id == user_id)
        .ok_or(RevokeAppError::NotFound)?;
    if !grants::is_revoked(store, clock, &grant)? {
        grants::revoke_grant(store, clock, grant_id)?;
    }
    let registered = lookup_client(store, clock, &grant.client_id)?.map(|c| c.metadata.redirect_uris);
    let redirect_uris = grant.redirect_uri.into_iter().chain(registered.into_iter().flatten()).collect();
    Ok(RevokedApp { client_id: grant.client_id, redirect_uris })
}

/// The most grants one request revokes at once (an app's connections, "revoke all").
pub const MAX_REVOKED_AT_ONCE: usize = 100;

/// Revokes several of `user_id`'s grants at once (an app's connections): each is checked
/// first, and if any is not the user's live grant, nothing is written
/// ([`RevokeAppError::NotFound`]); then each is revoked as [`revoke_for_user`] does.
pub fn revoke_all_for_user(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    grant_ids: &[&str],
) -> Result<Vec<RevokedApp>, RevokeAppError> {
    if grant_ids.is_empty() || grant_ids.len() > MAX_REVOKED_AT_ONCE {
        return Err(RevokeAppError::NotFound);
    }
    for grant_id in grant_ids {
        let owned =
            grants::load(store, clock, grant_id)?.is_some_and(|g| !user_id.is_empty() && g.props.user_id == user_id);
        if !owned {
            return Err(RevokeAppError::NotFound);
        }
    }
    grant_ids.iter().map(|grant_id| revoke_for_user(store, clock, user_id, grant_id)).collect()
}

#[cfg(test)]
mod tests;
