//! The per-user grant index: which grants a user has, found without listing keys and kept
//! without compare-and-swap.
//!
//! **Entries.** Each grant is listed by one entry, `oauth:user-slot:<user>:<period>:<number>`
//! naming the grant. Time is cut into periods ([`USER_INDEX_PERIOD`]); the entries of a period
//! are numbered by the atomic `increment` of that period's counter (the `#seq` helper of the
//! period record `oauth:user-index:<user>:<period>`), so two writers never get the same number
//! and an entry is written once, by the one writer that numbered it. Nothing ever rewrites an
//! entry: concurrent grant creations cannot overwrite each other, and nothing a revocation does
//! touches an entry, so neither can lose one.
//!
//! **Who writes.** The token issue that commits a grant ([`keep_listed`], called by the grant's
//! single writer of the moment, before it writes the grant) appends an entry when the grant has
//! none or its entry would expire less than [`USER_INDEX_RENEW_MARGIN`] after the grant could,
//! and records the entry on the grant. An entry therefore always outlives its grant: a grant
//! with tokens is always listed, and an expired entry can be ignored.
//!
//! **Reading.** A listing ([`scan`]) reads the counters of the periods an unexpired entry can be
//! in (the period record first, so a read never creates a counter that has no record), then the
//! entries, newest first, and each entry's grant. Entries whose grant is gone, revoked, or listed
//! under a newer entry are dead for good (grant ids are never reused, revocation markers are
//! never removed while the grant can live, and a grant's entry only moves forward), so the
//! listing deletes them; the next listing reads less. An entry newer than the grant's own
//! reference is a renewal in flight (or one whose grant write failed): it stays until it expires
//! or a newer entry supersedes it, and the grant is shown once.

use std::collections::HashSet;

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};

use crate::grants;
use crate::keys;
use crate::lifetimes::{USER_INDEX_ENTRY_TTL, USER_INDEX_PERIOD, USER_INDEX_RENEW_MARGIN};
use crate::records::{GrantRecord, GrantState, IndexEntryRef, RECORD_VERSION, UserIndexEntry, UserIndexPeriod};

/// Slack for clocks of instances that disagree: a period record outlives its last possible
/// entry by this much, and a listing looks this much further back.
const CLOCK_SLACK: u64 = 24 * 60 * 60;

/// The entry `grant` should be listed under once its tokens (valid until `grant_expires_at`)
/// are committed: its current one while that outlives the grant by the renewal margin, else a
/// new one, written now. Called by the grant's single writer, before it writes the grant.
pub(crate) fn keep_listed(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
    grant_expires_at: u64,
) -> Result<IndexEntryRef, RecordError> {
    match grant.index_entry {
        Some(entry) if entry.expires_at >= grant_expires_at.saturating_add(USER_INDEX_RENEW_MARGIN) => Ok(entry),
        _ => append(store, clock, &grant.props.user_id, &grant.grant_id),
    }
}

/// Numbers and writes a new entry for `grant_id` in the current period of `user_id`'s index.
fn append(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    grant_id: &str,
) -> Result<IndexEntryRef, RecordError> {
    let now = clock.now_unix();
    let period = now / USER_INDEX_PERIOD;
    let period_key = keys::user_index_period(user_id, period);
    if !store.exists(&period_key)? {
        // Concurrent first writers of a period write the same record: any of them may land last.
        let expires_at = (period + 1) * USER_INDEX_PERIOD + USER_INDEX_ENTRY_TTL + CLOCK_SLACK;
        record::save(store, &period_key, &UserIndexPeriod { v: RECORD_VERSION, expires_at })?;
    }
    let number = record::next_number(store, &period_key)?;
    let expires_at = now + USER_INDEX_ENTRY_TTL;
    let entry = UserIndexEntry { v: RECORD_VERSION, grant_id: grant_id.to_owned(), expires_at };
    record::save(store, &keys::user_index_entry(user_id, period, number), &entry)?;
    Ok(IndexEntryRef { period, number, expires_at })
}

/// What a listing found: the user's live, active grants (each once, most recently listed
/// first), and whether it stopped at its read budget before the oldest entry.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub grants: Vec<GrantRecord>,
    pub truncated: bool,
}

/// Reads `user_id`'s index, at most `budget` entries, and deletes the dead entries it meets.
pub(crate) fn scan(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    budget: usize,
) -> Result<Scan, RecordError> {
    let now = clock.now_unix();
    let newest = now / USER_INDEX_PERIOD;
    let oldest = now.saturating_sub(USER_INDEX_ENTRY_TTL + CLOCK_SLACK) / USER_INDEX_PERIOD;
    let mut found = Scan::default();
    let mut listed = HashSet::new();
    let mut reads = 0;
    for period in (oldest..=newest).rev() {
        let period_key = keys::user_index_period(user_id, period);
        if record::load::<UserIndexPeriod>(store, clock, &period_key)?.is_none() {
            continue;
        }
        for number in (1..=record::last_number(store, &period_key)?).rev() {
            if reads == budget {
                found.truncated = true;
                return Ok(found);
            }
            reads += 1;
            let key = keys::user_index_entry(user_id, period, number);
            let Some(entry) = record::load::<UserIndexEntry>(store, clock, &key)? else { continue };
            match judge(store, clock, user_id, &entry, (period, number))? {
                Verdict::Dead => {
                    // Best effort: an entry left behind is judged again next time, or expires.
                    let _ = record::discard(store, &key);
                }
                Verdict::NotShown => {}
                Verdict::Live(grant) => {
                    if listed.insert(grant.grant_id.clone()) {
                        found.grants.push(*grant);
                    }
                }
            }
        }
    }
    Ok(found)
}

/// What an entry stands for.
enum Verdict {
    /// Its grant is gone, revoked, or listed under a newer entry: the entry can go.
    Dead,
    /// Its grant lives but is not shown (no tokens yet, or, impossibly, another user's).
    NotShown,
    Live(Box<GrantRecord>),
}

fn judge(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    entry: &UserIndexEntry,
    position: (u64, i64),
) -> Result<Verdict, RecordError> {
    let Some(grant) = grants::load(store, clock, &entry.grant_id)? else {
        return Ok(Verdict::Dead);
    };
    if grants::is_revoked(store, clock, &grant)? {
        return Ok(Verdict::Dead);
    }
    if grant.props.user_id != user_id {
        return Ok(Verdict::NotShown);
    }
    if grant.index_entry.is_some_and(|current| (current.period, current.number) > position) {
        return Ok(Verdict::Dead);
    }
    if grant.state != GrantState::Active {
        return Ok(Verdict::NotShown);
    }
    Ok(Verdict::Live(Box::new(grant)))
}
