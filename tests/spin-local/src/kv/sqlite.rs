//! Spin's default store: SQLite, one table shared by every label of the file (Spin's schema, so
//! a `.spin/sqlite_key_value.db` written by `spin up` reads the same here).
//!
//! Calls are short and run under a std mutex without awaiting, like Spin's single connection.
//! CAS compares the remembered value in one statement, so it is atomic, and a create-if-absent
//! CAS inserts only if the key is still absent (Spin's own store upserts there).

use super::{KvError, add_to_le_counter};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Mutex<Connection>>,
    label: String,
}

/// An open database file, shared by the labels stored in it.
#[derive(Clone)]
pub struct SqliteDb(Arc<Mutex<Connection>>);

impl SqliteDb {
    pub fn open(path: &Path) -> Result<Self, KvError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(KvError::from_display)?;
        }
        let conn = Connection::open(path).map_err(KvError::from_display)?;
        // WAL without fsync per commit: writes survive a process crash (not a power cut), which
        // is what a local development store needs, and they are much faster.
        conn.execute_batch(
            "PRAGMA journal_mode = WAL;
             PRAGMA synchronous = NORMAL;
             PRAGMA busy_timeout = 5000;
             CREATE TABLE IF NOT EXISTS spin_key_value (
                 store TEXT NOT NULL,
                 key   TEXT NOT NULL,
                 value BLOB NOT NULL,
                 PRIMARY KEY (store, key)
             );",
        )
        .map_err(KvError::from_display)?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    pub fn store(&self, label: &str) -> SqliteStore {
        SqliteStore { db: self.0.clone(), label: label.to_string() }
    }
}

impl SqliteStore {
    fn conn(&self) -> MutexGuard<'_, Connection> {
        // SQLite keeps itself consistent; a panic elsewhere while holding the lock does not
        // corrupt the connection.
        self.db.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        get_with(&self.conn(), &self.label, key)
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        self.conn()
            .prepare_cached(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            )
            .and_then(|mut st| st.execute(params![self.label, key, value]))
            .map(|_| ())
            .map_err(KvError::from_display)
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        self.conn()
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
            .and_then(|mut st| st.execute(params![self.label, key]))
            .map(|_| ())
            .map_err(KvError::from_display)
    }

    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.get(key)?.is_some())
    }

    pub fn get_keys(&self) -> Result<Vec<String>, KvError> {
        let conn = self.conn();
        let mut st =
            conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1").map_err(KvError::from_display)?;
        let rows = st.query_map(params![self.label], |r| r.get::<_, String>(0)).map_err(KvError::from_display)?;
        rows.collect::<Result<_, _>>().map_err(KvError::from_display)
    }

    /// Read-modify-write in one transaction; the counter is an 8-byte LE i64 like Spin's.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut conn = self.conn();
        let tx = conn.transaction().map_err(KvError::from_display)?;
        let old = get_with(&tx, &self.label, key)?;
        let new = add_to_le_counter(old.as_deref(), delta)?;
        tx.execute(
            "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
             ON CONFLICT (store, key) DO UPDATE SET value = excluded.value",
            params![self.label, key, new.to_le_bytes().to_vec()],
        )
        .map_err(KvError::from_display)?;
        tx.commit().map_err(KvError::from_display)?;
        Ok(new)
    }

    /// One conditional statement: UPDATE only where the value is still `expected`, or INSERT
    /// only if still absent. `Ok(false)` when no row changed (someone else won).
    pub fn swap(&self, key: &str, expected: Option<&[u8]>, value: &[u8]) -> Result<bool, KvError> {
        let conn = self.conn();
        let changed = match expected {
            Some(old) => conn.execute(
                "UPDATE spin_key_value SET value = ?3 WHERE store = ?1 AND key = ?2 AND value = ?4",
                params![self.label, key, value, old],
            ),
            None => conn.execute(
                "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                 ON CONFLICT (store, key) DO NOTHING",
                params![self.label, key, value],
            ),
        }
        .map_err(KvError::from_display)?;
        Ok(changed == 1)
    }
}

fn get_with(conn: &Connection, label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")
        .and_then(|mut st| st.query_row(params![label, key], |r| r.get(0)).optional())
        .map_err(KvError::from_display)
}
