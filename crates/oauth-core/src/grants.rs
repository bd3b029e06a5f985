//! Grants: creation with the authorization code, committing issued tokens, and revocation,
//! without compare-and-swap.
//!
//! The MCP hot path reads only the access-token record, so revoking must delete those records.
//! Two writers meet here, each doing its two steps in this order:
//! - an **issuer** (the one request holding the claim of the code or of the refresh token, so
//!   the grant's only writer at that moment) writes its token records, then the grant listing
//!   them ([`commit`]), then reads the revocation marker; if the grant is revoked it deletes its
//!   own tokens;
//! - a **revocation** ([`revoke_grant`]) writes the marker `oauth:revoked:<grant id>` (nothing
//!   else ever writes it), then reads the grant and deletes every token it lists.
//!
//! On any linearizable store one of them sees the other's first step, whichever order the
//! writes land in: if the issuer's marker read comes before the revocation's marker write, the
//! issuer's grant write came before the revocation's grant read, which then lists the new
//! tokens; otherwise the issuer sees the marker. Either way the new tokens end up deleted.

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};

use crate::keys;
use crate::lifetimes::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::props::UserProps;
use crate::records::{GrantRecord, GrantState, RECORD_VERSION, RevokedGrant};
use crate::validated::ValidatedAuthorization;

/// Stores a new `Pending` grant `grant_id` (random) for a code about to be issued.
pub(crate) fn create_pending(
    store: &dyn KeyValueStore,
    grant_id: &str,
    validated: &ValidatedAuthorization,
    props: UserProps,
    now: u64,
    expires_at: u64,
) -> Result<(), RecordError> {
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
        redirect_uri: Some(validated.redirect_uri.clone()),
        refreshed_at: None,
        index_entry: None,
        token_scope: None,
        all_index_entry: None,
    };
    record::save(store, &grant_key(grant_id)?, &grant)
}

fn grant_key(grant_id: &str) -> Result<String, RecordError> {
    keys::grant(grant_id).ok_or(RecordError::InvalidKey { what: "grant" })
}

/// Reads a grant (expired counts as absent).
pub(crate) fn load(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant_id: &str,
) -> Result<Option<GrantRecord>, RecordError> {
    match keys::grant(grant_id) {
        Some(key) => record::load(store, clock, &key),
        None => Ok(None),
    }
}

/// Writes the grant as its current single writer (the holder of a code or refresh-token claim).
pub(crate) fn commit(store: &dyn KeyValueStore, grant: &GrantRecord) -> Result<(), RecordError> {
    record::save(store, &grant_key(&grant.grant_id)?, grant)
}

/// True when the grant was revoked (its marker exists, or an older release marked the record).
pub(crate) fn is_revoked(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
) -> Result<bool, RecordError> {
    Ok(grant.state == GrantState::Revoked || is_marked_revoked(store, clock, &grant.grant_id)?)
}

/// True when the revocation marker of `grant_id` exists.
pub(crate) fn is_marked_revoked(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant_id: &str,
) -> Result<bool, RecordError> {
    let marker = keys::revoked(grant_id).ok_or(RecordError::InvalidKey { what: "grant revocation" })?;
    Ok(record::load::<RevokedGrant>(store, clock, &marker)?.is_some())
}

/// Revokes a grant and every token issued from it: the marker first, then the listed tokens.
/// Idempotent; unknown grants get a marker too (harmless, and it covers a grant whose record
/// is being written right now). The grant record itself is left to expire: an issuer in flight
/// may still write it, and its marker check then deletes what it issued.
pub fn revoke_grant(store: &dyn KeyValueStore, clock: &dyn Clock, grant_id: &str) -> Result<(), RecordError> {
    let Some(marker) = keys::revoked(grant_id) else {
        return Ok(());
    };
    let now = clock.now_unix();
    // Outlives every token the grant can have: a refresh token issued at this very moment
    // expires after REFRESH_TOKEN_TTL; the access-token lifetime is margin.
    let expires_at = now + REFRESH_TOKEN_TTL + ACCESS_TOKEN_TTL;
    record::save(store, &marker, &RevokedGrant { v: RECORD_VERSION, revoked_at: now, expires_at })?;
    if let Some(grant) = load(store, clock, grant_id)? {
        delete_tokens(store, &grant)?;
    }
    Ok(())
}

/// Deletes the access-token and refresh-token records listed on a grant (their claim counters
/// stay until the sweep, see `platform::record::discard`).
fn delete_tokens(store: &dyn KeyValueStore, grant: &GrantRecord) -> Result<(), RecordError> {
    delete_access_tokens(store, grant)?;
    if let Some(pair) = &grant.refresh {
        for hash in std::iter::once(&pair.current).chain(&pair.previous) {
            record::discard(store, &keys::refresh_token_by_hash(hash))?;
        }
    }
    Ok(())
}

/// Deletes the access-token records listed on a grant, and nothing else: the grant and its
/// refresh token stay, so the client refreshes (and the refresh re-reads the user).
pub(crate) fn delete_access_tokens(store: &dyn KeyValueStore, grant: &GrantRecord) -> Result<(), RecordError> {
    for token in &grant.access_tokens {
        record::discard(store, &keys::access_token_by_hash(&token.hash))?;
    }
    Ok(())
}
