//! Occasional housekeeping on a shared store: who runs it, and when.
//!
//! Spin runs a fresh instance per request and has no timers, so periodic work rides on ordinary
//! requests. A marker key holds the unix time of the last run; the request that advances it by
//! compare-and-swap does the work, so of many instances sharing a store one runs it per interval.

use crate::{Clock, KeyValueStore, StoreError};

/// True for the one caller that claims this interval's turn at `marker`: the marker was absent,
/// unreadable, or at least `interval_secs` old, and this call advanced it to now. The very first
/// claim (absent marker) is a plain write, so two instances may both win it once; the work
/// must therefore be safe to repeat, as deleting expired records is.
pub fn claim_periodic_turn(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    marker: &str,
    interval_secs: u64,
) -> Result<bool, StoreError> {
    let now = clock.now_unix();
    let stamp = now.to_string();
    let Some(raw) = store.get(marker)? else {
        store.set(marker, stamp.as_bytes())?;
        return Ok(true);
    };
    let last = std::str::from_utf8(&raw).ok().and_then(|text| text.parse::<u64>().ok());
    if last.is_some_and(|last| now < last.saturating_add(interval_secs)) {
        return Ok(false);
    }
    store.compare_and_swap(marker, &raw, stamp.as_bytes())
}

/// How often a sweep of expired records runs, at most.
pub const SWEEP_INTERVAL_SECS: u64 = 3600;

/// How many records one sweep reads, so the request that runs it stays fast on a big store.
pub const MAX_RECORDS_PER_SWEEP: usize = 500;

/// The hourly sweep of one namespace: if this hour's turn at `marker` is free, runs
/// [`sweep_keys`] over the keys `wanted` selects with the standard budget. Returns how many
/// records were deleted (0 when it was not this caller's turn).
pub fn sweep_if_due(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    marker: &str,
    wanted: impl Fn(&str) -> bool,
    delete_if_expired: impl FnMut(&str) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    if !claim_periodic_turn(store, clock, marker, SWEEP_INTERVAL_SECS)? {
        return Ok(0);
    }
    sweep_keys(store, wanted, MAX_RECORDS_PER_SWEEP, delete_if_expired)
}

/// Visits at most `budget` of the store's keys that `wanted` selects, starting at a random one so
/// that successive runs cover a namespace larger than the budget. `delete_if_expired` decides and
/// deletes; the result is how many it deleted.
pub fn sweep_keys(
    store: &dyn KeyValueStore,
    wanted: impl Fn(&str) -> bool,
    budget: usize,
    mut delete_if_expired: impl FnMut(&str) -> Result<bool, StoreError>,
) -> Result<usize, StoreError> {
    let mut keys: Vec<String> = store.list_keys()?.into_iter().filter(|key| wanted(key)).collect();
    if keys.is_empty() {
        return Ok(0);
    }
    let start = crate::secret::random_bytes::<8>().map(u64::from_le_bytes).unwrap_or(0) as usize % keys.len();
    keys.rotate_left(start);
    let mut deleted = 0;
    for key in keys.iter().take(budget) {
        if delete_if_expired(key)? {
            deleted += 1;
        }
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ManualClock, MemoryStore};

    const MARKER: &str = "test:housekeeping";

    #[test]
    fn one_turn_per_interval() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        assert!(claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "first ever");
        assert!(!claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "same instant");
        clock.advance(59);
        assert!(!claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "within the interval");
        clock.advance(1);
        assert!(claim_periodic_turn(&store, &clock, MARKER, 60).unwrap(), "interval over");
        assert_eq!(store.get(MARKER).unwrap().unwrap(), b"1060");
    }

    #[test]
    fn an_unreadable_marker_is_taken_over() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        store.set(MARKER, b"not a number").unwrap();
        assert!(claim_periodic_turn(&store, &clock, MARKER, 60).unwrap());
        assert!(!claim_periodic_turn(&store, &clock, MARKER, 60).unwrap());
    }

    #[test]
    fn a_sweep_visits_only_wanted_keys_within_its_budget() {
        let store = MemoryStore::new();
        for key in ["a:1", "a:2", "a:3", "b:1"] {
            store.set(key, b"x").unwrap();
        }
        let mut visited = Vec::new();
        let deleted = sweep_keys(
            &store,
            |k| k.starts_with("a:"),
            2,
            |key| {
                visited.push(key.to_owned());
                store.delete(key)?;
                Ok(true)
            },
        )
        .unwrap();
        assert_eq!((deleted, visited.len()), (2, 2));
        assert!(visited.iter().all(|k| k.starts_with("a:")));
        assert_eq!(store.keys().len(), 2, "one a: key and b:1 are left");
        assert!(store.exists("b:1").unwrap());
    }
}
