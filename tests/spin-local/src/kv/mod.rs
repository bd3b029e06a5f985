//! Key-value backends (Spin's `spin` SQLite store, in-memory, Redis) behind one type that both
//! guest APIs (`fermyon:spin/key-value` and `wasi:keyvalue`) use, so they see the same data.

mod memory;
mod redis;
mod sqlite;

pub use memory::MemoryStore;
pub use redis::RedisStore;
pub use sqlite::{SqliteDb, SqliteStore};

use std::collections::HashMap;

/// A backend failure, reported to the guest as `error::other(message)`.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct KvError(pub String);

impl KvError {
    pub(crate) fn from_display(e: impl std::fmt::Display) -> Self {
        Self(e.to_string())
    }
}

/// One labelled store.
#[derive(Clone)]
pub enum Store {
    Sqlite(SqliteStore),
    Memory(MemoryStore),
    Redis(RedisStore),
}

/// A compare-and-swap in progress: what `current` saw, and for Redis the connection that
/// WATCHes the key.
pub struct CasState {
    pub key: String,
    /// `None` until `current` ran; then the value it saw.
    pub seen: Option<Option<Vec<u8>>>,
    pub(crate) redis: Option<::redis::aio::MultiplexedConnection>,
}

impl CasState {
    pub fn new(key: String) -> Self {
        Self { key, seen: None, redis: None }
    }
}

impl Store {
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        match self {
            Store::Sqlite(s) => s.get(key),
            Store::Memory(s) => Ok(s.get(key)),
            Store::Redis(s) => s.get(key).await,
        }
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        match self {
            Store::Sqlite(s) => s.set(key, value),
            Store::Memory(s) => {
                s.set(key, value);
                Ok(())
            }
            Store::Redis(s) => s.set(key, value).await,
        }
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        match self {
            Store::Sqlite(s) => s.delete(key),
            Store::Memory(s) => {
                s.delete(key);
                Ok(())
            }
            Store::Redis(s) => s.delete(key).await,
        }
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        match self {
            Store::Sqlite(s) => s.exists(key),
            Store::Memory(s) => Ok(s.exists(key)),
            Store::Redis(s) => s.exists(key).await,
        }
    }

    pub async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        match self {
            Store::Sqlite(s) => s.get_keys(),
            Store::Memory(s) => Ok(s.get_keys()),
            Store::Redis(s) => s.get_keys().await,
        }
    }

    /// Adds `delta` to the counter at `key` (absent = 0) and returns the new value.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        match self {
            Store::Sqlite(s) => s.increment(key, delta),
            Store::Memory(s) => s.increment(key, delta),
            Store::Redis(s) => s.increment(key, delta).await,
        }
    }

    /// `cas.current`: reads and remembers the value (Redis also WATCHes the key).
    pub async fn cas_current(&self, cas: &mut CasState) -> Result<Option<Vec<u8>>, KvError> {
        let value = match self {
            Store::Redis(s) => s.watch_and_get(cas).await?,
            other => other.get(&cas.key).await?,
        };
        cas.seen = Some(value.clone());
        Ok(value)
    }

    /// `swap`: writes `value` only if the key still holds what `current` saw (absent included).
    /// `Ok(false)` is a conflict (`cas-failed`).
    pub async fn cas_swap(&self, mut cas: CasState, value: &[u8]) -> Result<bool, KvError> {
        if cas.seen.is_none() {
            // Without a `current` call the swap is conditional on the value seen right now.
            self.cas_current(&mut cas).await?;
        }
        let seen = cas.seen.clone().unwrap_or(None);
        match self {
            Store::Sqlite(s) => s.swap(&cas.key, seen.as_deref(), value),
            Store::Memory(s) => Ok(s.swap(&cas.key, seen.as_deref(), value)),
            Store::Redis(s) => s.exec_swap(cas, value).await,
        }
    }
}

/// Why a guest may not open a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenError {
    NoSuchStore,
    AccessDenied,
}

impl std::fmt::Debug for Stores {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.by_label.keys()).finish()
    }
}

/// The app's stores by label.
#[derive(Clone, Default)]
pub struct Stores {
    by_label: HashMap<String, Store>,
}

impl Stores {
    pub fn new(by_label: HashMap<String, Store>) -> Self {
        Self { by_label }
    }

    pub fn contains(&self, label: &str) -> bool {
        self.by_label.contains_key(label)
    }

    /// Opens `label` for a component granted `allowed` (its `key_value_stores`).
    pub fn open(&self, label: &str, allowed: &[String]) -> Result<Store, OpenError> {
        if !allowed.iter().any(|a| a == label) {
            return Err(OpenError::AccessDenied);
        }
        self.by_label.get(label).cloned().ok_or(OpenError::NoSuchStore)
    }
}

/// Reads a counter stored as Spin's 8-byte little-endian i64 and adds `delta`.
pub(crate) fn add_to_le_counter(old: Option<&[u8]>, delta: i64) -> Result<i64, KvError> {
    let current = match old {
        None => 0,
        Some(bytes) => {
            let arr: [u8; 8] = bytes
                .try_into()
                .map_err(|_| KvError("value is not a counter (an 8-byte little-endian integer)".into()))?;
            i64::from_le_bytes(arr)
        }
    };
    current.checked_add(delta).ok_or_else(|| KvError("increment overflows i64".into()))
}
