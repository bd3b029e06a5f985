//! Stored records: the one format and the one set of operations every namespace uses.
//!
//! **Format.** A record is a JSON object with at least `v` (the format version, [`VERSION`]) and
//! `expires_at` (Unix seconds). Every record this app has ever written has both at the top
//! level, so the sweep ([`sweep_one`]) can judge any record, of any namespace and any release,
//! from that header alone. A record with another `v` is treated as absent (a newer
//! deployment's data is never misread) and left alone.
//!
//! **Operations.**
//! - [`read`] / [`load`]: an expired record is deleted when met, with its helper keys, and is absent.
//! - [`save`]: a plain write. Used to create a record under a fresh key, and to update one by the
//!   single writer that owns it at that moment (the caller that won its claim).
//! - [`claim`]: single use without compare-and-swap. The record's claim counter
//!   (`<record key>#claim`) is incremented; the caller that gets 1 wins, every later one learns
//!   it lost and how many tried. A record that must recognise a replay after its use is kept as
//!   a tombstone (a flag in the record, written by the winner) until it expires.
//! - [`discard`]: deletes a record before it expires (revocation); its helpers stay until the
//!   sweep finds them orphaned, so a claim already in flight still counts.
//! - [`sweep_one`]: the housekeeping decision for one key of a namespace.
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
//! is written into its key, where the sweep reads it without touching the value.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{Clock, KeyValueStore, StoreError};

/// The record format version every record carries as `v`.
pub const VERSION: u32 = 1;

/// Separates a record key from the name of one of its helper keys.
const HELPER_SEPARATOR: char = '#';

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

/// A counter that belongs to a record, at `<record key>#<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Helper {
    /// How many callers tried to claim the record ([`claim`]).
    Claim,
    /// The last number handed out by [`next_number`] (e.g. an SSE session's message sequence).
    Sequence,
}

impl Helper {
    const ALL: [Helper; 2] = [Helper::Claim, Helper::Sequence];

    fn name(self) -> &'static str {
        match self {
            Helper::Claim => "claim",
            Helper::Sequence => "seq",
        }
    }

    /// The key of this helper of the record at `record_key`.
    pub fn key(self, record_key: &str) -> String {
        format!("{record_key}{HELPER_SEPARATOR}{}", self.name())
    }
}

/// What follows [`HELPER_SEPARATOR`] in the key of an expiring counter, before its expiry.
const UNTIL: &str = "until=";

/// The key of a counter named `name` that expires at `expires_at` (Unix seconds):
/// `<name>#until=<expires_at>`. Read it only with `increment(key, 0)`, like every counter.
pub fn expiring_counter_key(name: &str, expires_at: u64) -> String {
    format!("{name}{HELPER_SEPARATOR}{UNTIL}{expires_at}")
}

/// When the counter at `key` expires, if `key` names an expiring counter.
pub fn counter_expiry(key: &str) -> Option<u64> {
    key.rsplit_once(HELPER_SEPARATOR)?.1.strip_prefix(UNTIL)?.parse().ok()
}

/// The record key a helper key belongs to, or `None` when `key` is not a helper key.
pub fn helper_owner(key: &str) -> Option<&str> {
    let (owner, name) = key.rsplit_once(HELPER_SEPARATOR)?;
    Helper::ALL.iter().any(|h| h.name() == name).then_some(owner)
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
pub fn save<T: Record>(store: &dyn KeyValueStore, key: &str, record: &T) -> Result<(), RecordError> {
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

/// The sweep's decision for one key of a namespace: an expired record is deleted with every
/// helper it may have; a helper whose record is gone is deleted; an expiring counter is deleted
/// once its time is up (without reading it). Returns whether it deleted something. Records it
/// cannot read, and other format versions, are left alone.
pub fn sweep_one(store: &dyn KeyValueStore, now: u64, key: &str) -> Result<bool, RecordError> {
    if let Some(expires_at) = counter_expiry(key) {
        if now < expires_at {
            return Ok(false);
        }
        store.delete(key)?;
        return Ok(true);
    }
    if let Some(owner) = helper_owner(key) {
        // Gone already when its record was swept a moment ago.
        if store.exists(owner)? || !store.exists(key)? {
            return Ok(false);
        }
        store.delete(key)?;
        return Ok(true);
    }
    let Some(raw) = store.get(key)? else {
        return Ok(false);
    };
    match serde_json::from_slice::<Header>(&raw) {
        Ok(header) if header.v == VERSION && header.expires_at <= now => {
            store.delete(key)?;
            for helper in Helper::ALL {
                store.delete(&helper.key(key))?;
            }
            Ok(true)
        }
        _ => Ok(false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert!(store.keys().is_empty(), "record and claim counter deleted: {:?}", store.keys());
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
    fn the_sweep_deletes_expired_records_with_their_helpers_and_orphaned_helpers() {
        let store = MemoryStore::new();
        let clock = ManualClock::at(40);
        save(&store, "n:old", &note(50)).unwrap();
        claim(&store, &clock, "n:old", &note(50)).unwrap();
        save(&store, "n:live", &note(500)).unwrap();
        claim(&store, &clock, "n:live", &note(500)).unwrap();
        store.increment("n:gone#seq", 1).unwrap();
        // Any earlier release's record shape: only the header matters.
        store.set("n:legacy", br#"{"v":1,"expires_at":60,"consumed":true}"#).unwrap();
        store.set("n:garbage", b"{").unwrap();
        let keys = store.keys();
        let deleted = keys.iter().filter(|k| sweep_one(&store, 100, k).unwrap()).count();
        assert_eq!(deleted, 3, "n:old (with its claim), n:gone#seq, n:legacy");
        assert_eq!(store.keys(), ["n:garbage", "n:live", "n:live#claim"]);
    }

    #[test]
    fn expiring_counters_carry_their_expiry_in_the_key_and_the_sweep_reads_it_there() {
        let store = MemoryStore::new();
        let (old, live) = (expiring_counter_key("rl:a", 100), expiring_counter_key("rl:b", 101));
        assert_eq!(old, "rl:a#until=100");
        assert_eq!(
            (counter_expiry(&old), counter_expiry("rl:a#claim"), counter_expiry("rl:a")),
            (Some(100), None, None)
        );
        assert_eq!(helper_owner(&old), None, "not a record's helper");
        store.increment(&old, 3).unwrap();
        store.increment(&live, 1).unwrap();
        assert!(sweep_one(&store, 100, &old).unwrap());
        assert!(!sweep_one(&store, 100, &live).unwrap());
        assert_eq!(store.keys(), [live]);
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
