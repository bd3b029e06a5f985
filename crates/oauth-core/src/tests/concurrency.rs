//! Races: of many concurrent redemptions of one code or one refresh token, exactly one wins.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use futures::executor::block_on;
use platform::{Clock, KeyValueStore, MemoryStore, StoreError};

use super::*;
use crate::ClientRecord;
use crate::directory::StaticDirectory;
use crate::tokens::{CodeExchange, RefreshRequest, exchange_code, refresh, verify_access_token};

const THREADS: usize = 32;

/// A store whose reads of one key prefix wait until every thread has read, so all redemptions
/// start from the same state and only the compare-and-swap decides the winner.
struct LockstepStore {
    inner: MemoryStore,
    prefix: &'static str,
    barrier: Barrier,
}

impl KeyValueStore for LockstepStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let value = self.inner.get(key);
        if key.starts_with(self.prefix) {
            self.barrier.wait();
        }
        value
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn compare_and_swap(&self, key: &str, expected: &[u8], new: &[u8]) -> Result<bool, StoreError> {
        self.inner.compare_and_swap(key, expected, new)
    }
}

/// Moves the fixture's data into a lockstep store.
fn lockstep(f: &Fixture, prefix: &'static str) -> Arc<LockstepStore> {
    let inner = MemoryStore::new();
    for (k, v) in f.store.snapshot() {
        inner.set(&k, &v).unwrap();
    }
    Arc::new(LockstepStore { inner, prefix, barrier: Barrier::new(THREADS) })
}

fn race(run: impl Fn() -> bool + Send + Sync + 'static) -> usize {
    let run = Arc::new(run);
    let winners = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (run, winners) = (run.clone(), winners.clone());
            std::thread::spawn(move || {
                if run() {
                    winners.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    winners.load(Ordering::SeqCst)
}

#[test]
fn of_32_concurrent_code_redemptions_exactly_one_succeeds() {
    let f = fixture();
    let code = f.code();
    let store = lockstep(&f, "oauth:code:");
    let client = f.client.client.clone();
    let clock = Arc::new(f.clock);
    let winners = race({
        let store = store.clone();
        move || redeems(&*store, &*clock, &client, &code)
    });
    assert_eq!(winners, 1);
    let live = store.inner.keys().iter().filter(|k| k.starts_with("oauth:access:")).count();
    assert_eq!(live, 1, "losers leave no tokens behind");
}

#[test]
fn of_32_concurrent_refreshes_of_one_token_exactly_one_succeeds() {
    let f = fixture();
    let tokens = f.tokens();
    let store = lockstep(&f, "oauth:grant:");
    let client = f.client.client.clone();
    let clock = Arc::new(f.clock);
    let issued = Arc::new(std::sync::Mutex::new(Vec::new()));
    let winners = race({
        let (store, clock, issued) = (store.clone(), clock.clone(), issued.clone());
        move || {
            let request = RefreshRequest { refresh_token: &tokens.refresh_token, scope: None, resource: None };
            match block_on(refresh(&*store, &*clock, &StaticDirectory, &client, &request)) {
                Ok(t) => {
                    issued.lock().unwrap().push(t.access_token);
                    true
                }
                Err(e) => {
                    assert_eq!(e.code(), "invalid_grant");
                    false
                }
            }
        }
    });
    assert_eq!(winners, 1);
    let issued = issued.lock().unwrap();
    assert!(verify_access_token(&store.inner, &*clock, &issued[0], "https://mcp.example.com/mcp").is_ok());
    // The original access token plus the winner's.
    assert_eq!(store.inner.keys().iter().filter(|k| k.starts_with("oauth:access:")).count(), 2);
}

#[test]
fn free_running_code_redemptions_have_exactly_one_winner() {
    let f = fixture();
    let code = f.code();
    let store = Arc::new(f.store);
    let client = f.client.client.clone();
    let clock = Arc::new(f.clock);
    let winners = race({
        let (store, clock) = (store.clone(), clock.clone());
        move || redeems(&*store, &*clock, &client, &code)
    });
    assert_eq!(winners, 1);
}

/// One attempt to redeem `code` with the fixture's PKCE verifier: true when it yields tokens.
fn redeems(store: &dyn KeyValueStore, clock: &dyn Clock, client: &ClientRecord, code: &str) -> bool {
    let request = CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(store, clock, client, &request).is_ok()
}
