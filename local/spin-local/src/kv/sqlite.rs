//! Spin's `spin` store: SQLite, one table shared by every label of the file (Spin's schema, so a
//! `.spin/sqlite_key_value.db` written by `spin up` reads the same here). Spin's in-memory store is
//! the same code on an in-memory database, and so is ours.
//!
//! Semantics copied from Spin's `key-value-spin` crate, quirks included:
//! - CAS: `current` remembers the value; `swap` then UPDATEs only where the value is still that,
//!   so a conflicting swap fails. When `current` saw no value (or was never called), `swap` is an
//!   unconditional upsert that always succeeds: create-if-absent is NOT atomic on Spin.
//! - `increment`: one transaction; the counter is an 8-byte little-endian i64 (wrapping on
//!   overflow, as Spin's release build does). On any other value Spin's host panics while holding
//!   the store's lock, which poisons it: that request fails, and so does every later key-value
//!   call on the store until Spin restarts. spin-local traps the same way ([`KvError::Trap`]).
//! - `get-many` returns only the keys that exist.
//!
//! Calls are short and run under a std mutex without awaiting, like Spin's single connection.

use super::{Backend, CasBackend, KeyValues, KvError, Op};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

#[derive(Clone)]
pub struct SqliteStore {
    db: Arc<Mutex<Connection>>,
    label: String,
    /// Set once an operation hit one of Spin's panics (Spin's lock is then poisoned).
    poisoned: Arc<AtomicBool>,
}

/// An open database, shared by the labels stored in it.
#[derive(Clone)]
pub struct SqliteDb(Arc<Mutex<Connection>>);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS spin_key_value (
                          store TEXT NOT NULL,
                          key   TEXT NOT NULL,
                          value BLOB NOT NULL,
                          PRIMARY KEY (store, key)
                      );";

const UPSERT: &str = "INSERT INTO spin_key_value (store, key, value) VALUES (?1, ?2, ?3)
                      ON CONFLICT (store, key) DO UPDATE SET value = excluded.value";

impl SqliteDb {
    pub fn open(path: &Path) -> Result<Self, KvError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(KvError::from_display)?;
        }
        // Opened as Spin's `key-value-spin` opens it (`Connection::open`, nothing set): SQLite's
        // defaults, a rollback journal and a sync to disk at every commit, and rusqlite's 5 s busy
        // timeout. (spin-local once set WAL without a sync per commit: every write then cost a
        // twentieth of what it costs on Spin, and the OAuth flow looked 9x faster than on Spin.)
        // A file an operator switched to WAL stays WAL, on Spin as here: that is SQLite's, not ours.
        let conn = Connection::open(path).map_err(KvError::from_display)?;
        Self::with_schema(conn)
    }

    /// Spin's in-memory store (`type = "spin"` without `path`, or `--state-dir ""`).
    pub fn open_in_memory() -> Result<Self, KvError> {
        Self::with_schema(Connection::open_in_memory().map_err(KvError::from_display)?)
    }

    fn with_schema(conn: Connection) -> Result<Self, KvError> {
        conn.execute_batch(SCHEMA).map_err(KvError::from_display)?;
        Ok(Self(Arc::new(Mutex::new(conn))))
    }

    pub fn store(&self, label: &str) -> SqliteStore {
        SqliteStore { db: self.0.clone(), label: label.to_string(), poisoned: Arc::default() }
    }
}

impl SqliteStore {
    fn conn(&self) -> Result<MutexGuard<'_, Connection>, KvError> {
        if self.poisoned.load(Ordering::Relaxed) {
            return Err(KvError::Trap(format!(
                "key-value store `{}` is unusable after an earlier panic in Spin's SQLite store (its lock \
                 is poisoned until Spin restarts; spin-local emulates that)",
                self.label
            )));
        }
        // Our own lock is never poisoned in a way that matters: SQLite keeps itself consistent.
        Ok(self.db.lock().unwrap_or_else(|p| p.into_inner()))
    }

    pub fn get(&self, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        get_with(&*self.conn()?, &self.label, key)
    }

    pub fn set(&self, key: &str, value: &[u8]) -> Result<(), KvError> {
        upsert(&*self.conn()?, &self.label, key, value)
    }

    pub fn delete(&self, key: &str) -> Result<(), KvError> {
        self.conn()?
            .prepare_cached("DELETE FROM spin_key_value WHERE store = ?1 AND key = ?2")
            .and_then(|mut st| st.execute(params![self.label, key]))
            .map(drop)
            .map_err(KvError::from_display)
    }

    pub fn exists(&self, key: &str) -> Result<bool, KvError> {
        Ok(self.get(key)?.is_some())
    }

    pub fn get_keys(&self) -> Result<Vec<String>, KvError> {
        let conn = self.conn()?;
        let mut st =
            conn.prepare_cached("SELECT key FROM spin_key_value WHERE store = ?1").map_err(KvError::from_display)?;
        let rows = st.query_map(params![self.label], |r| r.get::<_, String>(0)).map_err(KvError::from_display)?;
        rows.collect::<Result<_, _>>().map_err(KvError::from_display)
    }

    /// Only the keys that exist, each with its value (Spin's `key IN rarray(...)` query).
    pub fn get_many(&self, keys: &[String]) -> Result<KeyValues, KvError> {
        let conn = self.conn()?;
        let placeholders = vec!["?"; keys.len()].join(", ");
        let sql = format!("SELECT key, value FROM spin_key_value WHERE store = ? AND key IN ({placeholders})");
        let mut st = conn.prepare(&sql).map_err(KvError::from_display)?;
        let args = std::iter::once(&self.label).chain(keys);
        let rows = st
            .query_map(params_from_iter(args), |r| Ok((r.get::<_, String>(0)?, Some(r.get::<_, Vec<u8>>(1)?))))
            .map_err(KvError::from_display)?;
        rows.collect::<Result<_, _>>().map_err(KvError::from_display)
    }

    /// All pairs in one transaction.
    pub fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), KvError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(KvError::from_display)?;
        for (key, value) in pairs {
            upsert(&tx, &self.label, key, value)?;
        }
        tx.commit().map_err(KvError::from_display)
    }

    pub fn delete_many(&self, keys: &[String]) -> Result<(), KvError> {
        let conn = self.conn()?;
        let placeholders = vec!["?"; keys.len()].join(", ");
        let sql = format!("DELETE FROM spin_key_value WHERE store = ? AND key IN ({placeholders})");
        conn.execute(&sql, params_from_iter(std::iter::once(&self.label).chain(keys)))
            .map(drop)
            .map_err(KvError::from_display)
    }

    /// Read-modify-write in one transaction, on Spin's 8-byte little-endian counter.
    pub fn increment(&self, key: &str, delta: i64) -> Result<i64, KvError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(KvError::from_display)?;
        let current = match get_with(&tx, &self.label, key)? {
            None => 0,
            Some(bytes) => match <[u8; 8]>::try_from(bytes.as_slice()) {
                Ok(counter) => i64::from_le_bytes(counter),
                Err(_) => return Err(self.poison(key, bytes.len())),
            },
        };
        let new = current.wrapping_add(delta);
        upsert(&tx, &self.label, key, &new.to_le_bytes())?;
        tx.commit().map_err(KvError::from_display)?;
        Ok(new)
    }

    /// Spin's `increment` panics (`expect("incorrect length")`) inside its locked transaction.
    fn poison(&self, key: &str, len: usize) -> KvError {
        self.poisoned.store(true, Ordering::Relaxed);
        KvError::Trap(format!(
            "increment of key `{key}` in store `{}`, whose value ({len} bytes) is not an 8-byte little-endian \
             counter: Spin's SQLite store panics here and stays unusable until Spin restarts (spin-local \
             emulates that)",
            self.label
        ))
    }

    /// Spin's CAS `swap`: conditional UPDATE when `current` saw a value, else an upsert.
    /// `Ok(false)` when no row changed (the value moved on since `current`).
    pub fn swap(&self, key: &str, seen: Option<&[u8]>, value: &[u8]) -> Result<bool, KvError> {
        let conn = self.conn()?;
        let changed = match seen {
            Some(old) => conn
                .prepare_cached("UPDATE spin_key_value SET value = ?3 WHERE store = ?1 AND key = ?2 AND value = ?4")
                .and_then(|mut st| st.execute(params![self.label, key, value, old]))
                .map_err(KvError::from_display)?,
            None => {
                upsert(&conn, &self.label, key, value)?;
                1
            }
        };
        Ok(changed == 1)
    }
}

fn get_with(conn: &Connection, label: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
    conn.prepare_cached("SELECT value FROM spin_key_value WHERE store = ?1 AND key = ?2")
        .and_then(|mut st| st.query_row(params![label, key], |r| r.get(0)).optional())
        .map_err(KvError::from_display)
}

fn upsert(conn: &Connection, label: &str, key: &str, value: &[u8]) -> Result<(), KvError> {
    conn.prepare_cached(UPSERT)
        .and_then(|mut st| st.execute(params![label, key, value]))
        .map(drop)
        .map_err(KvError::from_display)
}

/// The store as a [`Backend`]: each operation runs at once, under the database's lock.
impl Backend for SqliteStore {
    fn get<'a>(&'a self, key: &'a str) -> Op<'a, Option<Vec<u8>>> {
        done(SqliteStore::get(self, key))
    }
    fn set<'a>(&'a self, key: &'a str, value: &'a [u8]) -> Op<'a, ()> {
        done(SqliteStore::set(self, key, value))
    }
    fn delete<'a>(&'a self, key: &'a str) -> Op<'a, ()> {
        done(SqliteStore::delete(self, key))
    }
    fn exists<'a>(&'a self, key: &'a str) -> Op<'a, bool> {
        done(SqliteStore::exists(self, key))
    }
    fn get_keys(&self) -> Op<'_, Vec<String>> {
        done(SqliteStore::get_keys(self))
    }
    fn get_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, KeyValues> {
        done(SqliteStore::get_many(self, keys))
    }
    fn set_many<'a>(&'a self, pairs: &'a [(String, Vec<u8>)]) -> Op<'a, ()> {
        done(SqliteStore::set_many(self, pairs))
    }
    fn delete_many<'a>(&'a self, keys: &'a [String]) -> Op<'a, ()> {
        done(SqliteStore::delete_many(self, keys))
    }
    fn increment<'a>(&'a self, key: &'a str, delta: i64) -> Op<'a, i64> {
        done(SqliteStore::increment(self, key, delta))
    }
    fn new_cas<'a>(&'a self, key: &'a str) -> Op<'a, Box<dyn CasBackend>> {
        done(Ok(Box::new(SqliteCas { store: self.clone(), key: key.to_owned(), seen: None })))
    }
}

/// Spin's SQLite compare-and-swap: `current` remembers what it read; `swap` writes only if the
/// value is still that (from an absent value, or without `current`, it upserts: see [`SqliteStore::swap`]).
struct SqliteCas {
    store: SqliteStore,
    key: String,
    seen: Option<Vec<u8>>,
}

impl CasBackend for SqliteCas {
    fn current(&mut self) -> Op<'_, Option<Vec<u8>>> {
        let value = self.store.get(&self.key);
        if let Ok(value) = &value {
            self.seen.clone_from(value);
        }
        done(value)
    }
    fn swap<'a>(&'a mut self, value: &'a [u8]) -> Op<'a, bool> {
        done(self.store.swap(&self.key, self.seen.as_deref(), value))
    }
}

/// A result that is already there, as an [`Op`].
fn done<'a, T: Send + 'a>(result: Result<T, KvError>) -> Op<'a, T> {
    Box::pin(std::future::ready(result))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> SqliteStore {
        SqliteDb::open_in_memory().expect("in-memory db").store("default")
    }

    #[test]
    fn counters_are_eight_byte_little_endian_and_wrap_like_spin() {
        let s = store();
        assert_eq!(s.increment("n", 5).expect("increment"), 5);
        assert_eq!(s.get("n").expect("get"), Some(5i64.to_le_bytes().to_vec()));
        s.set("max", &i64::MAX.to_le_bytes()).expect("set");
        assert_eq!(s.increment("max", 1).expect("increment"), i64::MIN);
    }

    #[test]
    fn increment_of_a_non_counter_traps_and_poisons_the_store_like_spin() {
        let s = store();
        s.set("json", b"{}").expect("set");
        assert!(matches!(s.increment("json", 1), Err(KvError::Trap(_))));
        assert!(matches!(s.get("other"), Err(KvError::Trap(_))));
        assert!(matches!(s.clone().set("other", b"x"), Err(KvError::Trap(_))));
    }

    #[test]
    fn swap_without_a_seen_value_upserts_even_over_a_newer_value() {
        let s = store();
        assert!(s.swap("k", None, b"first").expect("swap"));
        assert!(s.swap("k", None, b"second").expect("swap"), "Spin's create-if-absent is not atomic");
        assert_eq!(s.get("k").expect("get"), Some(b"second".to_vec()));
        assert!(!s.swap("k", Some(b"first"), b"third").expect("swap"));
        assert!(s.swap("k", Some(b"second"), b"third").expect("swap"));
    }

    #[test]
    fn get_many_returns_only_existing_keys() {
        let s = store();
        s.set_many(&[("a".into(), b"1".to_vec()), ("b".into(), b"2".to_vec())]).expect("set_many");
        let mut got = s.get_many(&["a".into(), "missing".into(), "b".into()]).expect("get_many");
        got.sort();
        assert_eq!(got, vec![("a".into(), Some(b"1".to_vec())), ("b".into(), Some(b"2".to_vec()))]);
        s.delete_many(&["a".into(), "b".into()]).expect("delete_many");
        assert!(s.get_keys().expect("keys").is_empty());
    }
}
