//! The one-time record of a trip to Clerk, kept server-side with its own expiry: the upstream
//! state (the flow to finish, e.g. the validated request, plus PKCE verifier and nonce, between
//! the redirect to Clerk and Clerk's callback). (The consent form that comes before it is sealed
//! into the page instead, `crate::consent`: a consent page stores nothing.)
//!
//! It is used once through [`take`]: find it, let the caller check it belongs to this browser
//! (a refused check uses nothing up), claim it (`platform::record::claim`, an atomic increment:
//! of concurrent uses exactly one wins, on every store), and replace it with a tombstone, so a
//! replay is told "already used" and the secrets inside are gone at once.
//!
//! The store never holds what the record's key is derived from (the key has only the SHA-256 of
//! the state), and the record's data is sealed (`platform::secret::seal`, ChaCha20-Poly1305)
//! under a key derived from that same state: whoever can read the store, but was not sent the
//! state, cannot read Clerk's PKCE verifier and nonce or the client's request.

use clerk_client::UpstreamRequest;
use oauth_core::ValidatedAuthorization;
use platform::record::{self, Claim, Helper, Record, RecordError};
use platform::secret::{self, SealError};
use platform::web::Request;
use platform::{Clock, KeyValueStore};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::keys;

/// How long the trip to Clerk may take (MCP security best practices: ~10 minutes).
pub const UPSTREAM_TTL: u64 = 600;

/// What Clerk's `state` stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Upstream {
    /// Which sign-in this is, so `/callback` finishes the right one.
    #[serde(flatten)]
    pub flow: Flow,
    pub upstream: UpstreamRequest,
    /// SHA-256 of the browser cookie of the browser that consented.
    pub browser_hash: String,
    /// The `redirect_uri` sent to Clerk, repeated in the code exchange.
    pub callback_url: String,
    /// For [`Flow::Authorize`]: the user approved the client on the consent page of this
    /// sign-in. Otherwise the browser only remembered an approval, which the server checks for
    /// the user Clerk signs in.
    pub approved_on_page: bool,
}

/// The sign-ins that go through Clerk and come back to `/callback`. Stored as one member named
/// after the flow: `validated` (the validated request) or `apps`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Flow {
    /// `/authorize`: the validated request of an MCP client, finished with a code for it.
    #[serde(rename = "validated")]
    Authorize(Box<ValidatedAuthorization>),
    /// `/apps`: signing in to the connected-apps page, finished with a page session.
    #[serde(rename = "apps")]
    Apps(AppsSignIn),
}

/// A sign-in to the connected-apps page (nothing to carry: it always ends at `/apps`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppsSignIn {}

/// The stored envelope: versioned, expiring, and a tombstone once consumed. The data is
/// `sealed`; a tombstone has none.
#[derive(Serialize, Deserialize)]
struct OneTime {
    v: u32,
    expires_at: u64,
    #[serde(default)]
    consumed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    sealed: Option<String>,
}

impl OneTime {
    fn new(expires_at: u64, consumed: bool, sealed: Option<String>) -> Self {
        Self { v: record::VERSION, expires_at, consumed, sealed }
    }

    /// The data, if this record is live and was sealed with `secret`.
    fn open<T: DeserializeOwned>(self, secret: &str) -> Option<T> {
        match self {
            OneTime { consumed: false, sealed: Some(sealed), .. } => {
                let json = secret::unseal(SEAL_CONTEXT, secret, &sealed)?;
                serde_json::from_slice(&json).ok()
            }
            _ => None,
        }
    }
}

impl Record for OneTime {
    const WHAT: &'static str = "sign-in";
    const HELPERS: &'static [Helper] = &[Helper::Claim];
    fn version(&self) -> u32 {
        self.v
    }
    fn expires_at(&self) -> u64 {
        self.expires_at
    }
}

/// What a lookup found.
#[derive(Debug)]
pub enum Lookup<T> {
    /// Never existed, expired, or unreadable.
    Missing,
    /// Already used (a replay).
    Consumed,
    /// Usable.
    Live(T),
}

/// The sealing context of upstream records.
const SEAL_CONTEXT: &str = "signin:upstream";

/// Why [`create`] stored nothing.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Store(#[from] RecordError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

/// Stores a new record behind `secret` (a fresh random value), its data sealed with `secret`.
pub fn create<T: Serialize + DeserializeOwned>(
    store: &dyn KeyValueStore,
    secret: &str,
    data: &T,
    expires_at: u64,
) -> Result<(), CreateError> {
    let json = serde_json::to_vec(data).map_err(|_| SealError::TooLarge)?;
    let sealed = secret::seal(SEAL_CONTEXT, secret, &json)?;
    let record = OneTime::new(expires_at, false, Some(sealed));
    Ok(record::save(store, &keys::upstream(secret), &record)?)
}

/// Reads the record behind `secret`; an expired one is deleted and missing.
pub fn find<T: Serialize + DeserializeOwned>(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    secret: &str,
) -> Result<Lookup<T>, RecordError> {
    Ok(match record::load::<OneTime>(store, clock, &keys::upstream(secret))? {
        None => Lookup::Missing,
        Some(OneTime { consumed: true, .. }) => Lookup::Consumed,
        Some(found) => found.open(secret).map_or(Lookup::Missing, Lookup::Live),
    })
}

/// Why [`take`] gave nothing.
#[derive(Debug)]
pub enum TakeError<E> {
    /// Never existed, expired, or unreadable.
    Missing,
    /// Already used (a replay, or a concurrent use that won).
    Used,
    /// The caller's check refused it; nothing was used up.
    Refused(E),
    Store(RecordError),
}

impl<E> From<RecordError> for TakeError<E> {
    fn from(error: RecordError) -> Self {
        TakeError::Store(error)
    }
}

/// [`take`] for the upstream record behind Clerk's `state`: refused unless `request` comes from
/// the browser the sign-in is bound to.
pub fn take_for_browser(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    state: &str,
    request: &Request,
) -> Result<Upstream, TakeError<()>> {
    take(store, clock, state, |data: &Upstream| {
        if crate::cookies::is_same_browser(request, &data.browser_hash) { Ok(()) } else { Err(()) }
    })
}

/// Find, check, use: the data behind `secret` if `check` accepts it and this call is the one
/// that uses it.
pub fn take<T: Serialize + DeserializeOwned, E>(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    secret: &str,
    check: impl FnOnce(&T) -> Result<(), E>,
) -> Result<T, TakeError<E>> {
    let key = keys::upstream(secret);
    let found = record::load::<OneTime>(store, clock, &key)?.ok_or(TakeError::Missing)?;
    let expires_at = found.expires_at;
    if found.consumed {
        return Err(TakeError::Used);
    }
    let data = found.open(secret).ok_or(TakeError::Missing)?;
    check(&data).map_err(TakeError::Refused)?;
    let tombstone = OneTime::new(expires_at, true, None);
    match record::claim(store, clock, &key, &tombstone)? {
        Claim::Won => {}
        Claim::Lost { .. } => return Err(TakeError::Used),
        Claim::Expired => return Err(TakeError::Missing),
    }
    // The winner is the record's only writer now: the tombstone drops the secrets inside.
    record::rewrite(store, &key, expires_at, &tombstone)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};
    use std::sync::Arc;

    fn accept(_: &u32) -> Result<(), ()> {
        Ok(())
    }

    #[test]
    fn record_is_taken_once_then_reads_as_consumed_without_its_data() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10));
        create(&store, "s", &7u32, 100).unwrap();
        assert_eq!(take(&store, &clock, "s", accept).unwrap(), 7);
        assert!(matches!(take(&store, &clock, "s", accept), Err(TakeError::Used)));
        assert!(matches!(find::<u32>(&store, &clock, "s").unwrap(), Lookup::Consumed));
        let stored = store.get(&keys::upstream("s")).unwrap().unwrap();
        assert_eq!(serde_json::from_slice::<serde_json::Value>(&stored).unwrap()["data"], serde_json::Value::Null);
    }

    #[test]
    fn the_data_is_sealed_with_the_secret_the_key_is_derived_from() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10));
        let data = "pkce-verifier-and-nonce".to_owned();
        create(&store, "the-state", &data, 100).unwrap();
        let key = store.record_keys().remove(0);
        let stored = store.get(&key).unwrap().unwrap();
        let stored = String::from_utf8(stored).unwrap();
        assert!(!stored.contains("pkce-verifier") && !stored.contains("the-state") && !key.contains("the-state"));
        let sealed = serde_json::from_str::<serde_json::Value>(&stored).unwrap()["sealed"].as_str().unwrap().to_owned();
        assert!(secret::unseal("signin:consent", "the-state", &sealed).is_none(), "another context");
        assert!(secret::unseal("signin:upstream", "another-state", &sealed).is_none());
        assert_eq!(take(&store, &clock, "the-state", |_: &String| Ok::<(), ()>(())).unwrap(), data);
    }

    #[test]
    fn a_record_that_does_not_open_is_missing() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10));
        store.set(&keys::upstream("s"), br#"{"v":1,"expires_at":100,"sealed":"AAAA"}"#).unwrap();
        assert!(matches!(take(&store, &clock, "s", accept), Err(TakeError::Missing)));
    }

    #[test]
    fn a_refused_check_uses_nothing_up() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10));
        create(&store, "h", &1u32, 100).unwrap();
        let before = store.snapshot();
        assert!(matches!(
            take(&store, &clock, "h", |_: &u32| Err("wrong browser")),
            Err(TakeError::Refused("wrong browser"))
        ));
        assert_eq!(store.snapshot(), before);
        assert_eq!(take(&store, &clock, "h", accept).unwrap(), 1);
    }

    #[test]
    fn an_upstream_record_names_its_flow() {
        let upstream =
            clerk_client::UpstreamRequest { state: "s".repeat(8), pkce_verifier: "v".into(), nonce: "n".into() };
        let apps = Upstream {
            flow: Flow::Apps(AppsSignIn {}),
            upstream: upstream.clone(),
            browser_hash: "b".into(),
            callback_url: "https://mcp.example/callback".into(),
            approved_on_page: false,
        };
        let json = serde_json::to_value(&apps).unwrap();
        assert_eq!(json["apps"], serde_json::json!({}));
        assert_eq!(serde_json::from_value::<Upstream>(json).unwrap(), apps);
        let validated = serde_json::json!({
            "client_id": "c", "client_name": null, "client_uri": null, "logo_uri": null, "tos_uri": null,
            "policy_uri": null, "redirect_uri": "https://a.example/cb", "redirect_uri_provided": true,
            "state": null, "scope": ["mcp"], "code_challenge": "x", "resource": "https://mcp.example/mcp",
            "issuer": "https://mcp.example"
        });
        let stored = serde_json::json!({
            "validated": validated, "upstream": upstream, "browser_hash": "b",
            "callback_url": "https://mcp.example/callback", "approved_on_page": true
        });
        let read: Upstream = serde_json::from_value(stored).unwrap();
        assert!(read.approved_on_page);
        assert!(matches!(read.flow, Flow::Authorize(v) if v.client_id == "c"));
    }

    #[test]
    fn expired_record_is_missing_and_deleted() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(100));
        create(&store, "h", &1u32, 100).unwrap();
        assert!(matches!(find::<u32>(&store, &clock, "h").unwrap(), Lookup::Missing));
        assert!(store.record_keys().is_empty());
    }

    #[test]
    fn keys_hold_only_hashes_of_the_secret() {
        let store = MemoryStore::new();
        create(&store, "secret-handle", &1u32, 100).unwrap();
        let keys = store.record_keys();
        assert_eq!(keys.len(), 1);
        assert!(!keys[0].contains("secret-handle") && keys[0].len() < 250);
    }

    #[test]
    fn of_32_concurrent_takes_exactly_one_wins() {
        for round in 0..10 {
            let store = Arc::new(MemoryStore::new());
            create(&*store, "s", &1u32, 100).unwrap();
            let threads: Vec<_> = (0..32)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || take(&*store, &ManualClock::at(1), "s", accept).is_ok())
                })
                .collect();
            let winners = threads.into_iter().map(|t| t.join().unwrap()).filter(|won| *won).count();
            assert_eq!(winners, 1, "round {round}");
        }
    }
}
