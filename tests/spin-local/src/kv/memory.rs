//! The in-memory store: a map behind a mutex (never held across an await).

use super::{KvError, add_to_le_counter};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone, Default)]
pub struct MemoryStore {
    map: Arc<Mutex<HashMap<String, Vec<u8>>>>,
}

impl MemoryStore {
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Vec<u8>>> {
        // A panic while holding the lock cannot leave the map half-updated (every update is a
        // single insert/remove), so a poisoned lock is still safe to use.
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.lock().get(key).cloned()
    }

    pub fn set(&self, key: &str, value: &[u8]) {
        self.lock().insert(key.to_string(), value.to_vec());
    }

    pub fn delete(&self, key: &str) {
        self.lock().remove(key);
    }

    pub fn exists(&self, key: &str) -> bool {
        self.lock().contains_key(key)
    }

    pub fn get_keys(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut map = self.lock();
        let new = add_to_le_counter(map.get(key).map(Vec::as_slice), delta)?;
        map.insert(key.to_string(), new.to_le_bytes().to_vec());
        Ok(new)
    }

    /// Compare and set under one lock: atomic, including create-if-absent.
    pub fn swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> bool {
        let mut map = self.lock();
        if map.get(key).map(Vec::as_slice) != expected {
            return false;
        }
        map.insert(key.to_string(), value.to_vec());
        true
    }
}
