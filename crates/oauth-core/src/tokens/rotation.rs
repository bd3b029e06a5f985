//! The refresh-token grace window: what another presentation of an already rotated refresh
//! token gets.
//!
//! The rotation that won the token's claim keeps its answer for the window, sealed with a key
//! derived from the presented token (`platform::secret::seal`; the store holds only the token's
//! hash, so a leaked store reveals no usable token), once the grant lists the new pair (so a
//! failed commit leaves nothing to answer with). A presentation within the window gets that
//! answer while the new refresh token is unused: a retry after a lost response, or a racer.
//! One that arrives while the answer is still being written waits briefly. One after the window,
//! or after the new refresh token was used, is a replay (the old token was stolen, or the client
//! is broken: a client that got the new pair never goes back) and revokes the grant, the rule
//! of workers-oauth-provider.

use std::time::Duration;

use platform::rate_limit::Limit;
use platform::record;
use platform::secret::{seal, unseal};
use platform::{Clock, KeyValueStore, Sleep};
use serde::{Deserialize, Serialize};

use super::issue::Minted;
use super::{GrantError, Issued, TokenResponse};
use crate::grants;
use crate::keys;
use crate::records::{RECORD_VERSION, RefreshTokenRecord, RotationRecord};

/// How refresh-token rotation treats a token presented again, and how often a grant may rotate.
#[derive(Clone, Copy)]
pub struct Rotation<'a> {
    /// For how long after its rotation another presentation of a refresh token gets the
    /// rotation's answer (0: never; every second presentation revokes the grant).
    pub grace_secs: u64,
    /// How a request waits for a rotation in flight.
    pub sleep: &'a dyn Sleep,
    /// Successful rotations per grant (`rate_limit_refreshes_per_hour`): checked before the
    /// user is re-read, counted once a rotation is committed. Answers within the grace window
    /// are not rotations, so they are neither counted nor refused.
    pub per_grant: Limit,
}

impl Rotation<'_> {
    /// The default grace window: long enough for a client's retry after a lost response or a
    /// burst of parallel refreshes, short enough that a stolen, already used token is soon useless.
    pub const DEFAULT_GRACE_SECS: u64 = 60;
    /// The longest grace window a deployment may configure.
    pub const MAX_GRACE_SECS: u64 = 600;
    /// The Spin variable that sets the grace window.
    pub const GRACE_VARIABLE: &'static str = "refresh_grace_seconds";

    /// The grace window from the variable's value: the default when unset or empty.
    pub fn grace_from(value: Option<&str>) -> Result<u64, GraceError> {
        match value.map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(Self::DEFAULT_GRACE_SECS),
            Some(text) => text.parse::<u64>().ok().filter(|secs| *secs <= Self::MAX_GRACE_SECS).ok_or(GraceError),
        }
    }
}

/// A malformed `refresh_grace_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the variable refresh_grace_seconds must be a whole number of seconds from 0 to 600")]
pub struct GraceError;

/// How long a presentation waits, in steps, for the answer of a rotation in flight (which
/// only has a few store writes left to do: the user was re-read before the claim).
const WAIT_STEP: Duration = Duration::from_millis(50);
const WAIT_STEPS: u32 = 20;

/// What the sealed answer holds.
#[derive(Serialize, Deserialize)]
struct Answer {
    access_token: String,
    refresh_token: String,
    scope: String,
    access_expires_at: u64,
}

const SEAL_CONTEXT: &str = "refresh-token rotation";

/// Keeps the answer of the rotation of `presented` for the grace window. Call it only once the
/// grant lists the minted pair.
pub(super) fn keep_answer(
    store: &dyn KeyValueStore,
    rotation: &Rotation<'_>,
    presented: &str,
    minted: &Minted,
    now: u64,
) -> Result<(), GrantError> {
    if rotation.grace_secs == 0 {
        return Ok(());
    }
    let answer = Answer {
        access_token: minted.response.access_token.clone(),
        refresh_token: minted.response.refresh_token.clone(),
        scope: minted.response.scope.clone(),
        access_expires_at: minted.access_expires_at,
    };
    let plain = serde_json::to_vec(&answer)
        .map_err(|e| record::RecordError::Encode { what: "refresh-token rotation", reason: e.to_string() })?;
    let kept = RotationRecord {
        v: RECORD_VERSION,
        expires_at: now + rotation.grace_secs,
        sealed: seal(SEAL_CONTEXT, presented, &plain)?,
    };
    record::save(store, &keys::rotation(presented), &kept)?;
    Ok(())
}

/// The answer for a presentation of `presented` after it was claimed by another request.
pub(super) async fn answer_again(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    rotation: &Rotation<'_>,
    presented: &str,
) -> Result<Issued, GrantError> {
    let key = keys::refresh_token(presented);
    for step in 0..=WAIT_STEPS {
        if step > 0 {
            rotation.sleep.sleep(WAIT_STEP).await;
        }
        let token = record::load::<RefreshTokenRecord>(store, clock, &key)?
            .ok_or_else(|| GrantError::invalid_grant("unknown or expired refresh token"))?;
        if let Some(kept) = record::load::<RotationRecord>(store, clock, &keys::rotation(presented))? {
            let response = reopen(store, clock, &token, presented, &kept)?;
            return Ok(Issued { response, grant_id: token.grant_id, user_id: None });
        }
        let now = clock.now_unix();
        match token.rotated_at {
            // Claimed a moment ago and not yet marked (or its rotation failed right after the
            // claim): start the window here, so it ends either way.
            None => record::rewrite(
                store,
                &key,
                token.expires_at,
                &RefreshTokenRecord { rotated_at: Some(now), ..token.clone() },
            )?,
            Some(rotated_at) if now >= rotated_at + rotation.grace_secs => {
                grants::revoke_grant(store, clock, &token.grant_id)?;
                return Err(GrantError::RefreshReplayed {
                    grant_id: token.grant_id,
                    message: "the refresh token was already used; the grant is revoked",
                });
            }
            Some(_) => {}
        }
    }
    let revoked = match record::load::<RefreshTokenRecord>(store, clock, &key)? {
        Some(token) => grants::is_marked_revoked(store, clock, &token.grant_id)?,
        None => true,
    };
    Err(if revoked { GrantError::invalid_grant("the grant was revoked") } else { GrantError::RotationInFlight })
}

/// The kept answer, unless the grant was revoked since, or its refresh token was used since
/// (then this presentation is a replay, and the grant is revoked).
fn reopen(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    token: &RefreshTokenRecord,
    presented: &str,
    kept: &RotationRecord,
) -> Result<TokenResponse, GrantError> {
    if grants::is_marked_revoked(store, clock, &token.grant_id)? {
        return Err(GrantError::invalid_grant("the grant was revoked"));
    }
    let answer = unseal(SEAL_CONTEXT, presented, &kept.sealed)
        .and_then(|plain| serde_json::from_slice::<Answer>(&plain).ok())
        .ok_or_else(|| GrantError::invalid_grant("the refresh token was already used"))?;
    let successor = record::load::<RefreshTokenRecord>(store, clock, &keys::refresh_token(&answer.refresh_token))?;
    match successor {
        Some(successor) if successor.rotated_at.is_none() => {}
        // Its successor was claimed: whoever presents the old token now is not the client that
        // rotated it.
        Some(_) => {
            grants::revoke_grant(store, clock, &token.grant_id)?;
            return Err(GrantError::RefreshReplayed {
                grant_id: token.grant_id.clone(),
                message: "the refresh token was used after its successor; the grant is revoked",
            });
        }
        // Deleted: the grant was revoked (or its successor's rotation failed and discarded it).
        None => return Err(GrantError::invalid_grant("the grant was revoked")),
    }
    Ok(TokenResponse {
        access_token: answer.access_token,
        token_type: "Bearer",
        expires_in: answer.access_expires_at.saturating_sub(clock.now_unix()),
        refresh_token: answer.refresh_token,
        scope: answer.scope,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grace_window_comes_from_its_variable_within_bounds() {
        assert_eq!(Rotation::grace_from(None), Ok(60));
        assert_eq!(Rotation::grace_from(Some(" ")), Ok(60));
        assert_eq!(Rotation::grace_from(Some("0")), Ok(0));
        assert_eq!(Rotation::grace_from(Some("600")), Ok(600));
        for bad in ["601", "-1", "1m", "1.5"] {
            assert_eq!(Rotation::grace_from(Some(bad)), Err(GraceError), "{bad}");
        }
    }
}
