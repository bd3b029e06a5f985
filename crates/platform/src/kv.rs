//! The key-value port: the operations every Spin key-value store offers reliably.
//!
//! Deliberately absent: compare-and-swap. Spin's Redis backend (every release from 3.0 through
//! 4.1: `crates/key-value-redis/src/store.rs`) writes the new value and then reports `cas-failed`
//! (README "Scale out"), so no answer of it can be trusted. Everything that needs
//! "exactly one winner" claims with [`KeyValueStore::increment`] instead (see [`crate::record`]).

use std::collections::HashMap;
use std::sync::Mutex;

/// A failure of the store itself (not "key absent", which is `Ok(None)`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("key-value store `{0}` is not available to this component")]
    Unavailable(String),
    #[error("key-value store error: {0}")]
    Backend(String),
}

/// A key-value store with an atomic counter.
///
/// Keys are short ASCII strings (< 250 bytes); values are bytes (< 1 MB). There is no TTL and no
/// prefix scan: records carry their own expiry ([`crate::record`]) and are written down in an
/// expiry index the sweep reads ([`crate::housekeeping`]).
pub trait KeyValueStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Deletes every key of `keys` (Spin's `wasi:keyvalue/batch.delete-many`: one statement on
    /// SQLite, one `DEL` on Redis, so one write instead of one per key). Not atomic on every
    /// store: on failure, some keys may be gone.
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        keys.iter().try_for_each(|key| self.delete(key))
    }
    /// Writes every pair (Spin's `wasi:keyvalue/batch.set-many`): one transaction on Spin's
    /// SQLite, one `MSET` on Redis, so one commit instead of one per key, and all or none of
    /// them is written. A store without it writes them one by one.
    fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        pairs.iter().try_for_each(|(key, value)| self.set(key, value))
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }
    /// Atomically adds `delta` to the counter at `key` (an absent key counts as 0, and is created)
    /// and returns the new value. Of many concurrent `increment(key, 1)` on a fresh key, exactly
    /// one sees 1: that is how one-time things are claimed.
    ///
    /// Backends store counters differently (Spin's SQLite: 8-byte little-endian; Redis: decimal
    /// text), so a counter is read only as `increment(key, 0)`, never with [`get`](Self::get).
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError>;
    /// Every key in the store (Spin's `get-keys`): only for the one-time set-up of the expiry
    /// index on a store written by an older release ([`crate::housekeeping`]), never a hot path.
    /// Stores that cannot list (test wrappers) say so with an error.
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        Err(StoreError::Backend("this store cannot list its keys".to_owned()))
    }
}

impl<T: KeyValueStore + ?Sized> KeyValueStore for &T {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        (**self).get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        (**self).set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        (**self).delete(key)
    }
    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        (**self).delete_many(keys)
    }
    fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        (**self).set_many(pairs)
    }
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        (**self).exists(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        (**self).increment(key, delta)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        (**self).list_keys()
    }
}

/// An in-process store, used by native tests. Thread-safe so race tests can hammer it.
/// Counters are kept as Spin's SQLite store keeps them (8-byte little-endian), so code that
/// wrongly `get`s a counter and parses it fails here as it would there.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<String, Vec<u8>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// A copy of every entry, for tests that assert "nothing changed".
    pub fn snapshot(&self) -> HashMap<String, Vec<u8>> {
        self.lock().clone()
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.lock().keys().cloned().collect();
        keys.sort();
        keys
    }

    /// [`keys`](Self::keys) without the expiry index and the sweep's own keys
    /// ([`crate::housekeeping`]): what the app's records and counters are.
    pub fn record_keys(&self) -> Vec<String> {
        self.keys().into_iter().filter(|key| !crate::housekeeping::is_housekeeping_key(key)).collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-written, so poisoning is moot.
        self.entries.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl KeyValueStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.lock().get(key).cloned())
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.lock().insert(key.to_owned(), value.to_vec());
        Ok(())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.lock().remove(key);
        Ok(())
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        Ok(self.keys())
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let mut entries = self.lock();
        let current = match entries.get(key) {
            None => 0,
            Some(bytes) => {
                let counter: [u8; 8] = bytes
                    .as_slice()
                    .try_into()
                    .map_err(|_| StoreError::Backend(format!("the value at `{key}` is not a counter")))?;
                i64::from_le_bytes(counter)
            }
        };
        let new = current
            .checked_add(delta)
            .ok_or_else(|| StoreError::Backend(format!("the counter at `{key}` would overflow")))?;
        entries.insert(key.to_owned(), new.to_le_bytes().to_vec());
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn of_32_concurrent_increments_of_a_fresh_key_exactly_one_sees_1() {
        let store = Arc::new(MemoryStore::new());
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || store.increment("k", 1).unwrap())
            })
            .collect();
        let mut seen: Vec<i64> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        seen.sort();
        assert_eq!(seen, (1..=32).collect::<Vec<_>>());
        assert_eq!(store.increment("k", 0).unwrap(), 32, "read without changing");
    }

    #[test]
    fn incrementing_a_value_that_is_no_counter_is_an_error_not_a_reset() {
        let store = MemoryStore::new();
        store.set("k", b"{\"v\":1}").unwrap();
        assert!(matches!(store.increment("k", 1), Err(StoreError::Backend(_))));
        assert_eq!(store.get("k").unwrap().unwrap(), b"{\"v\":1}");
    }

    #[test]
    fn counters_are_stored_as_spin_sqlite_stores_them() {
        let store = MemoryStore::new();
        store.increment("k", 5).unwrap();
        assert_eq!(store.get("k").unwrap().unwrap(), 5i64.to_le_bytes());
    }

    /// The port offers no compare-and-swap, and the Spin adapter calls none, so nothing can rely
    /// on an answer that Spin's Redis store gets wrong (it writes, then reports a conflict).
    #[test]
    fn no_product_code_can_use_cas() {
        let forbidden =
            [["compare", "_and_", "swap"].concat(), ["atomics::", "swap"].concat(), ["Cas::", "new"].concat()];
        let sources = [
            ("platform/src/kv.rs", include_str!("kv.rs")),
            ("platform/src/record.rs", include_str!("record.rs")),
            ("spin-platform/src/kv.rs", include_str!("../../spin-platform/src/kv.rs")),
        ];
        for (path, text) in sources {
            for needle in &forbidden {
                assert!(!text.contains(needle.as_str()), "{path} mentions {needle}");
            }
        }
    }
}
