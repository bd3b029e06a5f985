//! The two one-time records of a sign-in, kept server-side with their own expiry:
//! the consent handle (the validated request between the consent page and its form post) and
//! the upstream state (the validated request plus PKCE verifier and nonce, between the redirect
//! to Clerk and Clerk's callback).
//!
//! Each is consumed by swapping the existing record to a tombstone with compare-and-swap, so two
//! concurrent uses cannot both win (Spin's CAS is only atomic for keys that exist, and these
//! keys always exist when consumed).

use clerk_client::UpstreamRequest;
use oauth_core::ValidatedAuthorization;
use platform::{KeyValueStore, StoreError};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys;

/// How long the consent page stays usable.
pub const CONSENT_TTL: u64 = 600;
/// How long the trip to Clerk may take (MCP security best practices: ~10 minutes).
pub const UPSTREAM_TTL: u64 = 600;
const VERSION: u32 = 1;

/// What the consent form's handle stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Consent {
    pub validated: ValidatedAuthorization,
    /// SHA-256 of the CSRF token in the form.
    pub csrf_hash: String,
    /// SHA-256 of the browser cookie of the browser that was shown the page.
    pub browser_hash: String,
}

/// What Clerk's `state` stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upstream {
    pub validated: ValidatedAuthorization,
    pub upstream: UpstreamRequest,
    /// SHA-256 of the browser cookie of the browser that consented.
    pub browser_hash: String,
    /// The `redirect_uri` sent to Clerk, repeated in the code exchange.
    pub callback_url: String,
}

/// The stored envelope: versioned, expiring, and a tombstone once consumed.
#[derive(Serialize, Deserialize)]
struct OneTime<T> {
    v: u32,
    expires_at: u64,
    #[serde(default)]
    consumed: bool,
    #[serde(default = "none")]
    data: Option<T>,
}

fn none<T>() -> Option<T> {
    None
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup<T> {
    /// Never existed, expired, or unreadable.
    Missing,
    /// Already used (a replay).
    Consumed,
    /// Usable; `raw` is the exact stored value, for the compare-and-swap.
    Live { data: T, raw: Vec<u8>, expires_at: u64 },
}

/// Which record a key is for.
#[derive(Debug, Clone, Copy)]
pub enum Kind {
    Consent,
    Upstream,
}

impl Kind {
    fn key(self, secret: &str) -> String {
        match self {
            Kind::Consent => keys::consent(secret),
            Kind::Upstream => keys::upstream(secret),
        }
    }
}

/// Stores a new record behind `secret` (a fresh random value: no CAS needed to create it).
pub fn create<T: Serialize>(
    store: &impl KeyValueStore,
    kind: Kind,
    secret: &str,
    data: T,
    expires_at: u64,
) -> Result<(), StoreError> {
    let record = OneTime { v: VERSION, expires_at, consumed: false, data: Some(data) };
    let bytes = serde_json::to_vec(&record).map_err(|e| StoreError::Backend(e.to_string()))?;
    store.set(&kind.key(secret), &bytes)
}

/// Reads the record behind `secret`; expired or unreadable records are deleted and missing.
pub fn find<T: DeserializeOwned>(
    store: &impl KeyValueStore,
    kind: Kind,
    secret: &str,
    now: u64,
) -> Result<Lookup<T>, StoreError> {
    let key = kind.key(secret);
    let Some(raw) = store.get(&key)? else { return Ok(Lookup::Missing) };
    match serde_json::from_slice::<OneTime<T>>(&raw) {
        Ok(record) if record.v == VERSION && record.expires_at > now => match (record.consumed, record.data) {
            (false, Some(data)) => Ok(Lookup::Live { data, raw, expires_at: record.expires_at }),
            _ => Ok(Lookup::Consumed),
        },
        _ => {
            store.delete(&key)?;
            Ok(Lookup::Missing)
        }
    }
}

/// Deletes the record at `key` if it is one of ours and expired (consumed tombstones included);
/// `Ok(true)` when it did. Records it cannot read are left alone.
pub(crate) fn delete_if_expired(store: &dyn KeyValueStore, key: &str, now: u64) -> Result<bool, StoreError> {
    let Some(raw) = store.get(key)? else { return Ok(false) };
    match serde_json::from_slice::<OneTime<serde::de::IgnoredAny>>(&raw) {
        Ok(record) if record.v == VERSION && record.expires_at <= now => {
            store.delete(key)?;
            Ok(true)
        }
        _ => Ok(false),
    }
}

/// Swaps the record found by [`find`] to a tombstone; `Ok(false)` when someone else won.
pub fn consume(
    store: &impl KeyValueStore,
    kind: Kind,
    secret: &str,
    raw: &[u8],
    expires_at: u64,
) -> Result<bool, StoreError> {
    let tombstone = OneTime::<()> { v: VERSION, expires_at, consumed: true, data: None };
    let bytes = serde_json::to_vec(&tombstone).map_err(|e| StoreError::Backend(e.to_string()))?;
    store.compare_and_swap(&kind.key(secret), raw, &bytes)
}

/// [`find`] then [`consume`]: the data if this call is the one that used the record.
pub fn take<T: DeserializeOwned>(
    store: &impl KeyValueStore,
    kind: Kind,
    secret: &str,
    now: u64,
) -> Result<Lookup<T>, StoreError> {
    match find::<T>(store, kind, secret, now)? {
        Lookup::Live { data, raw, expires_at } => {
            if consume(store, kind, secret, &raw, expires_at)? {
                Ok(Lookup::Live { data, raw, expires_at })
            } else {
                Ok(Lookup::Consumed)
            }
        }
        other => Ok(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::MemoryStore;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn record_is_taken_once_then_reads_as_consumed() {
        let store = MemoryStore::new();
        create(&store, Kind::Upstream, "s", 7u32, 100).unwrap();
        assert!(matches!(take::<u32>(&store, Kind::Upstream, "s", 10).unwrap(), Lookup::Live { data: 7, .. }));
        assert!(matches!(take::<u32>(&store, Kind::Upstream, "s", 10).unwrap(), Lookup::Consumed));
    }

    #[test]
    fn expired_record_is_missing_and_deleted() {
        let store = MemoryStore::new();
        create(&store, Kind::Consent, "h", 1u32, 100).unwrap();
        assert!(matches!(find::<u32>(&store, Kind::Consent, "h", 100).unwrap(), Lookup::Missing));
        assert!(store.keys().is_empty());
    }

    #[test]
    fn keys_hold_only_hashes_of_the_secret() {
        let store = MemoryStore::new();
        create(&store, Kind::Consent, "secret-handle", 1u32, 100).unwrap();
        let keys = store.keys();
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains("secret-handle") && keys[0].len() < 250);
    }

    #[test]
    fn concurrent_takes_have_exactly_one_winner() {
        let store = Arc::new(MemoryStore::new());
        create(&*store, Kind::Upstream, "s", 1u32, 100).unwrap();
        let winners = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..16)
            .map(|_| {
                let (store, winners) = (store.clone(), winners.clone());
                std::thread::spawn(move || {
                    if let Ok(Lookup::Live { .. }) = take::<u32>(&*store, Kind::Upstream, "s", 1) {
                        winners.fetch_add(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(winners.load(Ordering::SeqCst), 1);
    }
}
