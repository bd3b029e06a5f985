//! Deleting expired sign-in records that no request will meet again.
//!
//! A consent handle or upstream state is swapped to a tombstone when used and deleted only when
//! presented again after its 10 minutes, so every sign-in (finished or abandoned) would leave its
//! records behind for good: Spin's key-value store has no expiry. Once an hour (across all
//! instances), a finished callback also deletes a bounded slice of the expired ones.

use platform::housekeeping;
use platform::{Clock, KeyValueStore, StoreError};

use crate::{keys, records};

/// Runs [`sweep_expired`] if this hour's turn is free; returns how many records it deleted.
pub fn sweep_if_due(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<usize, StoreError> {
    let now = clock.now_unix();
    housekeeping::sweep_if_due(store, clock, keys::SWEEP_MARKER, keys::is_record, |key| {
        records::delete_if_expired(store, key, now)
    })
}

/// Reads up to `max_records` sign-in records and deletes the expired ones.
pub fn sweep_expired(store: &dyn KeyValueStore, clock: &dyn Clock, max_records: usize) -> Result<usize, StoreError> {
    let now = clock.now_unix();
    housekeeping::sweep_keys(store, keys::is_record, max_records, |key| records::delete_if_expired(store, key, now))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::records::{CONSENT_TTL, Kind, Lookup, consume, create, find};
    use platform::housekeeping::SWEEP_INTERVAL_SECS;
    use platform::{ManualClock, MemoryStore};

    const NOW: u64 = 1_700_000_000;

    #[test]
    fn expired_records_and_tombstones_go_and_live_ones_stay() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(NOW));
        create(&store, Kind::Consent, "used", "data", NOW + CONSENT_TTL).unwrap();
        let Lookup::Live { raw, expires_at, .. } = find::<String>(&store, Kind::Consent, "used", NOW).unwrap() else {
            panic!("live")
        };
        assert!(consume(&store, Kind::Consent, "used", &raw, expires_at).unwrap());
        create(&store, Kind::Upstream, "abandoned", "data", NOW + CONSENT_TTL).unwrap();
        store.set("signin:consent:v1:garbage", b"{not json").unwrap();
        clock.advance(CONSENT_TTL);
        create(&store, Kind::Consent, "fresh", "data", NOW + 2 * CONSENT_TTL).unwrap();

        assert_eq!(sweep_expired(&store, &clock, usize::MAX).unwrap(), 2, "the tombstone and the abandoned state");
        assert!(matches!(
            find::<String>(&store, Kind::Consent, "fresh", clock.now_unix()).unwrap(),
            Lookup::Live { .. }
        ));
        assert!(store.exists("signin:consent:v1:garbage").unwrap(), "unreadable records are left alone");
    }

    #[test]
    fn the_sweep_runs_once_an_hour() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(NOW));
        create(&store, Kind::Consent, "a", "data", NOW + 1).unwrap();
        clock.advance(1);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 1);
        create(&store, Kind::Consent, "b", "data", NOW + 2).unwrap();
        clock.advance(SWEEP_INTERVAL_SECS - 1);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 0, "not yet");
        clock.advance(1);
        assert_eq!(sweep_if_due(&store, &clock).unwrap(), 1);
        assert_eq!(store.keys(), [keys::SWEEP_MARKER], "only the marker is left");
    }
}
