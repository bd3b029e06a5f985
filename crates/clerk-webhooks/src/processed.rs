//! Each Svix message processed once: `webhook:processed:<sha256(svix-id)>`, written after the
//! message's event was acted on, never before, so a delivery whose processing failed is
//! processed again when Svix retries it (with the same id, signed anew).
//!
//! **Lifetime.** Svix retries a failed message for about a day and a half (its schedule ends
//! some 28 hours after the first attempt, later for a manual replay from the dashboard); a
//! record is kept [`PROCESSED_TTL`], and swept after (it is registered in the expiry index).
//! **Who creates them.** Only a delivery with a valid signature, so only Clerk (or whoever
//! holds the signing secret), and at most as many a minute as the webhook rate limit admits
//! ([`crate::settings::Settings::rate_limit`]); a record is a few bytes.
//!
//! Two deliveries of one message at the same moment may both be processed: acting on an event
//! is idempotent (ending access twice ends it once; dropping tokens twice drops them once).

use platform::impl_record;
use platform::record::{self, RecordError};
use platform::secret::hash_hex;
use platform::{Clock, KeyValueStore};
use serde::{Deserialize, Serialize};

/// How long a processed message id is remembered: three days.
pub const PROCESSED_TTL: u64 = 3 * 24 * 60 * 60;

const PREFIX: &str = "webhook:processed:";

/// `webhook:processed:<sha256(svix-id)>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessedMessage {
    pub v: u32,
    pub processed_at: u64,
    pub expires_at: u64,
}
impl_record!(ProcessedMessage, "processed webhook message");

/// The key of message `id` (any id makes a short key of safe characters).
pub fn key(id: &str) -> String {
    format!("{PREFIX}{}", hash_hex(id))
}

/// Whether message `id` was processed in the last [`PROCESSED_TTL`].
pub fn was_processed(store: &dyn KeyValueStore, clock: &dyn Clock, id: &str) -> Result<bool, RecordError> {
    Ok(record::load::<ProcessedMessage>(store, clock, &key(id))?.is_some())
}

/// Remembers that message `id` was processed.
pub fn mark_processed(store: &dyn KeyValueStore, clock: &dyn Clock, id: &str) -> Result<(), RecordError> {
    let now = clock.now_unix();
    let processed = ProcessedMessage { v: record::VERSION, processed_at: now, expires_at: now + PROCESSED_TTL };
    record::save(store, &key(id), &processed)
}

#[cfg(test)]
mod tests {
    use platform::{ManualClock, MemoryStore};

    use super::*;

    #[test]
    fn a_marked_id_is_remembered_for_three_days_then_forgotten() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_700_000_000));
        assert!(!was_processed(&store, &clock, "msg_1").unwrap());
        mark_processed(&store, &clock, "msg_1").unwrap();
        assert!(was_processed(&store, &clock, "msg_1").unwrap());
        assert!(!was_processed(&store, &clock, "msg_2").unwrap());
        clock.advance(PROCESSED_TTL - 1);
        assert!(was_processed(&store, &clock, "msg_1").unwrap());
        clock.advance(1);
        assert!(!was_processed(&store, &clock, "msg_1").unwrap());
    }

    #[test]
    fn the_key_holds_a_hash_of_the_id_and_is_registered_for_the_sweep() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_700_000_000));
        mark_processed(&store, &clock, &"x".repeat(10_000)).unwrap();
        let keys = store.record_keys();
        assert_eq!(keys.len(), 1);
        assert!(keys[0].starts_with(PREFIX) && keys[0].len() < 100);
        clock.advance(PROCESSED_TTL + 120);
        platform::housekeeping::sweep_all(&store, &clock).unwrap();
        assert!(store.record_keys().is_empty(), "swept once expired");
    }
}
