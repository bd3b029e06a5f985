//! A user's access, changed on the identity provider's word (Clerk's webhooks), at once and for
//! every grant the user has: ended when the user is deleted or banned, cut back to a fresh
//! sign-off when the user's role changes.
//!
//! **Ending** ([`end_all`]) writes the user's end marker `oauth:user-ended:<sha256(user id)>`
//! first, then revokes every grant the user's grant index lists, each the way every revocation
//! does ([`grants::revoke_grant`]: its tokens are deleted, so `/mcp` answers 401 at the next
//! request and open SSE streams end at their next token check). The marker covers what the
//! index cannot list: a grant whose code was issued but not yet exchanged, or a grant of an
//! earlier release not listed yet. The code exchange and the refresh refuse a grant created at
//! or before the marker's time ([`ended_for`]). A user who is unbanned and signs in again
//! gets new grants, created after the marker, which work.
//!
//! **A role change** ([`drop_tokens_on_role_change`]) deletes the access tokens of each grant
//! whose stored role differs from the new one, and keeps the grant: the client's next `/mcp`
//! request gets 401, it refreshes, and the refresh re-reads the user's role from Clerk. The
//! role is never taken from the event itself: Svix does not keep events in order, and a late
//! event must not restore a role the user has lost. Every path ends at Clerk's current answer.
//! One race remains: a refresh that read Clerk just before the change and commits just after
//! this runs keeps the old role until its own access token expires (at most an hour).

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};

use crate::connected_apps::{self, MAX_ENTRIES_PER_LISTING};
use crate::grants;
use crate::keys;
use crate::lifetimes::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::records::{GrantRecord, RECORD_VERSION, UserAccessEnded};

/// The most index entries one call reads (each costs a read, plus one for its grant): ten
/// listings' worth. A user with a longer index is left [`Changed::complete`] `false` and the
/// caller retries; ending makes progress at each retry (the entries of revoked grants are
/// deleted when read).
pub const MAX_ENTRIES_PER_CHANGE: usize = 10 * MAX_ENTRIES_PER_LISTING;

/// What a change did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Changed {
    /// Grants revoked (or whose access tokens were deleted).
    pub grants: usize,
    /// False when the index was longer than one call reads: call again.
    pub complete: bool,
}

/// Ends every grant of `user_id` at once: the end marker, then each listed grant revoked.
/// Idempotent.
pub fn end_all(store: &dyn KeyValueStore, clock: &dyn Clock, user_id: &str) -> Result<Changed, RecordError> {
    if user_id.is_empty() {
        return Ok(Changed { grants: 0, complete: true });
    }
    let now = clock.now_unix();
    // Outlives every grant created before it: a refresh token issued now lives REFRESH_TOKEN_TTL.
    let marker =
        UserAccessEnded { v: RECORD_VERSION, ended_at: now, expires_at: now + REFRESH_TOKEN_TTL + ACCESS_TOKEN_TTL };
    record::save(store, &keys::user_ended(user_id), &marker)?;
    for_each_listed_grant(store, clock, user_id, |grant| {
        grants::revoke_grant(store, clock, &grant.grant_id)?;
        Ok(true)
    })
}

/// Deletes the access tokens of every grant of `user_id` whose stored role is not `role`, so
/// the next request of its client gets 401 and its refresh reads the role from Clerk afresh.
pub fn drop_tokens_on_role_change(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    role: Option<&str>,
) -> Result<Changed, RecordError> {
    if user_id.is_empty() {
        return Ok(Changed { grants: 0, complete: true });
    }
    for_each_listed_grant(store, clock, user_id, |grant| {
        if grant.props.role.as_deref() == role {
            return Ok(false);
        }
        grants::delete_access_tokens(store, grant)?;
        Ok(true)
    })
}

/// Revokes the grants of `user_id` signed in through the Clerk session `session_id` (for an
/// operator who wants signing out of Clerk to disconnect the apps signed in with it).
pub fn revoke_session_grants(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    session_id: &str,
) -> Result<Changed, RecordError> {
    if user_id.is_empty() || session_id.is_empty() {
        return Ok(Changed { grants: 0, complete: true });
    }
    for_each_listed_grant(store, clock, user_id, |grant| {
        if grant.props.session_id.as_deref() != Some(session_id) {
            return Ok(false);
        }
        grants::revoke_grant(store, clock, &grant.grant_id)?;
        Ok(true)
    })
}

/// True when the user's access was ended at or after `grant` was created: the grant may not
/// issue tokens any more.
pub(crate) fn ended_for(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
) -> Result<bool, RecordError> {
    let marker = record::load::<UserAccessEnded>(store, clock, &keys::user_ended(&grant.props.user_id))?;
    Ok(marker.is_some_and(|marker| grant.created_at <= marker.ended_at))
}

/// Runs `act` on each live grant the user's index lists (at most [`MAX_ENTRIES_PER_CHANGE`]
/// entries read). `act` says whether it changed the grant.
fn for_each_listed_grant(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    mut act: impl FnMut(&GrantRecord) -> Result<bool, RecordError>,
) -> Result<Changed, RecordError> {
    let scan = connected_apps::scan(store, clock, connected_apps::Owner::User(user_id), MAX_ENTRIES_PER_CHANGE)?;
    let mut changed = Changed { grants: 0, complete: !scan.truncated };
    for grant in &scan.grants {
        if act(grant)? {
            changed.grants += 1;
        }
    }
    Ok(changed)
}

#[cfg(test)]
mod tests;
