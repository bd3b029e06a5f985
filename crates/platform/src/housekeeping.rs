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
}
