//! The grant indexes: which grants a user has, and which grants exist at all (for the
//! operator console), found without listing keys and kept without compare-and-swap.
//!
//! Two indexes work alike, told apart by their [`Owner`]: each user's (`oauth:user-index:`,
//! `oauth:user-slot:`, the reference on the grant in `index_entry`) and the deployment's
//! (`oauth:all-index:`, `oauth:all-slot:`, the reference in `all_index_entry`). What follows
//! describes the user's; the deployment's is the same with "every grant" for "the user's".
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

/// Which index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Owner<'a> {
    /// The grants of one user.
    User(&'a str),
    /// Every grant (the operator console).
    All,
}

impl Owner<'_> {
    fn period_key(self, period: u64) -> String {
        match self {
            Owner::User(user_id) => keys::user_index_period(user_id, period),
            Owner::All => keys::all_index_period(period),
        }
    }

    fn entry_key(self, period: u64, number: i64) -> String {
        match self {
            Owner::User(user_id) => keys::user_index_entry(user_id, period, number),
            Owner::All => keys::all_index_entry(period, number),
        }
    }

    /// Where `grant` says it is listed in this index.
    fn reference(self, grant: &GrantRecord) -> Option<IndexEntryRef> {
        match self {
            Owner::User(_) => grant.index_entry,
            Owner::All => grant.all_index_entry,
        }
    }

    /// Whether this index may list `grant` at all.
    fn may_list(self, grant: &GrantRecord) -> bool {
        match self {
            Owner::User(user_id) => grant.props.user_id == user_id,
            Owner::All => true,
        }
    }
}

/// Where a grant is listed, in its user's index and in the deployment's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Listed {
    pub user: IndexEntryRef,
    pub all: IndexEntryRef,
}

/// The entries `grant` should be listed under once its tokens (valid until `grant_expires_at`)
/// are committed: in each index its current one while that outlives the grant by the renewal
/// margin, else a new one, written now. Called by the grant's single writer, before it writes
/// the grant.
pub(crate) fn keep_listed(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    grant: &GrantRecord,
    grant_expires_at: u64,
) -> Result<Listed, RecordError> {
    let keep = |owner: Owner<'_>| match owner.reference(grant) {
        Some(entry) if entry.expires_at >= grant_expires_at.saturating_add(USER_INDEX_RENEW_MARGIN) => Ok(entry),
        _ => append(store, clock, owner, &grant.grant_id),
    };
    Ok(Listed { user: keep(Owner::User(&grant.props.user_id))?, all: keep(Owner::All)? })
}

/// Numbers and writes a new entry for `grant_id` in the current period of `owner`'s index.
fn append(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    owner: Owner<'_>,
    grant_id: &str,
) -> Result<IndexEntryRef, RecordError> {
    let now = clock.now_unix();
    let period = now / USER_INDEX_PERIOD;
    let period_key = owner.period_key(period);
    if !store.exists(&period_key)? {
        // Concurrent first writers of a period write the same record: any of them may land last.
        let expires_at = (period + 1) * USER_INDEX_PERIOD + USER_INDEX_ENTRY_TTL + CLOCK_SLACK;
        record::save(store, &period_key, &UserIndexPeriod { v: RECORD_VERSION, expires_at })?;
    }
    let number = record::next_number(store, &period_key)?;
    let expires_at = now + USER_INDEX_ENTRY_TTL;
    let entry = UserIndexEntry { v: RECORD_VERSION, grant_id: grant_id.to_owned(), expires_at };
    record::save(store, &owner.entry_key(period, number), &entry)?;
    Ok(IndexEntryRef { period, number, expires_at })
}

/// What a listing found: the user's live, active grants (each once, most recently listed
/// first), and whether it stopped at its read budget before the oldest entry.
#[derive(Debug, Default)]
pub(crate) struct Scan {
    pub grants: Vec<GrantRecord>,
    pub truncated: bool,
}

/// Reads `owner`'s index, at most `budget` entries, and deletes the dead entries it meets.
pub(crate) fn scan(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    owner: Owner<'_>,
    budget: usize,
) -> Result<Scan, RecordError> {
    let now = clock.now_unix();
    let newest = now / USER_INDEX_PERIOD;
    let oldest = now.saturating_sub(USER_INDEX_ENTRY_TTL + CLOCK_SLACK) / USER_INDEX_PERIOD;
    let mut found = Scan::default();
    let mut listed = HashSet::new();
    let mut reads = 0;
    for period in (oldest..=newest).rev() {
        let period_key = owner.period_key(period);
        if record::load::<UserIndexPeriod>(store, clock, &period_key)?.is_none() {
            continue;
        }
        for number in (1..=record::last_number(store, &period_key)?).rev() {
            if reads == budget {
                found.truncated = true;
                return Ok(found);
            }
            reads += 1;
            let key = owner.entry_key(period, number);
            let Some(entry) = record::load::<UserIndexEntry>(store, clock, &key)? else { continue };
            match judge(store, clock, owner, &entry, (period, number))? {
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
    owner: Owner<'_>,
    entry: &UserIndexEntry,
    position: (u64, i64),
) -> Result<Verdict, RecordError> {
    let Some(grant) = grants::load(store, clock, &entry.grant_id)? else {
        return Ok(Verdict::Dead);
    };
    if grants::is_revoked(store, clock, &grant)? {
        return Ok(Verdict::Dead);
    }
    if !owner.may_list(&grant) {
        return Ok(Verdict::NotShown);
    }
    if owner.reference(&grant).is_some_and(|current| (current.period, current.number) > position) {
        return Ok(Verdict::Dead);
    }
    if grant.state != GrantState::Active {
        return Ok(Verdict::NotShown);
    }
    Ok(Verdict::Live(Box::new(grant)))
}
