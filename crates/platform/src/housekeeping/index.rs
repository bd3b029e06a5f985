//! The expiry index: where every expiring key is written down under the minute it expires in,
//! so that the sweep finds what has expired by reading a few known keys instead of listing the
//! store.
//!
//! **Layout** (namespace `expiry:`):
//! - `expiry:bucket:<minute>`: a counter, how many entries were registered for keys expiring in
//!   that minute (`minute` = Unix seconds / 60);
//! - `expiry:slot:<minute>:<n>`: entry `n` of that minute (1, 2, ...): the key and the helper
//!   keys that go with it;
//! - `expiry:claimed:<minute>`: a counter, how many of that minute's entries sweeps have taken;
//! - `expiry:hour:<hour>`, `expiry:day:<day>`: counters that exist while some minute of that
//!   hour or day has entries, so the sweep passes a quiet hour or day with one read instead of
//!   one per minute.
//!
//! **Registering** costs two writes: an `increment` of the minute's counter hands out a slot
//! number no other writer gets (atomic on every Spin store), and a `set` writes the entry there.
//! The first entry of a minute also marks its hour (one more `increment`), and the first minute
//! of an hour its day. It is made before the key is written, so a failure in between leaves an
//! entry for a key that does not exist (which the sweep drops), never a key nobody will sweep.
//!
//! A key registered again (a record renewed with a later expiry, a tombstone rewritten) has an
//! entry in each minute it was registered for; the sweep judges every entry by what the key
//! holds when it gets there, so the older entries delete nothing that is still live.

use std::cell::Cell;

use crate::counter_keys::Helper;
use crate::{KeyValueStore, StoreError};

/// Every key of the index starts so.
pub(crate) const PREFIX: &str = "expiry:";
const BUCKET: &str = "expiry:bucket:";
const CLAIMED: &str = "expiry:claimed:";
const SLOT: &str = "expiry:slot:";
const HOUR: &str = "expiry:hour:";
const DAY: &str = "expiry:day:";

/// The length of one bucket: keys are registered under the minute they expire in.
pub const BUCKET_SECS: u64 = 60;

/// The spans of buckets that are marked when one of their buckets has entries: a day, an hour.
pub(crate) const SPANS: [u64; 2] = [24 * 60, 60];

/// The bucket of a key that expires at `expires_at` (Unix seconds).
pub fn bucket_of(expires_at: u64) -> u64 {
    expires_at / BUCKET_SECS
}

/// `expiry:bucket:<minute>`: how many entries the bucket has.
pub(crate) fn count_key(bucket: u64) -> String {
    format!("{BUCKET}{bucket}")
}

/// `expiry:claimed:<minute>`: how many of the bucket's entries sweeps have taken.
pub(crate) fn claimed_key(bucket: u64) -> String {
    format!("{CLAIMED}{bucket}")
}

/// `expiry:slot:<minute>:<n>`: entry `n` of the bucket.
pub(crate) fn slot_key(bucket: u64, number: i64) -> String {
    format!("{SLOT}{bucket}:{number}")
}

/// The marker of the span of `span` buckets numbered `number` (see [`SPANS`]).
pub(crate) fn span_key(span: u64, number: u64) -> String {
    if span == SPANS[1] { format!("{HOUR}{number}") } else { format!("{DAY}{number}") }
}

/// The bucket whose entry counter `key` is, if it is one.
pub(crate) fn bucket_of_count_key(key: &str) -> Option<u64> {
    key.strip_prefix(BUCKET)?.parse().ok()
}

/// One entry: a key to look at once its minute is over, and the helper keys to delete with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Entry {
    pub key: String,
    pub helpers: Vec<Helper>,
}

/// The format version of an entry's value.
const ENTRY_VERSION: &str = "1";

impl Entry {
    /// `1|<helper names, comma-separated>|<key>`: plain text, so writing it cannot fail, and the
    /// key last, so any character in it reads back as it was.
    fn encode(key: &str, helpers: &[Helper]) -> Vec<u8> {
        let names: Vec<&str> = helpers.iter().map(|helper| helper.name()).collect();
        format!("{ENTRY_VERSION}|{}|{key}", names.join(",")).into_bytes()
    }

    /// The entry stored as `raw`; `None` for anything this release did not write.
    pub(crate) fn decode(raw: &[u8]) -> Option<Entry> {
        let text = std::str::from_utf8(raw).ok()?;
        let mut parts = text.splitn(3, '|');
        let (version, names, key) = (parts.next()?, parts.next()?, parts.next()?);
        if version != ENTRY_VERSION || key.is_empty() {
            return None;
        }
        let helpers = names.split(',').filter(|name| !name.is_empty()).map(Helper::from_name).collect::<Option<_>>()?;
        Some(Entry { key: key.to_owned(), helpers })
    }
}

thread_local! {
    /// How many entries this thread registered since it last swept ([`take_registered`]). In a
    /// Spin component, one instance serves one request, so this is what the request created.
    static REGISTERED: Cell<u64> = const { Cell::new(0) };
}

/// How many entries this thread registered since the last call, and starts counting again.
pub(crate) fn take_registered() -> u64 {
    REGISTERED.with(|count| count.replace(0))
}

/// Writes down that `key` (with `helpers`) expires at `expires_at`: an entry in that minute's
/// bucket. Two writes.
pub fn register(store: &dyn KeyValueStore, key: &str, expires_at: u64, helpers: &[Helper]) -> Result<(), StoreError> {
    register_with(store, key, expires_at, helpers, None)
}

/// [`register`], and writes `value` at `key` in the same batch as the entry: one commit for
/// both (a transaction on SQLite, `MSET` on Redis), so a record costs two writes, not three,
/// and the entry still never misses a written key.
pub fn register_and_write(
    store: &dyn KeyValueStore,
    key: &str,
    expires_at: u64,
    helpers: &[Helper],
    value: Vec<u8>,
) -> Result<(), StoreError> {
    register_with(store, key, expires_at, helpers, Some(value))
}

fn register_with(
    store: &dyn KeyValueStore,
    key: &str,
    expires_at: u64,
    helpers: &[Helper],
    value: Option<Vec<u8>>,
) -> Result<(), StoreError> {
    let bucket = bucket_of(expires_at);
    let number = store.increment(&count_key(bucket), 1)?;
    if number == 1 {
        mark_spans(store, bucket)?;
    }
    let mut writes = vec![(slot_key(bucket, number), Entry::encode(key, helpers))];
    writes.extend(value.map(|value| (key.to_owned(), value)));
    store.set_many(&writes)?;
    REGISTERED.with(|count| count.set(count.get().saturating_add(1)));
    Ok(())
}

/// Marks the hour of a bucket that just got its first entry, and the day of an hour that just
/// got its first such bucket.
fn mark_spans(store: &dyn KeyValueStore, bucket: u64) -> Result<(), StoreError> {
    for span in SPANS.into_iter().rev() {
        if store.increment(&span_key(span, bucket / span), 1)? != 1 {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemoryStore;

    #[test]
    fn an_entry_is_written_under_the_minute_its_key_expires_in_with_a_number_of_its_own() {
        let store = MemoryStore::new();
        register(&store, "n:1", 6_000, &[Helper::Claim]).unwrap();
        register(&store, "n:2", 6_059, &[]).unwrap();
        register(&store, "n:3", 6_060, &[Helper::Claim, Helper::Sequence]).unwrap();
        assert_eq!(store.increment(&count_key(100), 0).unwrap(), 2);
        let entry = |bucket, n| Entry::decode(&store.get(&slot_key(bucket, n)).unwrap().unwrap()).unwrap();
        assert_eq!(entry(100, 1), Entry { key: "n:1".into(), helpers: vec![Helper::Claim] });
        assert_eq!(entry(100, 2), Entry { key: "n:2".into(), helpers: vec![] });
        assert_eq!(entry(101, 1), Entry { key: "n:3".into(), helpers: vec![Helper::Claim, Helper::Sequence] });
    }

    #[test]
    fn keys_with_any_characters_read_back_and_foreign_values_are_not_entries() {
        let key = "odd|key,with:separators#claim";
        assert_eq!(Entry::decode(&Entry::encode(key, &[Helper::Sequence])).unwrap().key, key);
        for foreign in [&b"2|claim|k"[..], b"1|unknown|k", b"1||", b"{\"v\":1}", b"\xff\xfe"] {
            assert_eq!(Entry::decode(foreign), None, "{}", String::from_utf8_lossy(foreign));
        }
    }

    #[test]
    fn registrations_are_counted_for_the_sweep_that_follows() {
        let store = MemoryStore::new();
        take_registered();
        register(&store, "a", 1, &[]).unwrap();
        register(&store, "b", 1, &[]).unwrap();
        assert_eq!(take_registered(), 2);
        assert_eq!(take_registered(), 0, "counting starts again");
    }

    #[test]
    fn the_first_entry_of_a_minute_marks_its_hour_and_the_first_of_an_hour_its_day() {
        let store = MemoryStore::new();
        let day_start = 20_000 * 86_400;
        register(&store, "a", day_start + 5, &[]).unwrap();
        register(&store, "b", day_start + 6, &[]).unwrap();
        register(&store, "c", day_start + 65, &[]).unwrap();
        register(&store, "d", day_start + 3_605, &[]).unwrap();
        let bucket = day_start / 60;
        assert_eq!(store.increment(&span_key(60, bucket / 60), 0).unwrap(), 2, "two minutes of the first hour");
        assert_eq!(store.increment(&span_key(60, bucket / 60 + 1), 0).unwrap(), 1);
        assert_eq!(store.increment(&span_key(1_440, bucket / 1_440), 0).unwrap(), 2, "two hours of the day");
        assert_eq!(span_key(60, 7), "expiry:hour:7");
        assert_eq!(span_key(1_440, 7), "expiry:day:7");
    }

    #[test]
    fn count_keys_name_their_bucket() {
        assert_eq!(bucket_of_count_key(&count_key(29_000_000)), Some(29_000_000));
        assert_eq!(bucket_of_count_key(&claimed_key(7)), None);
        assert_eq!(bucket_of_count_key(&slot_key(7, 1)), None);
    }
}
