//! The sweep: reads the expiry index's buckets in order, from a cursor up to the last minute
//! that is over, and settles each entry: what has expired goes, what was renewed stays.
//!
//! **Cursor.** `expiry:cursor` holds the first bucket not yet swept (decimal text). A sweep
//! reads it once, walks forward, and writes where it stopped. Concurrent sweeps may write it
//! out of order; a cursor moved back only makes a later sweep look at finished buckets again
//! (one `exists` each), and it never moves past a bucket whose entries were not all taken.
//!
//! **Sharing a bucket.** Sweeps that run at once split a bucket's entries between them without
//! compare-and-swap: each takes the next run of entry numbers with one `increment` of
//! `expiry:claimed:<minute>`, so no two take the same entry; it reads the bucket's entry count
//! before its claim, since the count may be gone right after. The sweep whose run reaches the
//! bucket's last entry deletes the bucket's two counters and moves on. A late sweep whose claim
//! makes the claim counter anew (its `increment` landed after the delete) settles entries that
//! are gone or settled already (harmless: every decision reads the key as it is), then finds
//! the entry counter gone and deletes the claim counter again, so finished buckets leave
//! nothing behind.
//!
//! **Cost.** A run of entries costs two reads per entry (its slot and its key) and one
//! `delete-many` for everything it deletes (expired keys with their helpers, the slots, and the
//! bucket's counters when it is the last run): on Spin's SQLite store a write is a transaction of
//! its own, so one per run instead of several per entry.
//!
//! **Quiet spells.** A day or hour that is over and has no marker (`expiry:day:<n>`,
//! `expiry:hour:<n>`) had no entries: the sweep passes it with that one read. Passing the end of
//! an hour or day deletes its marker.
//!
//! **Margin.** A bucket is swept only once its minute ended at least [`MARGIN_SECS`] ago, so a
//! request that read a record live just before it expired, or an instance whose clock is a
//! little behind, is never overtaken by the sweep.

use super::index::{self, Entry};
use crate::record::{self, RecordError};
use crate::{Clock, KeyValueStore, StoreError};

/// The first bucket no sweep has finished yet.
pub(crate) const CURSOR: &str = "expiry:cursor";

/// How long after its minute ends a bucket becomes due.
pub const MARGIN_SECS: u64 = 60;

/// The most entries one sweep takes from a bucket at a time.
const MAX_RUN: usize = 64;

/// What one sweep did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    /// Entries settled.
    pub entries: usize,
    /// Keys deleted (expired records and counters, with their helper keys counted once).
    pub deleted: usize,
    /// It stopped at its budget with due buckets left.
    pub backlog: bool,
}

/// The last bucket that is due at `now`, if any.
fn last_due(now: u64) -> Option<u64> {
    now.checked_sub(MARGIN_SECS).map(index::bucket_of)?.checked_sub(1)
}

/// The cursor, or `None` when the store has none yet (the index is not set up: see
/// [`super::migration`]).
pub(crate) fn read_cursor(store: &dyn KeyValueStore, now: u64) -> Result<Option<u64>, StoreError> {
    let Some(raw) = store.get(CURSOR)? else { return Ok(None) };
    // Unreadable (written by hand?): start again from the current minute rather than never
    // sweep; what lies behind is left to be met by requests, and nothing live is lost.
    let parsed = std::str::from_utf8(&raw).ok().and_then(|text| text.parse().ok());
    Ok(Some(parsed.unwrap_or_else(|| index::bucket_of(now))))
}

pub(crate) fn write_cursor(store: &dyn KeyValueStore, bucket: u64) -> Result<(), StoreError> {
    store.set(CURSOR, bucket.to_string().as_bytes())
}

/// Moves the cursor back to `bucket` when it is past it, so the sweep looks at that minute
/// again (harmless: finished minutes cost one `exists` each). For tools and tests that put
/// entries under minutes already swept, such as records aged by hand.
pub fn rewind(store: &dyn KeyValueStore, bucket: u64) -> Result<(), StoreError> {
    match read_cursor(store, 0)? {
        // No cursor: the index set-up, when it ends, starts the sweep at the oldest minute.
        None => Ok(()),
        Some(cursor) if cursor <= bucket => Ok(()),
        Some(_) => write_cursor(store, bucket),
    }
}

/// Sweeps due buckets from the cursor, settling at most `budget` entries (a bucket looked at
/// counts as one). `None` when the store has no cursor yet.
pub fn sweep_due(store: &dyn KeyValueStore, clock: &dyn Clock, budget: usize) -> Result<Option<Swept>, RecordError> {
    let now = clock.now_unix();
    let Some(start) = read_cursor(store, now)? else { return Ok(None) };
    let mut swept = Swept::default();
    let Some(last_due) = last_due(now) else { return Ok(Some(swept)) };
    let mut bucket = start;
    let mut spent = 0;
    while bucket <= last_due {
        if spent >= budget {
            swept.backlog = true;
            break;
        }
        spent += 1;
        if let Some(span) = quiet_span(store, bucket, last_due)? {
            bucket += span;
            unmark_finished_spans(store, bucket, span)?;
            continue;
        }
        let run = (budget - spent).clamp(1, MAX_RUN);
        let before = swept.entries;
        if sweep_run(store, now, bucket, run, &mut swept)? {
            bucket += 1;
            unmark_finished_spans(store, bucket, 1)?;
        }
        spent += swept.entries - before;
    }
    if bucket != start {
        write_cursor(store, bucket)?;
    }
    Ok(Some(swept))
}

/// How many buckets the sweep may pass at once when `bucket` starts a day or hour that is over
/// and had no entries.
fn quiet_span(store: &dyn KeyValueStore, bucket: u64, last_due: u64) -> Result<Option<u64>, StoreError> {
    for span in index::SPANS {
        let over = bucket + span - 1 <= last_due;
        if bucket.is_multiple_of(span) && over && !store.exists(&index::span_key(span, bucket / span))? {
            return Ok(Some(span));
        }
    }
    Ok(None)
}

/// Deletes the markers of the hour and day that end just before `next`, when the sweep got
/// there by a step of `step` buckets (a quiet span it passed had no marker to delete).
fn unmark_finished_spans(store: &dyn KeyValueStore, next: u64, step: u64) -> Result<(), StoreError> {
    for span in index::SPANS.into_iter().filter(|span| *span > step) {
        if next.is_multiple_of(span) {
            store.delete(&index::span_key(span, next / span - 1))?;
        }
    }
    Ok(())
}

/// Takes the next `run` entries of `bucket` and settles them (counted in `swept`). True when
/// the bucket has no entries left to take (its counters are then deleted).
fn sweep_run(
    store: &dyn KeyValueStore,
    now: u64,
    bucket: u64,
    run: usize,
    swept: &mut Swept,
) -> Result<bool, RecordError> {
    let count_key = index::count_key(bucket);
    if !store.exists(&count_key)? {
        return Ok(true); // nothing was registered for this minute, or it is finished
    }
    // The count before the claim: a sweep that read it after its claim could find it deleted
    // by the sweep that took the last entries meanwhile, and lose its own run.
    let count = store.increment(&count_key, 0)?;
    let run = i64::try_from(run).unwrap_or(1);
    let taken_to = store.increment(&index::claimed_key(bucket), run)?;
    let mut doomed = Vec::new();
    for number in (taken_to - run + 1)..=taken_to.min(count) {
        let slot = index::slot_key(bucket, number);
        if let Some(raw) = store.get(&slot)? {
            if let Some(entry) = Entry::decode(&raw) {
                swept.deleted += settle(store, now, &entry, &mut doomed)?;
            }
            doomed.push(slot);
        }
        swept.entries += 1;
    }
    let finished = taken_to >= count;
    if finished {
        // The entry counter before the claim counter (a store whose delete-many is not atomic
        // deletes in order): a sweep that makes the claim counter anew after this finds the
        // entry counter gone, and cleans up after itself.
        doomed.extend([count_key.clone(), index::claimed_key(bucket)]);
    }
    store.delete_many(&doomed)?;
    if !finished && !store.exists(&count_key)? {
        // Another sweep took the last entries and finished the bucket meanwhile; if this claim
        // came after that, it made the claim counter anew (the entries it named were settled
        // again, harmlessly): take the counter away again.
        store.delete(&index::claimed_key(bucket))?;
        return Ok(true);
    }
    Ok(finished)
}

/// The decision for one entry, by what its key holds now; the keys to delete go to `doomed`:
/// - an expiring counter (`…#until=<time>`) whose time is up goes (one not yet up is
///   registered again under its own time);
/// - a record that has expired goes with its helper keys;
/// - a record that is gone (used up, revoked, met expired by a request) takes its helper keys
///   with it, which outlived it so that a claim in flight still counted;
/// - a record that is live was renewed (and registered again under its new expiry), and one
///   this release cannot read is not its to judge: both stay.
///
/// Returns how many keys (records and counters, not their helpers) it dooms.
fn settle(store: &dyn KeyValueStore, now: u64, entry: &Entry, doomed: &mut Vec<String>) -> Result<usize, RecordError> {
    if let Some(expires_at) = record::counter_expiry(&entry.key) {
        if expires_at > now {
            index::register(store, &entry.key, expires_at, &[])?;
            return Ok(0);
        }
        doomed.push(entry.key.clone());
        return Ok(1);
    }
    let Some(raw) = store.get(&entry.key)? else {
        doomed.extend(helper_keys(entry));
        return Ok(0);
    };
    match record::header(&raw) {
        Some(expires_at) if expires_at <= now => {
            doomed.push(entry.key.clone());
            doomed.extend(helper_keys(entry));
            Ok(1)
        }
        _ => Ok(0),
    }
}

fn helper_keys(entry: &Entry) -> impl Iterator<Item = String> + '_ {
    entry.helpers.iter().map(|helper| helper.key(&entry.key))
}
