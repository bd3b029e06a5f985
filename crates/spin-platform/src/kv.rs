use std::cell::OnceCell;

use platform::{KeyValueStore, StoreError};
use spin_sdk::key_value::{Error as SpinKvError, Store};
use spin_sdk::wit::wasi::keyvalue::{atomics, batch, store as wasi_store};

const STORE_LABEL: &str = "default";

/// The app's `default` key-value store (must be listed in the component's `key_value_stores`).
///
/// It implements no compare-and-swap: Spin 4.1's Redis store writes the value and then reports
/// a conflict, so the port has none (see `platform::kv`). `increment` (Redis `INCR`, a SQLite
/// transaction) is atomic on every Spin store. `delete_many` goes through
/// `wasi:keyvalue/batch` (one SQL statement, one Redis `DEL`); `get-many` is not used (Spin's
/// Redis store gets it wrong).
pub struct SpinStore {
    store: Store,
    /// Opened only when an increment happens, so read-only requests cost no extra call.
    bucket: OnceCell<wasi_store::Bucket>,
}

impl SpinStore {
    pub fn open_default() -> Result<Self, StoreError> {
        let store = Store::open(STORE_LABEL).map_err(map_spin_error)?;
        Ok(Self { store, bucket: OnceCell::new() })
    }

    fn bucket(&self) -> Result<&wasi_store::Bucket, StoreError> {
        if let Some(bucket) = self.bucket.get() {
            return Ok(bucket);
        }
        let bucket = wasi_store::open(STORE_LABEL).map_err(map_wasi_error)?;
        Ok(self.bucket.get_or_init(|| bucket))
    }
}

impl KeyValueStore for SpinStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.store.get(key).map_err(map_spin_error)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.store.set(key, value).map_err(map_spin_error)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.store.delete(key).map_err(map_spin_error)
    }

    fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.store.exists(key).map_err(map_spin_error)
    }

    fn delete_many(&self, keys: &[String]) -> Result<(), StoreError> {
        if keys.is_empty() {
            return Ok(());
        }
        batch::delete_many(self.bucket()?, keys).map_err(map_wasi_error)
    }

    fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), StoreError> {
        if pairs.is_empty() {
            return Ok(());
        }
        batch::set_many(self.bucket()?, pairs).map_err(map_wasi_error)
    }

    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        self.store.get_keys().map_err(map_spin_error)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        atomics::increment(self.bucket()?, key, delta).map_err(map_wasi_error)
    }
}

fn map_spin_error(error: SpinKvError) -> StoreError {
    match error {
        SpinKvError::NoSuchStore | SpinKvError::AccessDenied => StoreError::Unavailable(STORE_LABEL.to_owned()),
        other => StoreError::Backend(other.to_string()),
    }
}

fn map_wasi_error(error: wasi_store::Error) -> StoreError {
    match error {
        wasi_store::Error::NoSuchStore | wasi_store::Error::AccessDenied => {
            StoreError::Unavailable(STORE_LABEL.to_owned())
        }
        wasi_store::Error::Other(message) => StoreError::Backend(message),
    }
}
