//! A store that fails one kind of call, for the error paths of the unit tests.

use crate::{KeyValueStore, MemoryStore, StoreError};

/// What [`Faulty`] fails.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fails {
    /// Every `increment`.
    Increments,
    /// Listing the keys (a store that cannot list, as test wrappers cannot).
    Listing,
}

/// A [`MemoryStore`] whose calls of one kind fail.
pub(crate) struct Faulty {
    pub inner: MemoryStore,
    pub fails: Fails,
}

impl Faulty {
    pub fn new(inner: MemoryStore, fails: Fails) -> Self {
        Self { inner, fails }
    }
}

impl KeyValueStore for Faulty {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        match self.fails {
            Fails::Increments => Err(StoreError::Backend("down".into())),
            Fails::Listing => self.inner.increment(key, delta),
        }
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        match self.fails {
            Fails::Listing => Err(StoreError::Backend("this store cannot list its keys".into())),
            Fails::Increments => self.inner.list_keys(),
        }
    }
}
