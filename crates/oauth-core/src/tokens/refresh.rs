//! `grant_type=refresh_token`: rotation, replay detection, scope narrowing, role re-read.

use platform::{Clock, KeyValueStore};

use super::issue::{Issue, issue};
use super::{GrantError, TokenResponse};
use crate::directory::{DirectoryError, UserDirectory};
use crate::grants;
use crate::keys;
use crate::records::{ClientRecord, GrantState, RefreshTokenRecord};
use crate::rules::{resource, scope};
use crate::storage;

/// The refresh-specific parameters of a token request.
#[derive(Debug, Clone, Default)]
pub struct RefreshRequest<'a> {
    pub refresh_token: &'a str,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// Refreshes tokens for the already authenticated `client`.
///
/// The grant honours its current refresh token and the one before it (until the current one
/// is first used). Any other refresh token of the grant is a replay: the grant is revoked. The
/// user's props are re-read from `directory` first: a deleted or banned user ends the grant; an
/// unavailable directory fails the request with `temporarily_unavailable` and leaves the token
/// usable. The new pair is committed by compare-and-swap on the grant, so of several concurrent
/// redemptions of one token exactly one succeeds.
pub async fn refresh(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    directory: &impl UserDirectory,
    client: &ClientRecord,
    request: &RefreshRequest<'_>,
) -> Result<TokenResponse, GrantError> {
    if !client.metadata.grant_types.iter().any(|g| g == "refresh_token") {
        return Err(GrantError::UnauthorizedClient);
    }
    let token = storage::load::<RefreshTokenRecord>(store, clock, &keys::refresh_token(request.refresh_token))?
        .ok_or_else(|| GrantError::invalid_grant("unknown or expired refresh token"))?;
    if token.record.client_id != client.client_id {
        return Err(GrantError::invalid_grant("the refresh token was issued to another client"));
    }
    let grant = grants::load(store, clock, &token.record.grant_id)?
        .filter(|g| g.record.state == GrantState::Active)
        .ok_or_else(|| GrantError::invalid_grant("the grant was revoked or has expired"))?;
    let presented = keys::secret_hash(request.refresh_token);
    let honoured = grant
        .record
        .refresh
        .as_ref()
        .is_some_and(|pair| pair.current == presented || pair.previous.as_deref() == Some(presented.as_str()));
    if !honoured {
        grants::revoke_grant(store, clock, &grant.record.grant_id)?;
        return Err(GrantError::invalid_grant("the refresh token was already rotated; the grant is revoked"));
    }
    let scope =
        scope::narrow(&grant.record.scope, request.scope).map_err(|e| GrantError::InvalidScope(e.to_string()))?;
    if request.resource.is_some_and(|r| !resource::names(r, &grant.record.resource)) {
        return Err(GrantError::InvalidTarget);
    }
    let props = match directory.refresh_props(&grant.record.props).await {
        Ok(props) => props,
        Err(DirectoryError::UserGone) => {
            grants::revoke_grant(store, clock, &grant.record.grant_id)?;
            return Err(GrantError::invalid_grant("the user no longer exists or is banned"));
        }
        Err(DirectoryError::Unavailable(reason)) => {
            return Err(GrantError::TemporarilyUnavailable(format!("cannot re-read the user: {reason}")));
        }
    };
    issue(store, clock, &grant, Issue { scope, props, previous_refresh: Some(presented) })
}
