//! Minting an access/refresh token pair for a grant and committing it (see [`crate::grants`]
//! for the protocol that makes revocation hold without compare-and-swap).

use platform::record;
use platform::secret::random_token;
use platform::{Clock, KeyValueStore};

use super::{GrantError, TokenResponse};
use crate::connected_apps;
use crate::grants;
use crate::keys;
use crate::lifetimes::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::props::UserProps;
use crate::records::{
    AccessTokenRecord, GrantRecord, GrantState, LiveToken, RECORD_VERSION, RefreshPair, RefreshTokenRecord,
};
use crate::rules::scope;

/// What the new pair carries.
pub(super) struct Issue {
    /// The access token's scope (the grant's, or narrower on refresh).
    pub scope: Vec<String>,
    /// The user's props (re-read on refresh).
    pub props: UserProps,
    /// The hash of the refresh token being rotated, whose record revocation must still delete;
    /// `None` for a code exchange.
    pub previous_refresh: Option<String>,
}

/// A pair whose records are written but not yet committed to the grant.
pub(super) struct Minted {
    pub response: TokenResponse,
    pub access_expires_at: u64,
    access_hash: String,
    refresh_hash: String,
    refresh_expires_at: u64,
}

/// Whether the grant turned out to be revoked when the pair was committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Committed {
    Live,
    /// A revocation came first or concurrently: the pair's records have been deleted.
    Revoked,
}

/// Writes the records of a new token pair for `grant`.
pub(super) fn mint(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
    issue: &Issue,
) -> Result<Minted, GrantError> {
    let now = clock.now_unix();
    let (access_token, refresh_token) = (random_token()?, random_token()?);
    let access_expires_at = now + ACCESS_TOKEN_TTL;
    let refresh_expires_at = now + REFRESH_TOKEN_TTL;
    let access = AccessTokenRecord {
        v: RECORD_VERSION,
        client_id: grant.client_id.clone(),
        grant_id: grant.grant_id.clone(),
        scope: issue.scope.clone(),
        resource: grant.resource.clone(),
        expires_at: access_expires_at,
        props: issue.props.clone(),
    };
    let refresh = RefreshTokenRecord {
        v: RECORD_VERSION,
        grant_id: grant.grant_id.clone(),
        client_id: grant.client_id.clone(),
        expires_at: refresh_expires_at,
        rotated_at: None,
    };
    record::save(store, &keys::access_token(&access_token), &access)?;
    if let Err(error) = record::save(store, &keys::refresh_token(&refresh_token), &refresh) {
        let _ = record::discard(store, &keys::access_token(&access_token));
        return Err(error.into());
    }
    Ok(Minted {
        access_hash: keys::secret_hash(&access_token),
        refresh_hash: keys::secret_hash(&refresh_token),
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: ACCESS_TOKEN_TTL,
            refresh_token,
            scope: scope::join(&issue.scope),
        },
        access_expires_at,
        refresh_expires_at,
    })
}

/// Lists the minted pair on the grant (as its single writer of the moment), then checks the
/// revocation marker; if the grant is revoked, deletes the pair. Also deletes the records of
/// access tokens that expired off the grant. If committing fails, the pair is deleted too (best
/// effort): it was never handed out, and a pair the grant may not list must not stay live.
pub(super) fn commit(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
    issue: Issue,
    minted: &Minted,
) -> Result<Committed, GrantError> {
    let committed = list_on_grant(store, clock, grant, issue, minted);
    if committed.is_err() {
        let _ = discard(store, minted);
    }
    committed
}

/// Deletes the records of a minted pair.
fn discard(store: &dyn KeyValueStore, minted: &Minted) -> Result<(), GrantError> {
    record::discard(store, &keys::access_token_by_hash(&minted.access_hash))?;
    record::discard(store, &keys::refresh_token_by_hash(&minted.refresh_hash))?;
    Ok(())
}

fn list_on_grant(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
    issue: Issue,
    minted: &Minted,
) -> Result<Committed, GrantError> {
    let now = clock.now_unix();
    let (mut access_tokens, expired): (Vec<LiveToken>, Vec<LiveToken>) =
        grant.access_tokens.iter().cloned().partition(|t| t.expires_at > now);
    access_tokens.push(LiveToken { hash: minted.access_hash.clone(), expires_at: minted.access_expires_at });
    // Listed in the user's index before the grant is written: a grant with tokens is always listed.
    let listed = connected_apps::keep_listed(store, clock, grant, minted.refresh_expires_at)?;
    let refreshed_at = if issue.previous_refresh.is_some() { Some(now) } else { grant.refreshed_at };
    let updated = GrantRecord {
        token_scope: Some(issue.scope),
        state: GrantState::Active,
        props: issue.props,
        expires_at: minted.refresh_expires_at,
        access_tokens,
        refresh: Some(RefreshPair { current: minted.refresh_hash.clone(), previous: issue.previous_refresh }),
        refreshed_at,
        index_entry: Some(listed.user),
        all_index_entry: Some(listed.all),
        ..grant.clone()
    };
    grants::commit(store, &updated)?;
    if grants::is_revoked(store, clock, &updated)? {
        discard(store, minted)?;
        return Ok(Committed::Revoked);
    }
    delete_expired_access_tokens(store, &expired);
    Ok(Committed::Live)
}

/// Deletes the records of access tokens the grant no longer lists because they expired: nothing
/// else would, unless the token were presented again. Best effort: the new pair is already
/// committed, so a failed delete leaves only an expired record behind for the sweep.
fn delete_expired_access_tokens(store: &dyn KeyValueStore, expired: &[LiveToken]) {
    for token in expired {
        let _ = store.delete(&keys::access_token_by_hash(&token.hash));
    }
}
