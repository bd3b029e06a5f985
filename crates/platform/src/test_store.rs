//! A store for tests that can be made to fail for some keys, as a store that is down for some
//! requests: the error paths of every crate that writes through [`KeyValueStore`] (behind the
//! `test-support` feature; never built into a component).

use crate::{KeyValueStore, MemoryStore, StoreError};

/// A [`MemoryStore`] whose keys under one prefix can be made to fail, as a store that is down
/// for some requests.
#[derive(Default)]
pub struct TestStore {
    memory: MemoryStore,
    /// The prefix, and whether only writes fail.
    broken: std::sync::Mutex<Option<(&'static str, bool)>>,
}

impl TestStore {
    /// From now on, every operation on a key starting with `prefix` fails.
    pub fn break_keys(&self, prefix: &'static str) {
        *self.broken.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((prefix, false));
    }

    /// From now on, every write (set, delete, increment) of a key starting with `prefix` fails.
    pub fn break_writes(&self, prefix: &'static str) {
        *self.broken.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((prefix, true));
    }

    pub fn repair(&self) {
        *self.broken.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = None;
    }

    fn check(&self, key: &str, write: bool) -> Result<(), StoreError> {
        match *self.broken.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) {
            Some((prefix, writes_only)) if key.starts_with(prefix) && (write || !writes_only) => {
                Err(StoreError::Backend("down for this test".into()))
            }
            _ => Ok(()),
        }
    }
}

impl std::ops::Deref for TestStore {
    type Target = MemoryStore;
    fn deref(&self) -> &MemoryStore {
        &self.memory
    }
}

impl KeyValueStore for TestStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check(key, false)?;
        self.memory.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check(key, true)?;
        self.memory.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check(key, true)?;
        self.memory.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.check(key, true)?;
        self.memory.increment(key, delta)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        self.memory.list_keys()
    }
}
