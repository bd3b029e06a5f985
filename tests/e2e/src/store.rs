//! The app's `default` store as a `platform::KeyValueStore`, straight in the SQLite file Spin and
//! spin-local keep in the state dir: for tests that put the store into states no request can
//! reach in a test's time (records past their expiry), with the app's own record and index code.
//! Counters are kept as Spin's SQLite store keeps them (8-byte little-endian). Not atomic with
//! the running app: use it while no request is in flight.

use std::path::PathBuf;

use platform::{KeyValueStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

pub struct SqliteFile {
    path: PathBuf,
}

impl SqliteFile {
    pub fn new(path: PathBuf) -> Self {
        Self { path }
    }

    fn connection(&self) -> Result<Connection, StoreError> {
        Connection::open(&self.path).map_err(backend)
    }
}

fn backend(error: rusqlite::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

impl KeyValueStore for SqliteFile {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let query = "SELECT value FROM spin_key_value WHERE store = 'default' AND key = ?1";
        self.connection()?.query_row(query, [key], |row| row.get(0)).optional().map_err(backend)
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        let upsert = "INSERT INTO spin_key_value (store, key, value) VALUES ('default', ?1, ?2)
                      ON CONFLICT (store, key) DO UPDATE SET value = excluded.value";
        self.connection()?.execute(upsert, params![key, value]).map(drop).map_err(backend)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let delete = "DELETE FROM spin_key_value WHERE store = 'default' AND key = ?1";
        self.connection()?.execute(delete, [key]).map(drop).map_err(backend)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        let current = match self.get(key)? {
            None => 0,
            Some(bytes) => i64::from_le_bytes(
                bytes.try_into().map_err(|_| StoreError::Backend(format!("`{key}` is not a counter")))?,
            ),
        };
        let new = current + delta;
        self.set(key, &new.to_le_bytes())?;
        Ok(new)
    }
}
