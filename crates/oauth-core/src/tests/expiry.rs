//! What the sweep (`platform::housekeeping`) makes of oauth-core's records: every record is
//! registered in the expiry index when it is saved, and goes once it has expired, with its
//! claim counter, whether or not a request ever reads it again.

use super::fixture;
use crate::keys;
use crate::lifetimes::ACCESS_TOKEN_TTL;
use platform::KeyValueStore;
use platform::housekeeping::sweep_all;

#[test]
fn expired_codes_pending_grants_and_access_tokens_go_with_their_claims_and_live_records_stay() {
    let f = fixture();
    let unredeemed = f.code();
    let tokens = f.tokens();
    f.store.set("other:namespace", b"kept").unwrap();
    f.clock.advance(ACCESS_TOKEN_TTL + 120);
    // Both codes (the redeemed one with its claim counter, and the unredeemed one), the pending
    // grant (with the user's profile) of the unredeemed code, and the access token.
    assert_eq!(sweep_all(&f.store, &f.clock).unwrap(), 4);
    let grants = f.store.keys().into_iter().filter(|k| k.starts_with("oauth:grant:")).count();
    assert_eq!(grants, 1, "the active grant stays");
    assert!(!f.store.exists(&keys::code(&unredeemed)).unwrap());
    assert!(f.store.keys().iter().all(|k| !k.starts_with("oauth:code:")), "{:?}", f.store.keys());
    assert!(!f.store.exists(&keys::access_token(&tokens.access_token)).unwrap());
    assert!(f.store.exists(&keys::refresh_token(&tokens.refresh_token)).unwrap(), "30 days");
    assert!(f.store.exists(&keys::client(&f.client_id()).unwrap()).unwrap());
    assert_eq!(f.store.get("other:namespace").unwrap().unwrap(), b"kept");
}

#[test]
fn unparsable_records_are_left_alone() {
    let f = fixture();
    f.store.set(&keys::code("odd"), b"{not json").unwrap();
    f.clock.advance(10 * 365 * 24 * 3600);
    sweep_all(&f.store, &f.clock).unwrap();
    assert!(f.store.exists(&keys::code("odd")).unwrap());
}

#[test]
fn after_every_lifetime_only_the_index_cursor_is_left() {
    let f = fixture();
    f.code();
    let tokens = f.tokens();
    crate::tokens::revoke_token(&f.store, &f.clock, &f.client.client, &tokens.refresh_token, None).unwrap();
    f.clock.advance(100 * 24 * 3600);
    sweep_all(&f.store, &f.clock).unwrap();
    assert_eq!(f.store.keys(), ["expiry:cursor"]);
}
