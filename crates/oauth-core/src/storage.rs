//! Reading and writing records: JSON, version check, expiry on read, compare-and-swap.

use platform::{Clock, KeyValueStore, StoreError};

use crate::records::{RECORD_VERSION, Record};

/// A record as read, with the exact bytes a compare-and-swap must expect.
#[derive(Debug, Clone)]
pub(crate) struct Loaded<T> {
    pub record: T,
    pub raw: Vec<u8>,
}

/// What a read found.
pub(crate) enum Found<T> {
    Live(Loaded<T>),
    /// It was there but expired; it has been deleted.
    Expired,
    Absent,
}

impl<T> Found<T> {
    pub fn live(self) -> Option<Loaded<T>> {
        match self {
            Found::Live(loaded) => Some(loaded),
            _ => None,
        }
    }
}

/// Reads `key`. Expired records are deleted and reported as [`Found::Expired`]; unreadable
/// records or other versions count as absent.
pub(crate) fn read<T: Record>(store: &dyn KeyValueStore, clock: &dyn Clock, key: &str) -> Result<Found<T>, StoreError> {
    let Some(raw) = store.get(key)? else {
        return Ok(Found::Absent);
    };
    let Ok(record) = serde_json::from_slice::<T>(&raw) else {
        return Ok(Found::Absent);
    };
    if record.version() != RECORD_VERSION {
        return Ok(Found::Absent);
    }
    if clock.now_unix() >= record.expires_at() {
        store.delete(key)?;
        return Ok(Found::Expired);
    }
    Ok(Found::Live(Loaded { record, raw }))
}

/// Reads `key`, treating expired as absent.
pub(crate) fn load<T: Record>(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    key: &str,
) -> Result<Option<Loaded<T>>, StoreError> {
    Ok(read(store, clock, key)?.live())
}

pub(crate) fn encode<T: Record>(record: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(record).map_err(|e| StoreError::Backend(format!("cannot encode record: {e}")))
}

/// Writes `record` under `key` unconditionally (new keys; CAS never creates keys).
pub(crate) fn save<T: Record>(store: &dyn KeyValueStore, key: &str, record: &T) -> Result<(), StoreError> {
    store.set(key, &encode(record)?)
}

/// Replaces the record read as `loaded` with `new`, only if nobody changed it since.
pub(crate) fn swap<T: Record>(
    store: &dyn KeyValueStore,
    key: &str,
    loaded: &Loaded<T>,
    new: &T,
) -> Result<bool, StoreError> {
    store.compare_and_swap(key, &loaded.raw, &encode(new)?)
}
