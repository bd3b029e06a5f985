//! The app's `default` store as a `platform::KeyValueStore`, straight in its backend (the SQLite
//! file Spin and spin-local keep in the state dir, or a Redis): for tests that put the store
//! into states no request can reach in a test's time (records past their expiry), with the app's
//! own record and index code ([`age_record`]). Counters are kept as Spin's stores keep them
//! (SQLite: 8-byte little-endian; Redis: `INCRBY`'s decimal text). Not atomic with the running
//! app: use them while no request is in flight.

use std::path::PathBuf;
use std::sync::Mutex;

use platform::record::Helper;
use platform::{KeyValueStore, StoreError};
use rusqlite::{Connection, OptionalExtension, params};

/// Ages the record at `key` (with `helpers`, its claim or sequence counters) as if it had been
/// saved long enough ago to have expired ten minutes ago: its `expires_at` moves there, and it
/// is registered in the expiry index under that minute, as its save then would have done (the
/// sweep's cursor is moved back to it if it is past it). Its entry under its real expiry stays,
/// as a renewed record's does.
pub fn age_record(store: &dyn KeyValueStore, key: &str, helpers: &[Helper]) {
    wait_for_the_index(store);
    let raw = store.get(key).expect("read the store").unwrap_or_else(|| panic!("no record at {key}"));
    let mut record: serde_json::Value = serde_json::from_slice(&raw).expect("a JSON record");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let expired_at = now - 600;
    record["expires_at"] = serde_json::json!(expired_at);
    platform::housekeeping::index::register(store, key, expired_at, helpers).expect("register the aged record");
    platform::housekeeping::sweep::rewind(store, platform::housekeeping::index::bucket_of(expired_at))
        .expect("rewind the sweep");
    store.set(key, &serde_json::to_vec(&record).expect("JSON")).expect("write the store");
}

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

/// Waits until the expiry index is set up (its cursor written by the housekeeping after the
/// first request that stored something): an entry aged before that would be behind the cursor
/// the set-up writes.
fn wait_for_the_index(store: &dyn KeyValueStore) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while store.get("expiry:cursor").expect("read the store").is_none() {
        assert!(std::time::Instant::now() < deadline, "the expiry index was not set up");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A Redis the app keeps its store in.
pub struct RedisStore {
    connection: Mutex<redis::Connection>,
}

impl RedisStore {
    pub fn new(url: &str) -> Self {
        let connection = redis::Client::open(url).and_then(|client| client.get_connection()).expect("connect to Redis");
        Self { connection: Mutex::new(connection) }
    }

    fn run<T: redis::FromRedisValue>(&self, command: &redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        command.query(&mut *connection).map_err(|error| StoreError::Backend(error.to_string()))
    }

    /// Every key (`KEYS *`).
    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.run(redis::cmd("KEYS").arg("*")).expect("list Redis keys");
        keys.sort();
        keys
    }
}

impl KeyValueStore for RedisStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.run(redis::cmd("GET").arg(key))
    }

    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.run(redis::cmd("SET").arg(key).arg(value))
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.run::<i64>(redis::cmd("DEL").arg(key)).map(drop)
    }

    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.run(redis::cmd("INCRBY").arg(key).arg(delta))
    }
}
