//! Deleting expired records that no request will meet again.
//!
//! Spin's key-value store has no expiry. Every record carries `expires_at` and is deleted when a
//! request reads it after that, but a code never redeemed, a client that never returns or a
//! grant whose refresh token was abandoned is never read again. Once an hour (across all
//! instances), a successful `/register` or `/token` request also reads a bounded slice of this
//! namespace through the same expiring read the endpoints use, which deletes what has expired.

use platform::housekeeping;
use platform::{Clock, KeyValueStore, RecordError};

use crate::keys;

/// Runs [`sweep_expired`] if this hour's turn is free; returns how many records it deleted.
pub fn sweep_if_due(store: &dyn KeyValueStore, clock: &dyn Clock) -> Result<usize, RecordError> {
    housekeeping::sweep_if_due(store, clock, keys::SWEEP_MARKER, is_record)
}

/// Reads up to `max_records` oauth-core records (and claim counters), from a random starting
/// point, and deletes the expired ones (`platform::record::sweep_one`); returns how many it
/// deleted. Records it cannot parse are left alone.
pub fn sweep_expired(store: &dyn KeyValueStore, clock: &dyn Clock, max_records: usize) -> Result<usize, RecordError> {
    housekeeping::sweep_keys(store, clock.now_unix(), is_record, max_records)
}

/// Records of this namespace and their helper keys (`<record key>#claim`).
fn is_record(key: &str) -> bool {
    keys::kind_of(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lifetimes::ACCESS_TOKEN_TTL;
    use crate::tests::fixture;
    use platform::StoreError;
    use platform::housekeeping::SWEEP_INTERVAL_SECS;

    #[test]
    fn expired_records_go_with_their_claim_counters_and_live_ones_stay() {
        let f = fixture();
        let unredeemed = f.code();
        let tokens = f.tokens();
        f.store.set("other:namespace", b"kept").unwrap();
        f.clock.advance(ACCESS_TOKEN_TTL + 1);
        let deleted = sweep_expired(&f.store, &f.clock, usize::MAX).unwrap();
        // Both codes (the redeemed one's with its claim counter, and the unredeemed one), the
        // pending grant (with the user's profile) of the unredeemed code, and the access token.
        assert_eq!(deleted, 4);
        let grants = f.store.keys().into_iter().filter(|k| k.starts_with("oauth:grant:")).count();
        assert_eq!(grants, 1, "the active grant stays");
        assert!(!f.store.exists(&keys::code(&unredeemed)).unwrap());
        assert!(f.store.keys().iter().all(|k| !k.starts_with("oauth:code:")), "{:?}", f.store.keys());
        assert!(!f.store.exists(&keys::access_token(&tokens.access_token)).unwrap());
        assert!(f.store.exists(&keys::refresh_token(&tokens.refresh_token)).unwrap(), "30 days");
        assert!(f.store.exists(&keys::client(&f.client_id()).unwrap()).unwrap());
        assert_eq!(f.store.get("other:namespace").unwrap().unwrap(), b"kept");
    }

    #[test]
    fn unparsable_records_are_left_alone() {
        let f = fixture();
        f.store.set(&keys::code("odd"), b"{not json").unwrap();
        f.clock.advance(10 * 365 * 24 * 3600);
        sweep_expired(&f.store, &f.clock, usize::MAX).unwrap();
        assert!(f.store.exists(&keys::code("odd")).unwrap());
    }

    #[test]
    fn one_sweep_reads_at_most_its_budget() {
        let f = fixture();
        for _ in 0..5 {
            f.code();
        }
        assert_eq!(f.store.keys().len(), 11);
        f.clock.advance(ACCESS_TOKEN_TTL);
        let deleted = sweep_expired(&f.store, &f.clock, 2).unwrap();
        assert!(deleted <= 2);
        let left = f.store.keys().iter().filter(|k| !k.starts_with("oauth:client:")).count();
        assert_eq!(left, 10 - deleted, "5 codes and their 5 pending grants, less what was deleted");
    }

    /// The records of this namespace, without its sweep-turn counters.
    fn records(f: &crate::tests::Fixture) -> usize {
        f.store.keys().iter().filter(|k| is_record(k)).count()
    }

    #[test]
    fn the_sweep_runs_once_per_clock_hour() {
        let f = fixture();
        let into_hour = f.clock.now_unix() % SWEEP_INTERVAL_SECS;
        f.code();
        f.clock.advance(SWEEP_INTERVAL_SECS - into_hour); // the start of the next hour
        assert_eq!(sweep_if_due(&f.store, &f.clock).unwrap(), 2, "the code and its pending grant");
        f.code();
        f.clock.advance(SWEEP_INTERVAL_SECS - 1);
        assert_eq!(sweep_if_due(&f.store, &f.clock).unwrap(), 0, "not in the same hour");
        assert_eq!(records(&f), 3, "client, code, grant");
        f.clock.advance(1);
        assert_eq!(sweep_if_due(&f.store, &f.clock).unwrap(), 2);
        let turns: Vec<String> = f.store.keys().into_iter().filter(|k| k.starts_with(keys::SWEEP_MARKER)).collect();
        assert_eq!(turns.len(), 1, "only this hour's turn counter is kept: {turns:?}");
    }

    #[test]
    fn a_store_that_cannot_list_fails_the_sweep_without_deleting() {
        struct NoListing(platform::MemoryStore);
        impl KeyValueStore for NoListing {
            fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
                self.0.get(key)
            }
            fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
                self.0.set(key, value)
            }
            fn delete(&self, key: &str) -> Result<(), StoreError> {
                self.0.delete(key)
            }
            fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
                self.0.increment(key, delta)
            }
        }
        let f = fixture();
        let store = NoListing(f.store);
        assert!(sweep_expired(&store, &f.clock, usize::MAX).is_err());
        assert!(!store.0.keys().is_empty());
    }
}
