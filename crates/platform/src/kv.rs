//! The key-value port: the operations Spin's key-value store offers, plus compare-and-swap.

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

/// A key-value store with atomic compare-and-swap.
///
/// Keys are short ASCII strings (< 250 bytes); values are bytes (< 1 MB). There is no TTL and no
/// prefix scan: records carry their own expiry (see `oauth-core`), and housekeeping lists every key.
pub trait KeyValueStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError>;
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        Ok(self.get(key)?.is_some())
    }
    /// Replace the value of an *existing* key with `new` only if it still equals `expected`.
    ///
    /// Returns `Ok(true)` when this call won, `Ok(false)` when the value had changed or the key
    /// was absent. Spin's SQLite backend compares values and is atomic only for keys that exist,
    /// so callers consume one-time records by swapping an existing record to a tombstone; they
    /// never rely on CAS to create a key.
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError>;
    /// Every key in the store (Spin's `get-keys`): for occasional housekeeping, never a hot path.
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
    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        (**self).exists(key)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        (**self).compare_and_swap(key, expected, new)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        (**self).list_keys()
    }
}

/// An in-process store, used by native tests. Thread-safe so race tests can hammer it.
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
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        let mut entries = self.lock();
        match entries.get_mut(key) {
            Some(current) if current.as_slice() == expected => {
                *current = new.to_vec();
                Ok(true)
            }
            _ => Ok(false),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn compare_and_swap_succeeds_once_from_the_same_old_value() {
        let store = Arc::new(MemoryStore::new());
        store.set("k", b"old").unwrap();
        let winners = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..32)
            .map(|i| {
                let (store, winners) = (store.clone(), winners.clone());
                std::thread::spawn(move || {
                    if store.compare_and_swap("k", b"old", format!("new{i}").as_bytes()).unwrap() {
                        winners.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(winners.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn compare_and_swap_never_creates_a_key() {
        let store = MemoryStore::new();
        assert!(!store.compare_and_swap("absent", b"", b"v").unwrap());
        assert_eq!(store.get("absent").unwrap(), None);
    }
}
