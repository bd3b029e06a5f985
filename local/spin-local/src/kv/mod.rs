//! Key-value backends as Spin configures them (its `spin` SQLite store, on disk or in memory, and
//! Redis), one module each behind the [`Backend`] trait, and the [`Store`] both guest APIs
//! (`fermyon:spin/key-value` and `wasi:keyvalue`) use, so they see the same data.
//!
//! Each backend behaves like Spin's own, quirks included (spin-local must not be kinder than
//! Spin): see `sqlite.rs` and `redis.rs` for what that means per operation.

mod redis;
mod sqlite;

pub use redis::{RedisMode, RedisStore};
pub use sqlite::{SqliteDb, SqliteStore};

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

/// What `get-many` answers: keys with their value (or none).
pub type KeyValues = Vec<(String, Option<Vec<u8>>)>;

/// A backend failure.
#[derive(Debug, Clone, thiserror::Error)]
pub enum KvError {
    /// What the guest sees as `error::other(message)`.
    #[error("{0}")]
    Other(String),
    /// Where Spin's host panics (the request fails with a 500): spin-local traps the guest.
    #[error("{0}")]
    Trap(String),
}

impl KvError {
    pub(crate) fn from_display(e: impl std::fmt::Display) -> Self {
        Self::Other(e.to_string())
    }
}

/// How a `swap` ended.
#[derive(Debug)]
pub enum SwapError {
    /// `cas-failed`: the guest gets a fresh CAS handle to retry with.
    CasFailed,
    Store(KvError),
}

impl From<KvError> for SwapError {
    fn from(e: KvError) -> Self {
        Self::Store(e)
    }
}

/// What a backend operation returns (boxed, so backends are trait objects).
pub type Op<'a, T> = Pin<Box<dyn Future<Output = Result<T, KvError>> + Send + 'a>>;

/// One key-value backend, with that backend's own Spin semantics. The operations are those of
/// both guest APIs; [`Store`] adds what Spin's host does before any backend (empty batches, the
/// result-size limit).
pub trait Backend: Send + Sync {
    /// What opening the store does besides the access check (Redis connects the first time).
    fn opened(&self) -> Op<'_, ()> {
        Box::pin(std::future::ready(Ok(())))
    }
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>>;
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8]) -> Op<'a, ()>;
    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, ()>;
    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool>;
    fn get_keys(&self) -> Op<'_, Vec<String>>;
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, KeyValues>;
    fn set_many<'a>(&'a self, pairs: &'a [(String, Vec<u8>)]) -> Op<'a, ()>;
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, ()>;
    /// Adds `delta` to the counter at `key` (absent = 0) and returns the new value, atomically.
    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64>;
    /// `cas.new`: the backend's compare-and-swap of `key`.
    fn new_cas<'a>(&'a self, key: &'a str) -> Op<'a, Box<dyn CasBackend>>;
}

/// A backend's compare-and-swap of one key.
pub trait CasBackend: Send {
    /// `cas.current`: reads the value (SQLite remembers it for `swap`, Redis WATCHes the key).
    fn current(&mut self) -> Op<'_, Option<Vec<u8>>>;
    /// `swap`: whether it swapped.
    fn swap<'a>(&'a mut self, value: &'a [u8]) -> Op<'a, bool>;
}

/// One labelled store: a backend (`sqlite`, `redis`).
#[derive(Clone)]
pub struct Store(Arc<dyn Backend>);

/// A compare-and-swap in progress (a `wasi:keyvalue/atomics.cas` resource).
pub struct Cas {
    key: String,
    backend: Box<dyn CasBackend>,
}

impl Cas {
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl Store {
    pub fn new(backend: impl Backend + 'static) -> Self {
        Self(Arc::new(backend))
    }

    /// What opening the store does besides the access check: a Redis store connects the first
    /// time, as Spin's does (an error then fails the open).
    pub async fn opened(&self) -> Result<(), KvError> {
        self.0.opened().await
    }

    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        self.0.get(key).await
    }

    pub async fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.0.set(key, value).await
    }

    pub async fn delete(&self, key: &str) -> Result<(), KvError> {
        self.0.delete(key).await
    }

    pub async fn exists(&self, key: &str) -> Result<bool, KvError> {
        self.0.exists(key).await
    }

    /// Every key, refused past Spin 4.0's host buffer limit ([`within_result_limit`]).
    pub async fn get_keys(&self) -> Result<Vec<String>, KvError> {
        within_result_limit(self.0.get_keys().await?, MAX_HOST_BUFFERED_BYTES)
    }

    /// `wasi:keyvalue/batch.get-many`. Spin answers an empty list itself, before the backend.
    pub async fn get_many(&self, keys: Vec<String>) -> Result<KeyValues, KvError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.0.get_many(&keys).await
    }

    /// `wasi:keyvalue/batch.set-many` (nothing to do for an empty list, as in Spin).
    pub async fn set_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), KvError> {
        if pairs.is_empty() {
            return Ok(());
        }
        self.0.set_many(&pairs).await
    }

    /// `wasi:keyvalue/batch.delete-many` (nothing to do for an empty list, as in Spin).
    pub async fn delete_many(&self, keys: Vec<String>) -> Result<(), KvError> {
        if keys.is_empty() {
            return Ok(());
        }
        self.0.delete_many(&keys).await
    }

    /// Adds `delta` to the counter at `key` (absent = 0) and returns the new value, atomically.
    pub async fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        self.0.increment(key, delta).await
    }

    /// `cas.new`. Spin's Redis store opens the CAS's own connection here.
    pub async fn new_cas(&self, key: &str) -> Result<Cas, KvError> {
        Ok(Cas { key: key.to_string(), backend: self.0.new_cas(key).await? })
    }

    /// `cas.current`: reads the value; SQLite remembers it for `swap`, Redis WATCHes the key.
    pub async fn cas_current(&self, cas: &mut Cas) -> Result<Option<Vec<u8>>, KvError> {
        cas.backend.current().await
    }

    /// `swap`, with each backend's own semantics (see `sqlite.rs`, `redis.rs`).
    pub async fn cas_swap(&self, cas: &mut Cas, value: &[u8]) -> Result<(), SwapError> {
        if cas.backend.swap(value).await? { Ok(()) } else { Err(SwapError::CasFailed) }
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

/// What Spin 4.0 and later buffer in the host for one key-value answer (`spin_world::
/// MAX_HOST_BUFFERED_BYTES`, 128 MiB; 3.x has no limit).
pub const MAX_HOST_BUFFERED_BYTES: usize = 128 << 20;

/// `keys`, or Spin 4.0's error when the answer is larger than `limit`, counted as Spin counts
/// it (`crates/key-value-spin` and `key-value-redis`, `get_keys`): a `Vec` header plus, per key,
/// a `String` header and its bytes. About a million keys of 100 bytes pass.
fn within_result_limit(keys: Vec<String>, limit: usize) -> Result<Vec<String>, KvError> {
    let size = std::mem::size_of::<Vec<String>>()
        + keys.iter().map(|key| std::mem::size_of::<String>() + key.len()).sum::<usize>();
    if size > limit {
        return Err(KvError::Other(format!("query result exceeds limit of {limit} bytes")));
    }
    Ok(keys)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_listing_past_the_host_limit_is_spin_4s_error() {
        let keys = vec!["a".repeat(10), "b".repeat(10)];
        let exact = std::mem::size_of::<Vec<String>>() + 2 * (std::mem::size_of::<String>() + 10);
        assert_eq!(within_result_limit(keys.clone(), exact).expect("fits"), keys);
        let Err(KvError::Other(message)) = within_result_limit(keys, exact - 1) else { panic!("not refused") };
        assert_eq!(message, format!("query result exceeds limit of {} bytes", exact - 1));
    }
}
