//! Minting an access/refresh token pair for a grant and committing it.

use platform::secret::random_token;
use platform::{Clock, KeyValueStore};

use super::{GrantError, TokenResponse};
use crate::grants;
use crate::keys;
use crate::lifetimes::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::props::UserProps;
use crate::records::{
    AccessTokenRecord, GrantRecord, GrantState, LiveToken, RECORD_VERSION, RefreshPair, RefreshTokenRecord,
};
use crate::rules::scope;
use crate::storage::{self, Loaded};

/// What the new pair carries.
pub(super) struct Issue {
    /// The access token's scope (the grant's, or narrower on refresh).
    pub scope: Vec<String>,
    /// The user's props (re-read on refresh).
    pub props: UserProps,
    /// The hash of the refresh token being redeemed, which stays honoured until the new one is
    /// first used; `None` for a code exchange.
    pub previous_refresh: Option<String>,
}

/// Writes the new token records, then commits them to the grant read as `loaded`. If the grant
/// changed meanwhile (a concurrent redemption or a revocation), the new records are deleted and
/// the request fails: exactly one of several concurrent redemptions wins.
pub(super) fn issue(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    loaded: &Loaded<GrantRecord>,
    issue: Issue,
) -> Result<TokenResponse, GrantError> {
    let now = clock.now_unix();
    let grant = &loaded.record;
    let (access_token, refresh_token) = (random_token()?, random_token()?);
    let (access_key, refresh_key) = (keys::access_token(&access_token), keys::refresh_token(&refresh_token));
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
    };
    storage::save(store, &access_key, &access)?;
    storage::save(store, &refresh_key, &refresh)?;

    let (mut access_tokens, expired): (Vec<LiveToken>, Vec<LiveToken>) =
        grant.access_tokens.iter().cloned().partition(|t| t.expires_at > now);
    access_tokens.push(LiveToken { hash: keys::secret_hash(&access_token), expires_at: access_expires_at });
    let updated = GrantRecord {
        state: GrantState::Active,
        props: issue.props,
        expires_at: refresh_expires_at,
        access_tokens,
        refresh: Some(RefreshPair { current: keys::secret_hash(&refresh_token), previous: issue.previous_refresh }),
        ..grant.clone()
    };
    if !grants::commit(store, loaded, &updated)? {
        store.delete(&access_key)?;
        store.delete(&refresh_key)?;
        return Err(GrantError::invalid_grant("the grant changed concurrently; the token was not issued"));
    }
    delete_expired_access_tokens(store, &expired);
    Ok(TokenResponse {
        access_token,
        token_type: "Bearer",
        expires_in: ACCESS_TOKEN_TTL,
        refresh_token,
        scope: scope::join(&issue.scope),
    })
}

/// Deletes the records of access tokens the grant no longer lists because they expired: nothing
/// else would, unless the token were presented again. Superseded refresh tokens are kept until
/// they expire, since presenting one is the replay that revokes the grant. Best effort: the new
/// pair is already committed, so a failed delete leaves only an expired record behind.
fn delete_expired_access_tokens(store: &dyn KeyValueStore, expired: &[LiveToken]) {
    for token in expired {
        let _ = store.delete(&keys::access_token_by_hash(&token.hash));
    }
}
