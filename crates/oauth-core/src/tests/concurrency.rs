//! Races, without compare-and-swap: of many concurrent redemptions of one code exactly one
//! issues a pair, and a code presented twice always leaves that pair revoked; of many
//! concurrent refreshes of one token exactly one pair is minted and every 200 carries it; and
//! revocation holds whichever order its writes and an issuer's land in.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, Mutex};

use futures::executor::block_on;
use platform::{Clock, KeyValueStore, MemoryStore, StoreError};

use super::*;
use crate::ClientRecord;
use crate::directory::StaticDirectory;
use crate::tests::refresh_default as refresh;
use crate::tokens::{CodeExchange, GrantError, RefreshRequest, TokenError, exchange_code, verify_access_token};

const THREADS: usize = 32;
const RESOURCE: &str = "https://mcp.example.com/mcp";

/// A store that holds the first [`THREADS`] claims (increments of `#claim` keys) until all
/// threads have made their reads, so all of them start from the same state and only the claim
/// decides. Later claims pass freely.
struct LockstepStore {
    inner: MemoryStore,
    barrier: Barrier,
    held: AtomicUsize,
}

impl KeyValueStore for LockstepStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        if key.ends_with("#claim") && self.held.fetch_add(1, Ordering::SeqCst) < THREADS {
            self.barrier.wait();
        }
        self.inner.increment(key, delta)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        self.inner.list_keys()
    }
}

/// Moves the fixture's data into a lockstep store.
fn lockstep(f: &Fixture) -> Arc<LockstepStore> {
    let inner = MemoryStore::new();
    for (k, v) in f.store.snapshot() {
        inner.set(&k, &v).unwrap();
    }
    Arc::new(LockstepStore { inner, barrier: Barrier::new(THREADS), held: AtomicUsize::new(0) })
}

/// Runs `run` on [`THREADS`] threads; their results in thread order.
fn race<T: Send + 'static>(run: impl Fn() -> T + Send + Sync + 'static) -> Vec<T> {
    let run = Arc::new(run);
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let run = run.clone();
            std::thread::spawn(move || run())
        })
        .collect();
    threads.into_iter().map(|t| t.join().unwrap()).collect()
}

/// One attempt to redeem `code` with the fixture's PKCE verifier.
fn redeem(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    code: &str,
) -> Result<TokenResponse, GrantError> {
    let request = CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(store, clock, &crate::rules::scope::ScopePolicy::default(), client, &request)
        .map(|issued| issued.response)
}

fn refresh_once(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    client: &ClientRecord,
    token: &str,
) -> Result<TokenResponse, GrantError> {
    let request = RefreshRequest { refresh_token: token, scope: None, resource: None };
    block_on(refresh(store, clock, &StaticDirectory, &rotation(), client, &request)).map(|issued| issued.response)
}

/// Redeems one code from 32 threads at once (in lockstep or free-running); asserts exactly one
/// pair and only `invalid_grant` otherwise, and returns the pair.
fn redeem_concurrently(
    f: Fixture,
    in_lockstep: bool,
) -> (Arc<dyn KeyValueStore + Send + Sync>, Arc<ManualClock>, ClientRecord, TokenResponse) {
    let code = f.code();
    let store: Arc<dyn KeyValueStore + Send + Sync> = if in_lockstep { lockstep(&f) } else { Arc::new(f.store) };
    let client = f.client.client.clone();
    let clock = Arc::new(f.clock);
    let results = race({
        let (store, clock, client) = (store.clone(), clock.clone(), client.clone());
        move || redeem(&*store, &*clock, &client, &code)
    });
    let mut pairs: Vec<TokenResponse> = Vec::new();
    for result in results {
        match result {
            Ok(pair) => pairs.push(pair),
            Err(e) => assert_eq!(e.code(), "invalid_grant", "{e}"),
        }
    }
    assert_eq!(pairs.len(), 1, "exactly one pair per code");
    (store, clock, client, pairs.remove(0))
}

#[test]
fn of_32_concurrent_code_redemptions_exactly_one_issues_a_pair_and_it_is_revoked_every_time() {
    for round in 0..25 {
        let (store, clock, client, pair) = redeem_concurrently(fixture(), round % 2 == 0);
        let verified = verify_access_token(&*store, &*clock, &pair.access_token, RESOURCE);
        assert!(matches!(verified, Err(TokenError::Invalid)), "round {round}: the code was presented 32 times");
        let refreshed = refresh_once(&*store, &*clock, &client, &pair.refresh_token);
        assert_eq!(refreshed.unwrap_err().code(), "invalid_grant", "round {round}");
    }
}

#[test]
fn a_code_redeemed_once_keeps_its_pair() {
    let f = fixture();
    let pair = f.tokens();
    assert!(verify_access_token(&f.store, &f.clock, &pair.access_token, RESOURCE).is_ok());
}

#[test]
fn of_32_concurrent_refreshes_of_one_token_one_pair_is_minted_and_every_answer_carries_it() {
    for round in 0..10 {
        let f = fixture();
        let tokens = f.tokens();
        let store: Arc<dyn KeyValueStore + Send + Sync> = if round % 2 == 0 { lockstep(&f) } else { Arc::new(f.store) };
        let access_before = count(&*store, "oauth:access:");
        let client = f.client.client.clone();
        let clock = Arc::new(f.clock);
        let results = race({
            let (store, clock, client) = (store.clone(), clock.clone(), client.clone());
            move || refresh_once(&*store, &*clock, &client, &tokens.refresh_token)
        });
        let pairs: Vec<TokenResponse> =
            results.into_iter().map(|r| r.unwrap_or_else(|e| panic!("round {round}: {e}"))).collect();
        assert!(
            pairs.iter().all(|p| p.access_token == pairs[0].access_token && p.refresh_token == pairs[0].refresh_token)
        );
        assert_eq!(count(&*store, "oauth:access:"), access_before + 1, "round {round}: one pair minted");
        assert!(verify_access_token(&*store, &*clock, &pairs[0].access_token, RESOURCE).is_ok());
        assert!(refresh_once(&*store, &*clock, &client, &pairs[0].refresh_token).is_ok(), "the pair is live");
    }
}

fn count(store: &dyn KeyValueStore, prefix: &str) -> usize {
    store.list_keys().unwrap().iter().filter(|k| k.starts_with(prefix) && !k.contains('#')).count()
}

/// Something to do to the store in the middle of another request.
type Hook = Box<dyn FnOnce(&MemoryStore) + Send>;

/// A store that runs `hook` once, just before the first write of a key with `prefix`.
struct HookStore {
    inner: Arc<MemoryStore>,
    prefix: &'static str,
    hook: Mutex<Option<Hook>>,
}

impl KeyValueStore for HookStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if key.starts_with(self.prefix) {
            let hook = self.hook.lock().unwrap().take();
            if let Some(hook) = hook {
                hook(&self.inner);
            }
        }
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.inner.increment(key, delta)
    }
}

/// A refresh whose grant write is preceded by `revoke_grant` (the revocation reads the grant
/// before the issuer lists its pair): only the issuer's marker check can catch it.
#[test]
fn a_revocation_between_an_issuers_token_write_and_its_grant_write_still_kills_the_new_pair() {
    let f = fixture();
    let first = f.tokens();
    let grant_id = verify_access_token(&f.store, &f.clock, &first.access_token, RESOURCE).unwrap().grant_id;
    let inner = Arc::new(MemoryStore::new());
    f.store.snapshot().into_iter().for_each(|(k, v)| inner.set(&k, &v).unwrap());
    let clock = Arc::new(ManualClock::at(f.clock.now_unix()));
    let hook_clock = clock.clone();
    let store = HookStore {
        inner: inner.clone(),
        prefix: "oauth:grant:",
        hook: Mutex::new(Some(Box::new(move |store: &MemoryStore| {
            crate::grants::revoke_grant(store, &*hook_clock, &grant_id).unwrap();
        }))),
    };
    let refreshed = refresh_once(&store, &*clock, &f.client.client, &first.refresh_token);
    assert_eq!(refreshed.unwrap_err().code(), "invalid_grant");
    assert!(inner.keys().iter().all(|k| !k.starts_with("oauth:access:")), "{:?}", inner.keys());
    assert_eq!(count(&*inner, "oauth:refresh:"), 0, "the grant listed the rotated one; the issuer deleted its own");
    assert_eq!(
        refresh_once(&*inner, &*clock, &f.client.client, &first.refresh_token).unwrap_err().code(),
        "invalid_grant"
    );
}

/// The other order: the revocation comes after the issuer listed its pair, so it finds it.
#[test]
fn a_revocation_after_an_issuers_grant_write_finds_the_new_pair_on_the_grant() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_once(&f.store, &f.clock, &f.client.client, &first.refresh_token).unwrap();
    let grant_id = verify_access_token(&f.store, &f.clock, &second.access_token, RESOURCE).unwrap().grant_id;
    crate::grants::revoke_grant(&f.store, &f.clock, &grant_id).unwrap();
    for access in [&first.access_token, &second.access_token] {
        assert!(matches!(verify_access_token(&f.store, &f.clock, access, RESOURCE), Err(TokenError::Invalid)));
    }
}
