//! Stored records: the one format and the one set of operations every namespace uses.
//!
//! **Format.** A record is a JSON object with at least `v` (the format version, [`VERSION`]) and
//! `expires_at` (Unix seconds). Every record this app has ever written has both at the top
//! level, so the sweep can judge any record, of any namespace and any release, from that header
//! alone ([`header`]). A record with another `v` is treated as absent (a newer deployment's data
//! is never misread) and left alone.
//!
//! **Operations.**
//! - [`read`] / [`load`]: an expired record is deleted when met, with its helper keys, and is absent.
//! - [`save`]: a plain write, which also registers the key in the expiry index
//!   ([`crate::housekeeping`]) under the minute it expires in, so the sweep finds it there once it
//!   has expired. Used to create a record under a fresh key, and to update one by the single
//!   writer that owns it at that moment (the caller that won its claim).
//! - [`rewrite`]: writes back a record read live, keeping its expiry, without a new index entry.
//! - [`claim`]: single use without compare-and-swap. The record's claim counter
//!   (`<record key>#claim`) is incremented; the caller that gets 1 wins, every later one learns
//!   it lost and how many tried. A record that must recognise a replay after its use is kept as
//!   a tombstone (a flag in the record, written by the winner) until it expires.
//! - [`discard`]: deletes a record before it expires (revocation); its helpers stay until the
//!   sweep reaches the record's entry, so a claim already in flight still counts.
//!
//! **Helper keys** (`<record key>#<helper>`, see [`Helper`]) are counters that belong to a
//! record. They are never read with `get` (see [`KeyValueStore::increment`]). They are deleted
//! only once their record has expired (with it) or is gone (by the sweep), never while a caller
//! that read the record live may still claim it; and a claim made after the record's expiry
//! does not count ([`Claim::Expired`]), so a counter deleted with an expired record cannot hand
//! out a second win.
//!
//! **Expiring counters** (`<name>#until=<unix seconds>`, [`expiring_counter_key`]) are counters
//! that belong to no record and live until a time fixed when they are made (a rate-limit
//! window, an SSE stream-presence window). A counter cannot carry a JSON header, so its expiry
//! is written into its key, where the sweep reads it without touching the value; the caller
//! whose [`add_to_counter`] creates one registers it in the expiry index.

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use crate::counter_keys::{Helper, counter_expiry, expiring_counter_key, helper_owner};
use crate::housekeeping::index;
use crate::{Clock, KeyValueStore, StoreError};

/// The record format version every record carries as `v`.
pub const VERSION: u32 = 1;

/// What a stored record offers this module. Implement it with [`impl_record!`](crate::impl_record).
pub trait Record: Serialize + DeserializeOwned {
    /// What the record is, for error messages ("grant", "SSE message").
    const WHAT: &'static str;
    /// The helper keys this kind of record may have, deleted with it.
    const HELPERS: &'static [Helper] = &[];
    fn version(&self) -> u32;
    fn expires_at(&self) -> u64;
}

/// Implements [`Record`] for a struct with `v: u32` and `expires_at: u64` fields.
///
/// `impl_record!(GrantRecord, "grant")`, or with helpers:
/// `impl_record!(CodeRecord, "authorization code", [Helper::Claim])`.
#[macro_export]
macro_rules! impl_record {
    ($t:ty, $what:expr) => {
        $crate::impl_record!($t, $what, []);
    };
    ($t:ty, $what:expr, [$($helper:expr),*]) => {
        impl $crate::record::Record for $t {
            const WHAT: &'static str = $what;
            const HELPERS: &'static [$crate::record::Helper] = &[$($helper),*];
            fn version(&self) -> u32 {
                self.v
            }
            fn expires_at(&self) -> u64 {
                self.expires_at
            }
        }
    };
}

/// Adds `delta` to the expiring counter at `key` (named by [`expiring_counter_key`]) and returns
/// its new value. The caller that creates it (a positive `delta` that comes back as the value)
/// registers it in the expiry index, so it is swept once its time is up. A key without an
/// expiry is a bug of the caller: [`RecordError::InvalidKey`].
pub fn add_to_counter(store: &dyn KeyValueStore, key: &str, delta: i64) -> Result<i64, RecordError> {
    let expires_at = counter_expiry(key).ok_or(RecordError::InvalidKey { what: "expiring counter" })?;
    let value = store.increment(key, delta)?;
    if delta > 0 && value == delta {
        index::register(store, key, expires_at, &[])?;
    }
    Ok(value)
}

/// Why a record operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The record could not be turned into JSON: a bug, not a passing failure.
    #[error("cannot encode the {what} record: {reason}")]
    Encode { what: &'static str, reason: String },
    /// An identifier that should name a key cannot (it is malformed): a bug or corrupted data.
    #[error("cannot name the key of the {what} record: the identifier is malformed")]
    InvalidKey { what: &'static str },
    /// The store failed: retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl RecordError {
    /// True for failures of the store (worth a retry, a 503), false for our own bugs (a 500).
    pub fn is_temporary(&self) -> bool {
        matches!(self, RecordError::Store(_))
    }
}

/// What a read found.
#[derive(Debug)]
pub enum Found<T> {
    Live(T),
    /// It was there but expired; it and its helpers have been deleted.
    Expired,
    /// Never there, or unreadable, or of another format version.
    Absent,
}

impl<T> Found<T> {
    pub fn live(self) -> Option<T> {
        match self {
            Found::Live(record) => Some(record),
            _ => None,
        }
    }
}

/// Reads the record at `key`; an expired one is deleted (with its helpers) and reported as such.
pub fn read<T: Record>(store: &dyn KeyValueStore, clock: &dyn Clock, key: &str) -> Result<Found<T>, RecordError> {
    let Some(raw) = store.get(key)? else {
        return Ok(Found::Absent);
    };
    let Ok(record) = serde_json::from_slice::<T>(&raw) else {
        return Ok(Found::Absent);
    };
    if record.version() != VERSION {
        return Ok(Found::Absent);
    }
    if clock.now_unix() >= record.expires_at() {
        remove::<T>(store, key)?;
        return Ok(Found::Expired);
    }
    Ok(Found::Live(record))
}

/// [`read`], with expired counted as absent.
pub fn load<T: Record>(store: &dyn KeyValueStore, clock: &dyn Clock, key: &str) -> Result<Option<T>, RecordError> {
    Ok(read(store, clock, key)?.live())
}

/// The record as stored.
pub fn encode<T: Record>(record: &T) -> Result<Vec<u8>, RecordError> {
    serde_json::to_vec(record).map_err(|e| RecordError::Encode { what: T::WHAT, reason: e.to_string() })
}

/// Writes `record` at `key`, whatever was there. Only for a fresh key or by the record's single
/// writer of the moment (see the module documentation).
///
/// Two writes: the expiry index hands out the entry's number (an `increment`), then the entry
/// and the record are written in one batch, so a failure leaves no record nobody will sweep.
pub fn save<T: Record>(store: &dyn KeyValueStore, key: &str, record: &T) -> Result<(), RecordError> {
    let value = encode(record)?;
    index::register_and_write(store, key, record.expires_at(), T::HELPERS, value)?;
    Ok(())
}

/// Writes `record` back at `key`, where the caller read it live with an expiry of
/// `read_expires_at` (a tombstone, a mark of use), as its single writer of the moment. The
/// index entry of its earlier save still stands for an expiry in the same minute, so this costs
/// one write; a record whose expiry moved is registered again, as [`save`] does.
pub fn rewrite<T: Record>(
    store: &dyn KeyValueStore,
    key: &str,
    read_expires_at: u64,
    record: &T,
) -> Result<(), RecordError> {
    if index::bucket_of(record.expires_at()) != index::bucket_of(read_expires_at) {
        return save(store, key, record);
    }
    store.set(key, &encode(record)?)?;
    Ok(())
}

/// Deletes an expired record at `key` and its helper keys.
fn remove<T: Record>(store: &dyn KeyValueStore, key: &str) -> Result<(), RecordError> {
    store.delete(key)?;
    for helper in T::HELPERS {
        store.delete(&helper.key(key))?;
    }
    Ok(())
}

/// Deletes the record at `key` before it expires. Its helper keys are left for the sweep (see
/// the module documentation): deleting a claim counter now could let a caller that read the
/// record a moment ago win it a second time.
pub fn discard(store: &dyn KeyValueStore, key: &str) -> Result<(), RecordError> {
    Ok(store.delete(key)?)
}

/// The outcome of a [`claim`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// This caller is the first: the record is its to use.
    Won,
    /// Someone claimed it before; `attempts` callers have tried so far, this one included.
    Lost { attempts: i64 },
    /// The record expired before the claim landed: nobody may use it any more.
    Expired,
}

/// Claims `record`, read live at `record_key`, for single use: the first caller wins, on every
/// store (an atomic increment of `<record key>#claim`; no compare-and-swap). Call it only after
/// checking everything that should not use the record up.
pub fn claim<T: Record>(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    record_key: &str,
    record: &T,
) -> Result<Claim, RecordError> {
    let attempts = store.increment(&Helper::Claim.key(record_key), 1)?;
    if clock.now_unix() >= record.expires_at() {
        return Ok(Claim::Expired);
    }
    Ok(if attempts == 1 { Claim::Won } else { Claim::Lost { attempts } })
}

/// The next number of the sequence that belongs to `record_key` (1, 2, ...), unique across
/// concurrent callers.
pub fn next_number(store: &dyn KeyValueStore, record_key: &str) -> Result<i64, RecordError> {
    Ok(store.increment(&Helper::Sequence.key(record_key), 1)?)
}

/// The last number [`next_number`] handed out for `record_key` (0 if none).
pub fn last_number(store: &dyn KeyValueStore, record_key: &str) -> Result<i64, RecordError> {
    Ok(store.increment(&Helper::Sequence.key(record_key), 0)?)
}

/// Just the header every record has.
#[derive(serde::Deserialize)]
struct Header {
    v: u32,
    expires_at: u64,
}

/// When the record stored as `raw` expires, if it is a record of this format version.
pub fn header(raw: &[u8]) -> Option<u64> {
    serde_json::from_slice::<Header>(raw).ok().filter(|header| header.v == VERSION).map(|header| header.expires_at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::faulty::{Fails, Faulty};
    use crate::{ManualClock, MemoryStore};
    use serde::Deserialize;
    use std::sync::Arc;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        v: u32,
        expires_at: u64,
        text: String,
    }
    crate::impl_record!(Note, "note", [Helper::Claim]);

    fn note(expires_at: u64) -> Note {
        Note { v: VERSION, expires_at, text: "hello".into() }
    }

    #[test]
    fn a_saved_record_reads_back_until_it_expires_then_it_and_its_helpers_are_gone() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(100));
        save(&store, "n:1", &note(110)).unwrap();
        assert_eq!(claim(&store, &clock, "n:1", &note(110)).unwrap(), Claim::Won);
        assert_eq!(load::<Note>(&store, &clock, "n:1").unwrap(), Some(note(110)));
        clock.advance(10);
        assert!(matches!(read::<Note>(&store, &clock, "n:1").unwrap(), Found::Expired));
        assert!(store.record_keys().is_empty(), "record and claim counter deleted: {:?}", store.keys());
        assert!(matches!(read::<Note>(&store, &clock, "n:1").unwrap(), Found::Absent));
    }

    #[test]
    fn another_version_or_garbage_is_absent_and_left_alone() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(100));
        store.set("n:2", br#"{"v":2,"expires_at":1,"text":"future"}"#).unwrap();
        store.set("n:3", b"not json").unwrap();
        assert!(matches!(read::<Note>(&store, &clock, "n:2").unwrap(), Found::Absent));
        assert!(matches!(read::<Note>(&store, &clock, "n:3").unwrap(), Found::Absent));
        assert_eq!(store.keys().len(), 2);
    }

    #[test]
    fn of_32_concurrent_claims_exactly_one_wins_and_the_others_count() {
        let store = Arc::new(MemoryStore::new());
        save(&*store, "n:1", &note(110)).unwrap();
        let threads: Vec<_> = (0..32)
            .map(|_| {
                let store = store.clone();
                std::thread::spawn(move || claim(&*store, &ManualClock::at(100), "n:1", &note(110)).unwrap())
            })
            .collect();
        let outcomes: Vec<Claim> = threads.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(outcomes.iter().filter(|c| **c == Claim::Won).count(), 1);
        let mut attempts: Vec<i64> = outcomes
            .iter()
            .filter_map(|c| if let Claim::Lost { attempts } = c { Some(*attempts) } else { None })
            .collect();
        attempts.sort();
        assert_eq!(attempts, (2..=32).collect::<Vec<_>>());
    }

    #[test]
    fn a_claim_that_lands_after_the_expiry_does_not_win_and_discard_keeps_the_counter() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(100));
        let record = note(110);
        save(&store, "n:1", &record).unwrap();
        clock.advance(10);
        assert_eq!(claim(&store, &clock, "n:1", &record).unwrap(), Claim::Expired);
        save(&store, "n:2", &record).unwrap();
        assert_eq!(claim(&store, &ManualClock::at(100), "n:2", &record).unwrap(), Claim::Won);
        discard(&store, "n:2").unwrap();
        assert_eq!(claim(&store, &ManualClock::at(100), "n:2", &record).unwrap(), Claim::Lost { attempts: 2 });
    }

    #[test]
    fn numbers_are_unique_and_the_last_one_reads_without_advancing() {
        let store = MemoryStore::new();
        assert_eq!(last_number(&store, "s").unwrap(), 0);
        assert_eq!((next_number(&store, "s").unwrap(), next_number(&store, "s").unwrap()), (1, 2));
        assert_eq!(last_number(&store, "s").unwrap(), 2);
        assert!(store.exists("s#seq").unwrap());
    }

    #[test]
    fn helper_keys_name_their_record() {
        assert_eq!(Helper::Claim.key("oauth:code:ab"), "oauth:code:ab#claim");
        assert_eq!(helper_owner("oauth:code:ab#claim"), Some("oauth:code:ab"));
        assert_eq!(helper_owner("mcp:sse:session:ab#seq"), Some("mcp:sse:session:ab"));
        assert_eq!(helper_owner("oauth:code:ab"), None);
        assert_eq!(helper_owner("odd#other"), None);
    }

    #[test]
    fn a_save_registers_the_key_under_the_minute_it_expires_in_with_its_helpers() {
        let store = MemoryStore::new();
        save(&store, "n:1", &note(6_030)).unwrap();
        save(&store, "n:1", &note(6_030)).unwrap(); // rewritten (a tombstone): registered again
        assert_eq!(store.increment(&index::count_key(100), 0).unwrap(), 2);
        let entry = index::Entry::decode(&store.get(&index::slot_key(100, 1)).unwrap().unwrap()).unwrap();
        assert_eq!(entry, index::Entry { key: "n:1".into(), helpers: vec![Helper::Claim] });
    }

    /// The calls a store received, by name (the writes of a save, in order); with
    /// `refuse_batches`, every `set_many` fails and writes nothing (a transaction that fails).
    #[derive(Default)]
    struct Calls {
        inner: MemoryStore,
        seen: std::sync::Mutex<Vec<String>>,
        refuse_batches: bool,
    }

    impl Calls {
        fn note(&self, call: String) {
            self.seen.lock().unwrap_or_else(|p| p.into_inner()).push(call);
        }
    }

    impl KeyValueStore for Calls {
        fn get(&self, key: &str) -> Result<Option<Vec<u8>>, crate::StoreError> {
            self.inner.get(key)
        }
        fn set(&self, key: &str, value: &[u8]) -> Result<(), crate::StoreError> {
            self.note(format!("set {key}"));
            self.inner.set(key, value)
        }
        fn set_many(&self, pairs: &[(String, Vec<u8>)]) -> Result<(), crate::StoreError> {
            let keys: Vec<&str> = pairs.iter().map(|(key, _)| key.as_str()).collect();
            self.note(format!("set_many {}", keys.join(" ")));
            if self.refuse_batches {
                return Err(crate::StoreError::Backend("the batch failed".into()));
            }
            self.inner.set_many(pairs)
        }
        fn delete(&self, key: &str) -> Result<(), crate::StoreError> {
            self.inner.delete(key)
        }
        fn increment(&self, key: &str, delta: i64) -> Result<i64, crate::StoreError> {
            self.note(format!("increment {key}"));
            self.inner.increment(key, delta)
        }
    }

    #[test]
    fn a_save_is_one_increment_and_one_batch_holding_the_index_entry_and_the_record() {
        let store = Calls::default();
        save(&store, "n:1", &note(6_030)).unwrap(); // the bucket's first entry marks its hour and day
        store.seen.lock().unwrap().clear();
        save(&store, "n:2", &note(6_031)).unwrap();
        let seen = store.seen.lock().unwrap().clone();
        assert_eq!(seen, ["increment expiry:bucket:100".to_owned(), "set_many expiry:slot:100:2 n:2".to_owned()]);
        assert_eq!(store.inner.get("n:2").unwrap(), Some(encode(&note(6_031)).unwrap()));
    }

    #[test]
    fn a_save_whose_batch_fails_is_an_error_and_writes_neither_the_record_nor_its_entry() {
        let store = Calls { refuse_batches: true, ..Calls::default() };
        assert!(save(&store, "n:1", &note(6_030)).is_err());
        assert_eq!(store.inner.get("n:1").unwrap(), None, "no record");
        assert_eq!(store.inner.get(&index::slot_key(100, 1)).unwrap(), None, "no index entry");
        let left: Vec<String> = store.inner.keys().into_iter().filter(|key| !key.starts_with("expiry:")).collect();
        assert!(left.is_empty(), "only the index's counters moved: {left:?}");
    }

    #[test]
    fn a_rewrite_with_the_same_expiry_adds_no_entry_and_one_with_a_later_expiry_does() {
        let store = MemoryStore::new();
        save(&store, "n:1", &note(6_030)).unwrap();
        rewrite(&store, "n:1", 6_030, &Note { text: "used".into(), ..note(6_030) }).unwrap();
        assert_eq!(store.increment(&index::count_key(100), 0).unwrap(), 1);
        assert_eq!(load::<Note>(&store, &ManualClock::at(6_000), "n:1").unwrap().unwrap().text, "used");
        rewrite(&store, "n:1", 6_030, &note(9_000)).unwrap();
        assert_eq!(store.increment(&index::count_key(150), 0).unwrap(), 1, "registered under its new minute");
    }

    #[test]
    fn a_save_that_cannot_register_writes_nothing() {
        let store = Faulty::new(MemoryStore::new(), Fails::Increments);
        let error = save(&store, "n:1", &note(6_030)).unwrap_err();
        assert!(error.is_temporary());
        assert!(store.inner.keys().is_empty(), "{:?}", store.inner.keys());
    }

    #[test]
    fn expiring_counters_carry_their_expiry_in_the_key_and_their_creator_registers_them() {
        let store = MemoryStore::new();
        let (counter, other) = (expiring_counter_key("rl:a", 6_000), expiring_counter_key("rl:b", 6_000));
        assert_eq!(counter, "rl:a#until=6000");
        assert_eq!(
            (counter_expiry(&counter), counter_expiry("rl:a#claim"), counter_expiry("rl:a")),
            (Some(6_000), None, None)
        );
        assert_eq!(helper_owner(&counter), None, "not a record's helper");
        assert_eq!(add_to_counter(&store, &counter, 1).unwrap(), 1);
        assert_eq!(add_to_counter(&store, &counter, 1).unwrap(), 2);
        assert_eq!(add_to_counter(&store, &counter, -1).unwrap(), 1);
        assert_eq!(add_to_counter(&store, &other, 3).unwrap(), 3);
        assert_eq!(store.increment(&index::count_key(100), 0).unwrap(), 2, "each registered once, by its creator");
        assert!(matches!(add_to_counter(&store, "rl:c", 1), Err(RecordError::InvalidKey { .. })));
        assert!(!store.exists("rl:c").unwrap());
    }

    #[test]
    fn the_header_is_read_from_any_record_of_this_version() {
        assert_eq!(header(br#"{"v":1,"expires_at":60,"consumed":true}"#), Some(60));
        assert_eq!(header(br#"{"v":2,"expires_at":60}"#), None);
        assert_eq!(header(br#"{"v":1}"#), None);
        assert_eq!(header(b"{"), None);
    }

    #[test]
    fn encode_failures_are_typed() {
        #[derive(Deserialize)]
        struct Unencodable {
            v: u32,
            expires_at: u64,
        }
        impl Serialize for Unencodable {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("no"))
            }
        }
        crate::impl_record!(Unencodable, "unencodable");
        let store = MemoryStore::new();
        let error = save(&store, "u", &Unencodable { v: 1, expires_at: 1 }).unwrap_err();
        assert!(matches!(error, RecordError::Encode { what: "unencodable", .. }));
        assert!(!error.is_temporary());
        assert!(store.keys().is_empty());
    }
}
