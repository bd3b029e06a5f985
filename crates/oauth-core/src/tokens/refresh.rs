//! `grant_type=refresh_token`: rotation with a grace window, replay detection, scope narrowing,
//! role re-read.

use platform::rate_limit::{Subject, Verdict};
use platform::record::{self, Claim};
use platform::{Clock, KeyValueStore};

use super::issue::{Committed, Issue, commit, mint};
use super::rotation::{self, Rotation};
use super::{CLIENT_BLOCKED, GrantError, Issued};
use crate::admin;
use crate::directory::{DirectoryError, UserDirectory};
use crate::grants;
use crate::keys;
use crate::records::{ClientRecord, GrantRecord, GrantState, RefreshTokenRecord};
use crate::rules::resource;
use crate::rules::scope::{self, ScopePolicy};
use crate::user_access;

/// The refresh-specific parameters of a token request.
#[derive(Debug, Clone, Default)]
pub struct RefreshRequest<'a> {
    pub refresh_token: &'a str,
    pub scope: Option<&'a str>,
    pub resource: Option<&'a str>,
}

/// Refreshes tokens for the already authenticated `client`.
///
/// The first presentation of a refresh token claims it (an atomic increment: exactly one
/// wins, on every store) and rotates it: a new access and refresh token, exactly one pair per
/// refresh token. Any other presentation of the same token within `rotation.grace_secs` of the
/// rotation gets that same pair back while the new refresh token has not been used (waiting
/// briefly while the rotation is still being written, else `temporarily_unavailable`, never
/// `invalid_grant`), so a client keeps a usable token whichever answer it keeps. Once the new
/// token has been used, or after the window, presenting the old one again is a replay: the
/// grant is revoked (see [`rotation`]).
///
/// The user's props are re-read from `directory` before the claim: a deleted or banned user
/// ends the grant; an unavailable directory fails the request with `temporarily_unavailable`
/// and leaves the token unused. A grant that rotated `rotation.per_grant.max` times in the
/// current window is refused before that (429, `temporarily_unavailable`), its token unused.
///
/// The new access token's scope is the requested one (none: the grant's), which may narrow the
/// grant's and never widen it, cut to what the re-read role may hold by `scopes`; a request left
/// with nothing is `invalid_scope`, its token unused.
pub async fn refresh(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    directory: &dyn UserDirectory,
    scopes: &ScopePolicy,
    rotation: &Rotation<'_>,
    client: &ClientRecord,
    request: &RefreshRequest<'_>,
) -> Result<Issued, GrantError> {
    if !client.metadata.grant_types.iter().any(|g| g == "refresh_token") {
        return Err(GrantError::UnauthorizedClient);
    }
    if admin::is_blocked(store, clock, &client.client_id)? {
        return Err(GrantError::invalid_grant(CLIENT_BLOCKED));
    }
    let key = keys::refresh_token(request.refresh_token);
    let token = record::load::<RefreshTokenRecord>(store, clock, &key)?
        .ok_or_else(|| GrantError::invalid_grant("unknown or expired refresh token"))?;
    if token.client_id != client.client_id {
        return Err(GrantError::invalid_grant("the refresh token was issued to another client"));
    }
    if token.rotated_at.is_some() {
        return rotation::answer_again(store, clock, rotation, request.refresh_token).await;
    }
    let grant = grants::load(store, clock, &token.grant_id)?
        .filter(|g| g.state == GrantState::Active)
        .ok_or_else(|| GrantError::invalid_grant("the grant was revoked or has expired"))?;
    if grants::is_revoked(store, clock, &grant)? {
        return Err(GrantError::invalid_grant("the grant was revoked"));
    }
    if user_access::ended_for(store, clock, &grant)? {
        return Err(GrantError::invalid_grant("the user's access was ended (deleted or banned)"));
    }
    if !lists(&grant, request.refresh_token) {
        // Unclaimed yet superseded: only a token the previous release rotated can be in this
        // state (it decided validity by the grant's list). Using one was a replay then too.
        grants::revoke_grant(store, clock, &grant.grant_id)?;
        return Err(GrantError::RefreshReplayed {
            grant_id: grant.grant_id,
            message: "the refresh token was already rotated; the grant is revoked",
        });
    }
    let scope = scope::narrow(&grant.scope, request.scope).map_err(|e| GrantError::InvalidScope(e.to_string()))?;
    if request.resource.is_some_and(|r| !resource::names(r, &grant.resource)) {
        return Err(GrantError::InvalidTarget);
    }
    // Before Clerk is asked: a refused refresh costs a read, and leaves its token unused. A
    // store that cannot count lets it through (see `platform::rate_limit`).
    let per_grant = Subject::Grant(&grant.grant_id);
    if let Ok(Verdict::Limited { retry_after }) = rotation.per_grant.check(store, clock, per_grant) {
        // A concurrent presentation of this very token may have rotated it, using the last
        // allowance, since it was read: this one is then owed that rotation's answer. (A
        // rotation is counted after its token was marked, so the mark is there to see.)
        let rotated = record::load::<RefreshTokenRecord>(store, clock, &key)?.is_some_and(|t| t.rotated_at.is_some());
        if rotated {
            return rotation::answer_again(store, clock, rotation, request.refresh_token).await;
        }
        return Err(GrantError::RateLimited { grant_id: grant.grant_id, limit: rotation.per_grant, retry_after });
    }
    let props = match directory.refresh_props(&grant.props).await {
        Ok(props) => props,
        Err(DirectoryError::UserGone) => {
            grants::revoke_grant(store, clock, &grant.grant_id)?;
            return Err(GrantError::invalid_grant("the user no longer exists or is banned"));
        }
        Err(DirectoryError::Unavailable(reason)) => {
            return Err(GrantError::TemporarilyUnavailable(format!("cannot re-read the user: {reason}")));
        }
    };
    let scope = scopes.for_role(&scope, props.role.as_deref());
    if scope.is_empty() {
        return Err(GrantError::InvalidScope("the user's role may hold none of the requested scopes".into()));
    }
    match record::claim(store, clock, &key, &token)? {
        Claim::Won => {}
        Claim::Lost { .. } => return rotation::answer_again(store, clock, rotation, request.refresh_token).await,
        Claim::Expired => return Err(GrantError::invalid_grant("unknown or expired refresh token")),
    }
    // The claim's winner owns the old token's record now: start its grace window.
    let now = clock.now_unix();
    record::rewrite(store, &key, token.expires_at, &RefreshTokenRecord { rotated_at: Some(now), ..token.clone() })?;
    let user_id = props.user_id.clone();
    let issue = Issue { scope, props, previous_refresh: Some(keys::secret_hash(request.refresh_token)) };
    let minted = mint(store, clock, &grant, &issue)?;
    match commit(store, clock, &grant, issue, &minted)? {
        Committed::Live => {}
        Committed::Revoked => return Err(GrantError::invalid_grant("the grant was revoked")),
    }
    // Only a pair the grant lists may be answered again: kept once the commit succeeded. Best
    // effort: the pair is committed and this client gets it; without the kept answer, another
    // presentation of the old token waits, then gets `temporarily_unavailable`.
    let _ = rotation::keep_answer(store, rotation, request.refresh_token, &minted, now);
    let _ = rotation.per_grant.hit(store, clock, Subject::Grant(&grant.grant_id));
    Ok(Issued { response: minted.response, grant_id: grant.grant_id, user_id: Some(user_id) })
}

/// Whether the grant lists `token` as its current refresh token (or, for tokens the previous
/// release rotated, the one before it, honoured until the current one is used).
fn lists(grant: &GrantRecord, token: &str) -> bool {
    let presented = keys::secret_hash(token);
    grant
        .refresh
        .as_ref()
        .is_some_and(|pair| pair.current == presented || pair.previous.as_deref() == Some(presented.as_str()))
}
