//! Setting up the expiry index on a store that has none: a new deployment, or one upgraded in
//! place from a release that swept by listing keys, whose records have no index entries.
//!
//! The store has no cursor until this is done. Each turn ([`super::after_response`]) lists the
//! keys once, sorts them, and takes up to its budget of those after the last one an earlier
//! turn handled (`expiry:migration` holds that key): an expired record goes with its helper
//! keys, a live one is registered under its expiry (with the helper keys the listing shows it
//! has), an expiring counter likewise, a helper key whose record is not listed goes, and the previous
//! release's sweep turns (`<namespace>:sweep:<hour>`) go. Anything else is left as it is. The
//! last turn writes the cursor at the oldest bucket the index has, so entries registered while
//! the set-up ran are swept too. A key written meanwhile may be handled twice (registered by its
//! save, and again here), which costs an entry and loses nothing.
//!
//! This is the only listing of the key space, once per store; it is spread over as many turns
//! as the store is large (a listing per turn), then never again.

use super::index::{self, PREFIX};
use super::sweep;
use crate::record::{self, Helper, RecordError};
use crate::{Clock, KeyValueStore};

/// The most keys deleted in one `delete-many`.
const DELETE_BATCH: usize = 500;

/// The last key an unfinished set-up handled.
const PROGRESS: &str = "expiry:migration";

/// The sweep turns of the release before the expiry index: `<namespace>:sweep:<hour>` counters
/// and `<namespace>:sweep:last` markers. Nothing writes them any more.
const OLD_SWEEP_TURNS: [&str; 4] = ["oauth:sweep:", "signin:sweep:", "mcp:sweep:", "ratelimit:sweep:"];

/// What one turn of the set-up did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Migrated {
    /// Keys looked at.
    pub keys: usize,
    /// Keys deleted.
    pub deleted: usize,
    /// The index is set up (the cursor is written).
    pub done: bool,
}

/// Handles up to `budget` keys of the store that no earlier turn handled.
pub fn step(store: &dyn KeyValueStore, clock: &dyn Clock, budget: usize) -> Result<Migrated, RecordError> {
    let now = clock.now_unix();
    let through = store.get(PROGRESS)?.map(|raw| String::from_utf8_lossy(&raw).into_owned());
    let mut keys = store.list_keys()?;
    keys.sort_unstable();
    let oldest_bucket = keys.iter().filter_map(|key| index::bucket_of_count_key(key)).min();
    let pending: Vec<&String> = keys
        .iter()
        .filter(|key| through.as_ref().is_none_or(|through| key.as_str() > through.as_str()))
        .filter(|key| !key.starts_with(PREFIX))
        .collect();
    let mut migrated = Migrated::default();
    let mut doomed = Vec::new();
    for key in pending.iter().take(budget) {
        migrated.deleted += migrate(store, now, key, &keys, &mut doomed)?;
        migrated.keys += 1;
    }
    doomed.chunks(DELETE_BATCH).try_for_each(|batch| store.delete_many(batch))?;
    match pending.get(budget) {
        Some(_) => {
            if let Some(last) = pending.get(budget.saturating_sub(1)) {
                store.set(PROGRESS, last.as_bytes())?;
            }
        }
        None => {
            let start = oldest_bucket.map_or(index::bucket_of(now), |oldest| oldest.min(index::bucket_of(now)));
            sweep::write_cursor(store, start)?;
            store.delete(PROGRESS)?;
            migrated.done = true;
        }
    }
    Ok(migrated)
}

/// Handles one listed key; the keys to delete go to `doomed`, and how many of the listed ones
/// that is is returned. `listed` is the sorted listing.
fn migrate(
    store: &dyn KeyValueStore,
    now: u64,
    key: &str,
    listed: &[String],
    doomed: &mut Vec<String>,
) -> Result<usize, RecordError> {
    if OLD_SWEEP_TURNS.iter().any(|prefix| key.starts_with(prefix)) {
        doomed.push(key.to_owned());
        return Ok(1);
    }
    if let Some(expires_at) = record::counter_expiry(key) {
        return settle_or_register(store, now, key, expires_at, &[], doomed);
    }
    if let Some(owner) = record::helper_owner(key) {
        if listed.binary_search_by(|listed| listed.as_str().cmp(owner)).is_ok() {
            return Ok(0); // handled with its record
        }
        doomed.push(key.to_owned());
        return Ok(1);
    }
    let Some(raw) = store.get(key)? else { return Ok(0) };
    match record::header(&raw) {
        Some(expires_at) => settle_or_register(store, now, key, expires_at, &helpers_listed(key, listed), doomed),
        None => Ok(0),
    }
}

/// Dooms `key` (and `helpers`) when it has expired, else registers it; how many keys that dooms.
fn settle_or_register(
    store: &dyn KeyValueStore,
    now: u64,
    key: &str,
    expires_at: u64,
    helpers: &[Helper],
    doomed: &mut Vec<String>,
) -> Result<usize, RecordError> {
    if expires_at > now {
        index::register(store, key, expires_at, helpers)?;
        return Ok(0);
    }
    doomed.push(key.to_owned());
    doomed.extend(helpers.iter().map(|helper| helper.key(key)));
    Ok(1)
}

/// The helper keys of `key` that the sorted listing holds.
fn helpers_listed(key: &str, listed: &[String]) -> Vec<Helper> {
    Helper::ALL.into_iter().filter(|helper| listed.binary_search(&helper.key(key)).is_ok()).collect()
}
