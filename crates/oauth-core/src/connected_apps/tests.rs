use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

use futures::executor::block_on;
use platform::{Clock, KeyValueStore, ManualClock, MemoryStore, StoreError};

use super::*;
use crate::clients::Registration;
use crate::complete_authorization;
use crate::directory::StaticDirectory;
use crate::lifetimes::{REFRESH_TOKEN_TTL, USER_INDEX_ENTRY_TTL};
use crate::props::UserProps;
use crate::tests::refresh_default as refresh;
use crate::tests::{Fixture, REDIRECT, VERIFIER, code_from, fixture, rotation};
use crate::tokens::{CodeExchange, RefreshRequest, TokenResponse, exchange_code, verify_access_token};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const USER: &str = "user_1";

fn user(id: &str) -> UserProps {
    UserProps { user_id: id.into(), ..UserProps::default() }
}

/// `user` approves `client` and the client redeems the code: the token pair.
fn approve(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    f: &Fixture,
    client: &Registration,
    user: &str,
) -> TokenResponse {
    let mut validated = f.validated();
    validated.client_id = client.client.client_id.clone();
    let code = code_from(&complete_authorization(store, clock, &validated, self::user(user)).unwrap());
    let request =
        CodeExchange { code: &code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(store, clock, &crate::rules::scope::ScopePolicy::default(), &client.client, &request)
        .unwrap()
        .response
}

fn refresh_of(f: &Fixture, client: &Registration, token: &str) -> Result<TokenResponse, crate::tokens::GrantError> {
    let request = RefreshRequest { refresh_token: token, scope: None, resource: None };
    block_on(refresh(&f.store, &f.clock, &StaticDirectory, &rotation(), &client.client, &request))
        .map(|issued| issued.response)
}

fn listed(store: &dyn KeyValueStore, clock: &dyn Clock, user: &str) -> Vec<ConnectedApp> {
    let listing = list(store, clock, user).unwrap();
    assert!(!listing.truncated);
    listing.apps
}

fn grant_of(f: &Fixture, access_token: &str) -> String {
    verify_access_token(&f.store, &f.clock, access_token, RESOURCE).unwrap().grant_id
}

fn index_keys(store: &MemoryStore) -> Vec<String> {
    store.keys().into_iter().filter(|k| k.starts_with("oauth:user-slot:")).collect()
}

#[test]
fn a_grant_is_listed_once_its_tokens_are_issued_with_what_the_page_shows() {
    let f = fixture();
    let code = f.code();
    assert!(listed(&f.store, &f.clock, USER).is_empty(), "a grant without tokens is not an app yet");
    let tokens = f.exchange(&code).unwrap();
    let apps = listed(&f.store, &f.clock, USER);
    assert_eq!(apps.len(), 1);
    let app = &apps[0];
    assert_eq!(app.grant_id, grant_of(&f, &tokens.access_token));
    assert_eq!((app.client_id.as_str(), app.client_name.as_deref()), (f.client_id().as_str(), Some("Test client")));
    assert_eq!(app.redirect_uri.as_deref(), Some(REDIRECT));
    assert_eq!(app.redirect_host().as_deref(), Some("127.0.0.1"));
    assert!(app.redirect_is_loopback() && app.client_registered);
    assert_eq!((app.approved_at, app.refreshed_at), (f.clock.now_unix(), None));
    assert_eq!(app.scope, ["mcp:basic", "mcp:images"]);
    assert_eq!(app.verified_host(), None, "a registered client id is no URL");
}

#[test]
fn a_refresh_is_recorded_as_the_last_refresh() {
    let f = fixture();
    let tokens = f.tokens();
    f.clock.advance(120);
    refresh_of(&f, &f.client, &tokens.refresh_token).unwrap();
    let apps = listed(&f.store, &f.clock, USER);
    assert_eq!(apps[0].refreshed_at, Some(f.clock.now_unix()));
    assert_eq!(apps[0].approved_at, f.clock.now_unix() - 120);
}

#[test]
fn each_user_sees_only_their_own_grants() {
    let f = fixture();
    let other_client = f.another_client();
    approve(&f.store, &f.clock, &f, &f.client, "user_a");
    approve(&f.store, &f.clock, &f, &other_client, "user_a");
    approve(&f.store, &f.clock, &f, &other_client, "user_b");
    let names = |user| -> BTreeSet<Option<String>> {
        listed(&f.store, &f.clock, user).into_iter().map(|a| a.client_name).collect()
    };
    assert_eq!(names("user_a"), BTreeSet::from([Some("Test client".into()), Some("Other client".into())]));
    assert_eq!(names("user_b"), BTreeSet::from([Some("Other client".into())]));
    assert!(listed(&f.store, &f.clock, "user_c").is_empty());
    assert!(listed(&f.store, &f.clock, "").is_empty());
}

#[test]
fn revoking_ends_the_grant_at_once_and_only_that_one() {
    let f = fixture();
    let other_client = f.another_client();
    let first = approve(&f.store, &f.clock, &f, &f.client, USER);
    let second = approve(&f.store, &f.clock, &f, &other_client, USER);
    let revoked = revoke_for_user(&f.store, &f.clock, USER, &grant_of(&f, &first.access_token)).unwrap();
    assert_eq!(revoked.client_id, f.client_id());
    assert_eq!(revoked.redirect_uris, [REDIRECT, REDIRECT], "the approved one, then the registered ones");

    assert!(verify_access_token(&f.store, &f.clock, &first.access_token, RESOURCE).is_err());
    assert_eq!(refresh_of(&f, &f.client, &first.refresh_token).unwrap_err().code(), "invalid_grant");
    assert!(verify_access_token(&f.store, &f.clock, &second.access_token, RESOURCE).is_ok());
    let apps = listed(&f.store, &f.clock, USER);
    assert_eq!(apps.iter().map(|a| a.client_name.as_deref()).collect::<Vec<_>>(), [Some("Other client")]);
    assert_eq!(index_keys(&f.store).len(), 1, "the listing deleted the revoked grant's entry");
    assert!(refresh_of(&f, &other_client, &second.refresh_token).is_ok());
}

#[test]
fn another_users_grant_or_an_unknown_one_is_not_found_and_nothing_changes() {
    let f = fixture();
    let tokens = approve(&f.store, &f.clock, &f, &f.client, "user_a");
    let grant_id = grant_of(&f, &tokens.access_token);
    let before = f.store.snapshot();
    for (user, grant) in
        [("user_b", grant_id.as_str()), ("", grant_id.as_str()), ("user_a", "unknown"), ("user_a", "../x")]
    {
        assert!(
            matches!(revoke_for_user(&f.store, &f.clock, user, grant), Err(RevokeAppError::NotFound)),
            "{user} {grant}"
        );
    }
    assert_eq!(f.store.snapshot(), before);
    assert!(verify_access_token(&f.store, &f.clock, &tokens.access_token, RESOURCE).is_ok());
}

#[test]
fn revoking_twice_writes_nothing_the_second_time() {
    let f = fixture();
    let tokens = f.tokens();
    let grant_id = grant_of(&f, &tokens.access_token);
    revoke_for_user(&f.store, &f.clock, USER, &grant_id).unwrap();
    let before = f.store.snapshot();
    f.clock.advance(5);
    revoke_for_user(&f.store, &f.clock, USER, &grant_id).unwrap();
    assert_eq!(f.store.snapshot(), before);
}

#[test]
fn a_long_lived_grant_is_relisted_before_its_entry_expires_and_shown_once() {
    let f = fixture();
    let mut tokens = f.tokens();
    let first_entry = index_keys(&f.store);
    // Refreshed every 10 days for 100 days: the grant outlives many entry lifetimes.
    for _ in 0..10 {
        f.clock.advance(10 * 24 * 3600);
        tokens = refresh_of(&f, &f.client, &tokens.refresh_token).unwrap();
        assert_eq!(listed(&f.store, &f.clock, USER).len(), 1);
    }
    let entries = index_keys(&f.store);
    assert_eq!(entries.len(), 1, "superseded entries are deleted when listed: {entries:?}");
    assert_ne!(entries, first_entry);
    // Left alone for the refresh token's whole life, the grant expires before its entry does.
    f.clock.advance(REFRESH_TOKEN_TTL);
    assert!(listed(&f.store, &f.clock, USER).is_empty());
    assert!(index_keys(&f.store).is_empty(), "an entry whose grant is gone is deleted");
}

#[test]
fn an_entry_always_outlives_its_grant_by_the_renewal_margin() {
    let f = fixture();
    let mut tokens = f.tokens();
    let grant_id = grant_of(&f, &tokens.access_token);
    for day in 0..60 {
        f.clock.advance(24 * 3600);
        tokens = refresh_of(&f, &f.client, &tokens.refresh_token).unwrap();
        let grant = crate::grants::load(&f.store, &f.clock, &grant_id).unwrap().unwrap();
        let entry = grant.index_entry.unwrap();
        assert!(entry.expires_at >= grant.expires_at + crate::lifetimes::USER_INDEX_RENEW_MARGIN, "day {day}");
        let key = crate::keys::user_index_entry(USER, entry.period, entry.number);
        assert!(f.store.exists(&key).unwrap(), "day {day}: the grant's entry exists");
    }
}

#[test]
fn a_listing_reads_at_most_its_budget_and_says_so() {
    let f = fixture();
    for _ in 0..5 {
        f.tokens();
    }
    let scan = index::scan(&f.store, &f.clock, index::Owner::User(USER), 3).unwrap();
    assert_eq!((scan.grants.len(), scan.truncated), (3, true));
    let scan = index::scan(&f.store, &f.clock, index::Owner::User(USER), 5).unwrap();
    assert_eq!((scan.grants.len(), scan.truncated), (5, false));
}

#[test]
fn a_listing_creates_no_counter_for_a_period_without_entries() {
    let f = fixture();
    let before = f.store.snapshot();
    assert!(listed(&f.store, &f.clock, USER).is_empty());
    assert_eq!(f.store.snapshot(), before, "reading an empty index writes nothing");
}

#[test]
fn expired_entries_and_their_period_counters_are_swept() {
    let f = fixture();
    f.tokens();
    f.clock.advance(USER_INDEX_ENTRY_TTL + crate::lifetimes::USER_INDEX_PERIOD + 2 * 24 * 3600);
    platform::housekeeping::sweep_all(&f.store, &f.clock).unwrap();
    let left: Vec<String> = f.store.keys().into_iter().filter(|k| k.starts_with("oauth:user-")).collect();
    assert!(left.is_empty(), "{left:?}");
}

/// A store that holds the first [`THREADS`] index-entry numberings (increments of a period's
/// `#seq` counter) and marker writes until all of them are waiting, so the creations and
/// revocations of a round all land at once.
struct Lockstep {
    inner: MemoryStore,
    barrier: Barrier,
    held: AtomicUsize,
}

const THREADS: usize = 32;

impl Lockstep {
    fn hold(&self) {
        if self.held.fetch_add(1, Ordering::SeqCst) < THREADS {
            self.barrier.wait();
        }
    }
}

impl KeyValueStore for Lockstep {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        if key.starts_with("oauth:revoked:") {
            self.hold();
        }
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        if key.starts_with("oauth:user-index:") && key.ends_with("#seq") && delta == 1 {
            self.hold();
        }
        self.inner.increment(key, delta)
    }
}

/// Half of 32 threads approve new clients for one user while the other half revoke that
/// user's earlier grants (and, in every other round, a listing runs in the middle): the index
/// then lists exactly the new grants, none lost and none revoked.
#[test]
fn concurrent_grant_creation_and_revocation_lose_no_entry() {
    for round in 0..12 {
        let f = fixture();
        let clients: Vec<Registration> = (0..THREADS / 2).map(|_| f.another_client()).collect();
        let earlier: Vec<String> = (0..THREADS / 2)
            .map(|i| grant_of(&f, &approve(&f.store, &f.clock, &f, &clients[i], USER).access_token))
            .collect();
        let store =
            Arc::new(Lockstep { inner: MemoryStore::new(), barrier: Barrier::new(THREADS), held: AtomicUsize::new(0) });
        for (k, v) in f.store.snapshot() {
            store.inner.set(&k, &v).unwrap();
        }
        let clock = Arc::new(ManualClock::at(f.clock.now_unix()));
        let f = Arc::new(f);
        let threads: Vec<_> = (0..THREADS)
            .map(|i| {
                let (store, clock, f, client, earlier) =
                    (store.clone(), clock.clone(), f.clone(), clients[i % clients.len()].clone(), earlier.clone());
                std::thread::spawn(move || {
                    if i < THREADS / 2 {
                        let tokens = approve(&*store, &*clock, &f, &client, USER);
                        Some(verify_access_token(&*store, &*clock, &tokens.access_token, RESOURCE).unwrap().grant_id)
                    } else {
                        if round % 2 == 1 && i == THREADS - 1 {
                            list(&*store, &*clock, USER).unwrap();
                        }
                        revoke_for_user(&*store, &*clock, USER, &earlier[i - THREADS / 2]).unwrap();
                        None
                    }
                })
            })
            .collect();
        let created: BTreeSet<String> = threads.into_iter().filter_map(|t| t.join().unwrap()).collect();
        assert_eq!(created.len(), THREADS / 2);
        let shown: BTreeSet<String> = listed(&*store, &*clock, USER).into_iter().map(|a| a.grant_id).collect();
        assert_eq!(shown, created, "round {round}: exactly the new grants");
        assert_eq!(index_keys(&store.inner).len(), THREADS / 2, "round {round}: revoked entries deleted");
    }
}

#[test]
fn a_document_client_is_listed_with_its_cached_name_and_verified_host_without_a_fetch() {
    let f = fixture();
    let url = "https://claude.ai/oauth/claude-code-client-metadata";
    let mut metadata = f.client.client.metadata.clone();
    metadata.client_name = Some("Claude Code".into());
    let document = crate::cimd::cache::entry(url, metadata, f.clock.now_unix(), None);
    crate::cimd::cache::save(&f.store, &document).unwrap();
    let mut validated = f.validated();
    validated.client_id = url.into();
    let code = code_from(&complete_authorization(&f.store, &f.clock, &validated, user(USER)).unwrap());
    let request =
        CodeExchange { code: &code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(&f.store, &f.clock, &crate::rules::scope::ScopePolicy::default(), &document.client(), &request)
        .unwrap();

    let app = listed(&f.store, &f.clock, USER).remove(0);
    assert_eq!((app.client_id.as_str(), app.client_name.as_deref()), (url, Some("Claude Code")));
    assert_eq!(app.verified_host().as_deref(), Some("claude.ai"));
    assert!(app.client_registered);

    f.clock.advance(crate::cimd::cache::MAX_CACHE_SECS + 1);
    let app = listed(&f.store, &f.clock, USER).remove(0);
    assert_eq!(app.client_name, None, "the cache expired: no name, and no fetch to get one");
    assert!(app.client_registered, "a document client is fetched again when it is next used");
}

#[test]
fn a_grant_lists_the_scopes_its_tokens_carry_and_a_grant_of_an_earlier_release_every_scope() {
    let f = fixture();
    let code = f.code_for(&[], crate::props::UserProps { role: Some("member".into()), ..crate::tests::props() });
    f.exchange(&code).unwrap();
    let apps = listed(&f.store, &f.clock, USER);
    assert_eq!(apps[0].scope, ["mcp:basic"], "approved everything; a member's tokens carry the basic scope");
    let mut grant = crate::grants::load(&f.store, &f.clock, &apps[0].grant_id).unwrap().unwrap();
    grant.scope = vec!["mcp".into()];
    grant.token_scope = None;
    crate::grants::commit(&f.store, &grant).unwrap();
    assert_eq!(listed(&f.store, &f.clock, USER)[0].scope, ["mcp:basic", "mcp:images"]);
}

#[test]
fn revoking_several_of_a_users_grants_checks_them_all_first() {
    let f = fixture();
    let a = approve(&f.store, &f.clock, &f, &f.client, USER);
    let b = approve(&f.store, &f.clock, &f, &f.client, USER);
    let other = approve(&f.store, &f.clock, &f, &f.client, "user_2");
    let (ga, gb, go) =
        (grant_of(&f, &a.access_token), grant_of(&f, &b.access_token), grant_of(&f, &other.access_token));
    let before = f.store.snapshot();
    assert!(matches!(revoke_all_for_user(&f.store, &f.clock, USER, &[&ga, &go]), Err(RevokeAppError::NotFound)));
    assert!(matches!(revoke_all_for_user(&f.store, &f.clock, USER, &[]), Err(RevokeAppError::NotFound)));
    assert_eq!(f.store.snapshot(), before, "another user's grant among them: nothing written");
    assert_eq!(revoke_all_for_user(&f.store, &f.clock, USER, &[&ga, &gb]).unwrap().len(), 2);
    assert!(listed(&f.store, &f.clock, USER).is_empty());
    assert_eq!(listed(&f.store, &f.clock, "user_2").len(), 1);
}
