//! Occasional housekeeping on a shared store: who runs it, and when.
//!
//! Spin runs a fresh instance per request and has no timers, so periodic work rides on ordinary
//! requests. Time is cut into fixed intervals (`now / interval`); the request that first
//! increments the current interval's counter `<marker prefix><interval number>` does the work,
//! so of many instances sharing a store exactly one runs it per interval, on every store (an
//! atomic increment; no compare-and-swap). The winner deletes the counters of past intervals.

use crate::record::{self, RecordError};
use crate::{Clock, KeyValueStore, StoreError};

/// True for the one caller that claims the current interval's turn at `marker_prefix`.
pub fn claim_periodic_turn(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    marker_prefix: &str,
    interval_secs: u64,
) -> Result<bool, StoreError> {
    let interval = clock.now_unix() / interval_secs.max(1);
    let won = store.increment(&turn_key(marker_prefix, interval), 1)? == 1;
    if won && interval > 0 {
        // Usually the only one left behind; older ones (after a quiet interval) go in the sweep.
        store.delete(&turn_key(marker_prefix, interval - 1))?;
    }
    Ok(won)
}

fn turn_key(marker_prefix: &str, interval: u64) -> String {
    format!("{marker_prefix}{interval}")
}

/// How often a sweep of expired records runs, at most: once per clock hour.
pub const SWEEP_INTERVAL_SECS: u64 = 3600;

/// How many records one sweep reads, so the request that runs it stays fast on a big store.
pub const MAX_RECORDS_PER_SWEEP: usize = 500;

/// The hourly sweep of one namespace: if this hour's turn at `marker_prefix` is free, deletes
/// the counters of past turns and runs [`sweep_keys`] over the keys `wanted` selects with the
/// standard budget. Returns how many records were deleted (0 when it was not this caller's turn).
pub fn sweep_if_due(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    marker_prefix: &str,
    wanted: impl Fn(&str) -> bool,
) -> Result<usize, RecordError> {
    sweep_if_due_every(store, clock, marker_prefix, SWEEP_INTERVAL_SECS, wanted)
}

/// [`sweep_if_due`] with turns of `interval_secs` instead of an hour, for a namespace whose
/// keys expire faster than an hourly sweep's budget could keep up with.
pub fn sweep_if_due_every(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    marker_prefix: &str,
    interval_secs: u64,
    wanted: impl Fn(&str) -> bool,
) -> Result<usize, RecordError> {
    if !claim_periodic_turn(store, clock, marker_prefix, interval_secs)? {
        return Ok(0);
    }
    let keys = store.list_keys()?;
    let current = turn_key(marker_prefix, clock.now_unix() / interval_secs.max(1));
    for stale in keys.iter().filter(|key| key.starts_with(marker_prefix) && **key != current) {
        store.delete(stale)?;
    }
    sweep_listed(store, clock.now_unix(), keys, wanted, MAX_RECORDS_PER_SWEEP)
}

/// Visits at most `budget` of the store's keys that `wanted` selects, starting at a random one so
/// that successive runs cover a namespace larger than the budget, and deletes what has expired
/// ([`record::sweep_one`]): expired records with their helper keys, orphaned helper keys, and
/// expiring counters whose time is up.
/// Returns how many keys it deleted.
pub fn sweep_keys(
    store: &dyn KeyValueStore,
    now: u64,
    wanted: impl Fn(&str) -> bool,
    budget: usize,
) -> Result<usize, RecordError> {
    let keys = store.list_keys()?;
    sweep_listed(store, now, keys, wanted, budget)
}

fn sweep_listed(
    store: &dyn KeyValueStore,
    now: u64,
    keys: Vec<String>,
    wanted: impl Fn(&str) -> bool,
    budget: usize,
) -> Result<usize, RecordError> {
    let mut keys: Vec<String> = keys.into_iter().filter(|key| wanted(key)).collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let start = crate::secret::random_bytes::<8>().map(u64::from_le_bytes).unwrap_or(0) as usize % keys.len();
    keys.rotate_left(start);
    let mut deleted = 0;
    for key in keys.iter().take(budget) {
        if record::sweep_one(store, now, key)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, MemoryStore};
    use std::sync::Arc;

    const MARKER: &str = "test:turn:";

    #[test]
    fn one_turn_per_interval() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_021));
        assert!(claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "first in this interval");
        assert!(!claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "same instant");
        clock.advance(59);
        assert!(claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "the next interval began at 1080");
        clock.advance(59);
        assert!(!claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "within it");
        assert_eq!(store.keys(), ["test:turn:18"], "the past interval's counter is gone");
    }

    #[test]
    fn of_32_concurrent_callers_exactly_one_gets_the_turn() {
        for round in 0..20 {
            let store = Arc::new(MemoryStore::new());
            let clock = Arc::new(ManualClock::at(3_600 * round));
            let threads: Vec<_> = (0..32)
                .map(|_| {
                    let (store, clock) = (store.clone(), clock.clone());
                    std::thread::spawn(move || claim_periodic_turn(&*store, &*clock, MARKER, 3_600).unwrap())
                })
                .collect();
            let winners = threads.into_iter().map(|t| t.join().unwrap()).filter(|won| *won).count();
            assert_eq!(winners, 1, "round {round}");
        }
    }

    #[test]
    fn the_sweep_deletes_turn_counters_of_any_past_interval_and_legacy_markers() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10 * SWEEP_INTERVAL_SECS));
        store.increment(&format!("{MARKER}3"), 1).unwrap();
        store.set(&format!("{MARKER}last"), b"12345").unwrap();
        assert_eq!(sweep_if_due(&store, &clock, MARKER, |_| false).unwrap(), 0);
        assert_eq!(store.keys(), ["test:turn:10"]);
    }

    #[test]
    fn a_sweep_visits_only_wanted_keys_within_its_budget() {
        let store = MemoryStore::new();
        for key in ["a:1", "a:2", "a:3", "b:1"] {
            store.set(key, br#"{"v":1,"expires_at":5}"#).unwrap();
        }
        let deleted = sweep_keys(&store, 10, |k| k.starts_with("a:"), 2).unwrap();
        assert_eq!(deleted, 2);
        assert_eq!(store.keys().len(), 2, "one a: key and b:1 are left");
        assert!(store.exists("b:1").unwrap());
    }
}
