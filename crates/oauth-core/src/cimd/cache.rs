//! The document cache: one record per URL (`oauth:cimd:<sha256(URL)>`, a
//! [`ClientDocumentRecord`]), read with the record format's expiry and swept, once expired, through
//! the expiry index like every record.
//!
//! Lifetime: the document's `Cache-Control: max-age`, clamped to [`MIN_CACHE_SECS`] (5 minutes:
//! a document is fetched at most that often while it is in use, whatever it says, which also
//! bounds how often a caller can make us fetch a given URL that works) and [`MAX_CACHE_SECS`]
//! (24 hours: a changed or withdrawn document takes effect within a day); without `max-age`,
//! [`DEFAULT_CACHE_SECS`] (1 hour). A record holds the validated metadata of a document of at
//! most 5 KiB, so it stays a few KiB.
//!
//! What is written, and when: a valid document only once the request that needed it
//! succeeded; a refused one as a bare marker (`oauth:cimd-refused:<sha256(URL)>`, a
//! [`RefusedDocument`]) for [`REFUSAL_CACHE_SECS`], so that naming a broken document again and
//! again does not fetch it again and again (the draft lets a server use error responses to
//! inform its security policy). Either write counts against the caller's address's cache writes
//! (`super::throttle`), and past that cap nothing is written: the next request fetches again.
//! Concurrent requests may each fetch and write the same document; every writer wrote a
//! validated copy, so whichever lands last is right.

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore};

use crate::keys;
use crate::records::{ClientDocumentRecord, ClientMetadata, ClientRecord, RECORD_VERSION, RefusedDocument};

/// The shortest time a document is cached.
pub const MIN_CACHE_SECS: u64 = 5 * 60;
/// How long a document without `max-age` is cached.
pub const DEFAULT_CACHE_SECS: u64 = 60 * 60;
/// The longest time a document is cached.
pub const MAX_CACHE_SECS: u64 = 24 * 60 * 60;
/// How long a refused document is refused again without a fetch: long enough that a caller
/// naming it in a loop costs one fetch a minute, short enough that a document host that was
/// down a moment is tried again soon.
pub const REFUSAL_CACHE_SECS: u64 = 60;

/// How long to keep a document whose server said `max_age`.
pub fn lifetime(max_age: Option<u64>) -> u64 {
    max_age.unwrap_or(DEFAULT_CACHE_SECS).clamp(MIN_CACHE_SECS, MAX_CACHE_SECS)
}

/// The cached document for `url`, if one is live.
pub(crate) fn load(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    url: &str,
) -> Result<Option<ClientDocumentRecord>, RecordError> {
    let cached = record::load::<ClientDocumentRecord>(store, clock, &keys::client_document(url))?;
    Ok(cached.filter(|document| document.client_id == url))
}

/// A record for a document fetched `now` whose server said `max_age`.
pub(crate) fn entry(url: &str, metadata: ClientMetadata, now: u64, max_age: Option<u64>) -> ClientDocumentRecord {
    ClientDocumentRecord {
        v: RECORD_VERSION,
        client_id: url.to_owned(),
        metadata,
        fetched_at: now,
        expires_at: now + lifetime(max_age),
    }
}

pub(crate) fn save(store: &dyn KeyValueStore, document: &ClientDocumentRecord) -> Result<(), RecordError> {
    record::save(store, &keys::client_document(&document.client_id), document)
}

/// Whether the document at `url` was refused within the last [`REFUSAL_CACHE_SECS`].
pub(crate) fn recently_refused(store: &dyn KeyValueStore, clock: &dyn Clock, url: &str) -> Result<bool, RecordError> {
    Ok(record::load::<RefusedDocument>(store, clock, &keys::refused_document(url))?.is_some())
}

/// Remembers, for [`REFUSAL_CACHE_SECS`], that the document at `url` was refused `now`.
pub(crate) fn save_refusal(store: &dyn KeyValueStore, url: &str, now: u64) -> Result<(), RecordError> {
    let refused = RefusedDocument { v: RECORD_VERSION, expires_at: now + REFUSAL_CACHE_SECS };
    record::save(store, &keys::refused_document(url), &refused)
}

impl ClientDocumentRecord {
    /// The document seen as a registration: a public client without a secret, "registered"
    /// when it was fetched and gone when the cache entry expires.
    pub fn client(&self) -> ClientRecord {
        ClientRecord {
            v: RECORD_VERSION,
            client_id: self.client_id.clone(),
            secret_hash: None,
            metadata: self.metadata.clone(),
            client_id_issued_at: self.fetched_at,
            last_used_at: self.fetched_at,
            expires_at: self.expires_at,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_are_clamped_to_five_minutes_and_a_day() {
        assert_eq!(lifetime(Some(0)), MIN_CACHE_SECS);
        assert_eq!(lifetime(Some(60)), MIN_CACHE_SECS);
        assert_eq!(lifetime(Some(7200)), 7200);
        assert_eq!(lifetime(Some(30 * 24 * 3600)), MAX_CACHE_SECS);
        assert_eq!(lifetime(None), DEFAULT_CACHE_SECS);
        assert_eq!((MIN_CACHE_SECS, DEFAULT_CACHE_SECS, MAX_CACHE_SECS), (300, 3600, 86_400));
    }
}
