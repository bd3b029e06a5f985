//! Grants: creation with the authorization code, the compare-and-swap that commits every token
//! change, and revocation.
//!
//! Why revocation is safe with a one-read hot path: the MCP server reads only the access-token
//! record, so revoking must delete those records. Every issuer first writes its new token
//! records, then adds their hashes to the grant with a compare-and-swap; revocation swaps the
//! grant to `Revoked` and then deletes every listed token. Whichever swap comes second sees the
//! other's change: an issuer that loses to a revocation deletes the records it just wrote, and a
//! revocation that comes after an issue finds the new hashes on the grant.

use platform::{Clock, KeyValueStore, StoreError};

use crate::keys;
use crate::props::UserProps;
use crate::records::{GrantRecord, GrantState, RECORD_VERSION};
use crate::storage::{self, Loaded};
use crate::validated::ValidatedAuthorization;

/// How often a revocation retries its swap when the grant keeps changing under it.
const REVOKE_ATTEMPTS: usize = 16;

/// Stores a new `Pending` grant `grant_id` (random) for a code about to be issued.
pub(crate) fn create_pending(
    store: &dyn KeyValueStore,
    grant_id: &str,
    validated: &ValidatedAuthorization,
    props: UserProps,
    now: u64,
    expires_at: u64,
) -> Result<(), StoreError> {
    let grant = GrantRecord {
        v: RECORD_VERSION,
        grant_id: grant_id.to_owned(),
        client_id: validated.client_id.clone(),
        scope: validated.scope.clone(),
        resource: validated.resource.clone(),
        props,
        state: GrantState::Pending,
        created_at: now,
        expires_at,
        access_tokens: Vec::new(),
        refresh: None,
    };
    storage::save(store, &grant_key(grant_id)?, &grant)
}

pub(crate) fn grant_key(grant_id: &str) -> Result<String, StoreError> {
    keys::grant(grant_id).ok_or_else(|| StoreError::Backend("malformed grant id".into()))
}

/// Reads a grant (expired counts as absent).
pub(crate) fn load(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant_id: &str,
) -> Result<Option<Loaded<GrantRecord>>, StoreError> {
    match keys::grant(grant_id) {
        Some(key) => storage::load(store, clock, &key),
        None => Ok(None),
    }
}

/// Commits `new` over the grant read as `loaded`; `false` if it changed meanwhile.
pub(crate) fn commit(
    store: &dyn KeyValueStore,
    loaded: &Loaded<GrantRecord>,
    new: &GrantRecord,
) -> Result<bool, StoreError> {
    storage::swap(store, &grant_key(&new.grant_id)?, loaded, new)
}

/// Revokes a grant and every token issued from it. Idempotent; unknown grants are ignored.
pub fn revoke_grant(store: &dyn KeyValueStore, clock: &dyn Clock, grant_id: &str) -> Result<(), StoreError> {
    for _ in 0..REVOKE_ATTEMPTS {
        let Some(loaded) = load(store, clock, grant_id)? else {
            return Ok(());
        };
        let revoked = GrantRecord { state: GrantState::Revoked, ..loaded.record.clone() };
        if loaded.record.state == GrantState::Revoked || commit(store, &loaded, &revoked)? {
            return delete_tokens(store, &revoked);
        }
    }
    Err(StoreError::Backend("grant kept changing during revocation".into()))
}

/// Deletes the access-token and current refresh-token records listed on a revoked grant.
fn delete_tokens(store: &dyn KeyValueStore, grant: &GrantRecord) -> Result<(), StoreError> {
    for token in &grant.access_tokens {
        store.delete(&keys::access_token_by_hash(&token.hash))?;
    }
    if let Some(pair) = &grant.refresh {
        store.delete(&keys::refresh_token_by_hash(&pair.current))?;
        if let Some(previous) = &pair.previous {
            store.delete(&keys::refresh_token_by_hash(previous))?;
        }
    }
    Ok(())
}
