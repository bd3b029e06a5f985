//! Deleting expired sign-in records that no request will meet again.
//!
//! A consent handle or upstream state becomes a tombstone when used and is deleted only when
//! presented again after its 10 minutes, so every sign-in (finished or abandoned) would leave its
//! records behind for good: Spin's key-value store has no expiry. Once an hour (across all
//! instances), a finished callback also deletes a bounded slice of the expired ones, with their
//! claim counters.

use platform::housekeeping;
use platform::{Clock, KeyValueStore, RecordError};

use crate::keys;

/// Runs [`sweep_expired`] if this hour's turn is free; returns how many records it deleted.
pub fn sweep_if_due(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<usize, RecordError> {
    housekeeping::sweep_if_due(store, clock, keys::SWEEP_MARKER, keys::is_record)
}

/// Reads up to `max_records` sign-in records and deletes the expired ones.
pub fn sweep_expired(store: &dyn KeyValueStore, clock: &dyn Clock, max_records: usize) -> Result<usize, RecordError> {
    housekeeping::sweep_keys(store, clock.now_unix(), keys::is_record, max_records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{Lookup, UPSTREAM_TTL, create, find, take};
    use platform::housekeeping::SWEEP_INTERVAL_SECS;
    use platform::{ManualClock, MemoryStore};

    const NOW: u64 = 1_700_000_000;
    const DATA: &str = "data";

    #[test]
    fn expired_records_and_tombstones_go_with_their_claims_and_live_ones_stay() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(NOW));
        create(&store, "used", &DATA.to_owned(), NOW + UPSTREAM_TTL).unwrap();
        take::<String, ()>(&store, &clock, "used", |_| Ok(())).unwrap();
        create(&store, "abandoned", &DATA.to_owned(), NOW + UPSTREAM_TTL).unwrap();
        store.set("signin:consent:v1:garbage", b"{not json").unwrap();
        clock.advance(UPSTREAM_TTL);
        create(&store, "fresh", &DATA.to_owned(), NOW + 2 * UPSTREAM_TTL).unwrap();

        assert_eq!(sweep_expired(&store, &clock, usize::MAX).unwrap(), 2, "the tombstone and the abandoned state");
        assert!(matches!(find::<String>(&store, &clock, "fresh").unwrap(), Lookup::Live(_)));
        assert!(store.exists("signin:consent:v1:garbage").unwrap(), "unreadable records are left alone");
        assert!(store.keys().iter().all(|k| !k.contains('#')), "claim counters go with their records");
    }

    #[test]
    fn the_sweep_runs_once_per_clock_hour() {
        let hour_start = NOW - NOW % SWEEP_INTERVAL_SECS;
        let (store, clock) = (MemoryStore::new(), ManualClock::at(hour_start));
        create(&store, "a", &DATA.to_owned(), hour_start + 1).unwrap();
        clock.advance(1);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 1);
        create(&store, "b", &DATA.to_owned(), hour_start + 2).unwrap();
        clock.advance(SWEEP_INTERVAL_SECS - 2);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 0, "not in the same hour");
        clock.advance(1);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 1);
        let turn = format!("{}{}", keys::SWEEP_MARKER, clock.now_unix() / SWEEP_INTERVAL_SECS);
        assert_eq!(store.keys(), [turn], "only this hour's turn counter is left");
    }
}
