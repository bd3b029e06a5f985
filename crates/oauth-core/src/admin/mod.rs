//! The operator console's model: every grant of the deployment, filtered by user or by client,
//! and the operator's revocations and client blocks.
//!
//! Grants come from the deployment's grant index (`connected_apps::index`, [`Owner::All`]), or,
//! filtered by user, from that user's index; neither lists keys. A listing reads at most
//! [`MAX_ENTRIES_PER_LISTING`] entries (and deletes the dead ones it meets, so the next reads
//! less); a revocation of many grants reads at most [`MAX_ENTRIES_PER_CHANGE`] and says when it
//! stopped short. Who may call these is the caller's business (the console checks the
//! operator's role).

pub mod blocks;

use std::collections::HashMap;

use platform::record::RecordError;
use platform::{Clock, KeyValueStore};

pub use blocks::{BlockError, ClientBlock, is_blocked};

use crate::connected_apps::{self, ConnectedApp, MAX_ENTRIES_PER_LISTING, Owner};
use crate::grants;
use crate::records::ClientRecord;
use crate::user_access::{self, Changed, MAX_ENTRIES_PER_CHANGE};

/// One grant as the console shows it: the app as its user sees it, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminGrant {
    pub app: ConnectedApp,
    pub user_id: String,
    pub user_email: Option<String>,
}

/// Which grants a listing shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only this user's (read from the user's own index).
    pub user_id: Option<String>,
    /// Only this client's.
    pub client_id: Option<String>,
}

/// A console listing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// Most recently approved first.
    pub grants: Vec<AdminGrant>,
    /// The listing stopped at its read budget; reloading shows more.
    pub truncated: bool,
}

/// The live grants matching `filter`.
pub fn list(store: &dyn KeyValueStore, clock: &dyn Clock, filter: &Filter) -> Result<Listing, RecordError> {
    let owner = match filter.user_id.as_deref() {
        Some(user_id) if !user_id.is_empty() => Owner::User(user_id),
        _ => Owner::All,
    };
    let scan = connected_apps::scan(store, clock, owner, MAX_ENTRIES_PER_LISTING)?;
    let mut clients: HashMap<String, Option<ClientRecord>> = HashMap::new();
    let mut listed = Vec::new();
    for grant in scan.grants {
        if filter.client_id.as_deref().is_some_and(|client_id| client_id != grant.client_id) {
            continue;
        }
        if !clients.contains_key(&grant.client_id) {
            let client = connected_apps::known_client(store, clock, &grant.client_id)?;
            clients.insert(grant.client_id.clone(), client);
        }
        let client = clients.get(&grant.client_id).and_then(Option::as_ref);
        let (user_id, user_email) = (grant.props.user_id.clone(), grant.props.email.clone());
        listed.push(AdminGrant { app: ConnectedApp::new(grant, client), user_id, user_email });
    }
    listed.sort_by(|a, b| b.app.approved_at.cmp(&a.app.approved_at).then_with(|| a.app.grant_id.cmp(&b.app.grant_id)));
    Ok(Listing { grants: listed, truncated: scan.truncated })
}

/// What a revocation ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revoked {
    pub user_id: String,
    pub client_id: String,
}

/// Revokes grant `grant_id`, whoever's it is; `None` when there is no such live grant (nothing
/// written).
pub fn revoke_grant(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant_id: &str,
) -> Result<Option<Revoked>, RecordError> {
    let Some(grant) = grants::load(store, clock, grant_id)? else {
        return Ok(None);
    };
    if grants::is_revoked(store, clock, &grant)? {
        return Ok(None);
    }
    grants::revoke_grant(store, clock, grant_id)?;
    Ok(Some(Revoked { user_id: grant.props.user_id, client_id: grant.client_id }))
}

/// Revokes every grant of `user_id` (as a deleted user's: codes issued before now cannot be
/// exchanged either; the user can sign in again and get new grants).
pub fn revoke_user(store: &dyn KeyValueStore, clock: &dyn Clock, user_id: &str) -> Result<Changed, RecordError> {
    user_access::end_all(store, clock, user_id)
}

/// Revokes every grant of `client_id` the deployment's index lists.
pub fn revoke_client(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<Changed, RecordError> {
    let scan = connected_apps::scan(store, clock, Owner::All, MAX_ENTRIES_PER_CHANGE)?;
    let mut changed = Changed { grants: 0, complete: !scan.truncated };
    for grant in scan.grants.iter().filter(|grant| grant.client_id == client_id) {
        grants::revoke_grant(store, clock, &grant.grant_id)?;
        changed.grants += 1;
    }
    Ok(changed)
}

/// Blocks `client_id` (see [`blocks`]) and revokes its grants, so its tokens stop at once.
pub fn block_client(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client_id: &str,
    operator: &str,
) -> Result<Changed, BlockError> {
    blocks::block(store, clock, client_id, operator)?;
    Ok(revoke_client(store, clock, client_id)?)
}

/// Lifts the block of `client_id`; false when it was not blocked. Its revoked grants stay
/// revoked: its users approve it again.
pub fn unblock_client(store: &dyn KeyValueStore, clock: &dyn Clock, client_id: &str) -> Result<bool, RecordError> {
    blocks::unblock(store, clock, client_id)
}

/// The blocked clients, most recently blocked first.
pub fn blocked_clients(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<Vec<ClientBlock>, RecordError> {
    blocks::list(store, clock)
}

#[cfg(test)]
mod tests;
