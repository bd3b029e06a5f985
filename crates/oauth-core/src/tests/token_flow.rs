use futures::executor::block_on;

use super::*;
use crate::directory::{DirectoryError, Refreshing, StaticDirectory, UserDirectory};
use crate::lifetimes::{ACCESS_TOKEN_TTL, REFRESH_TOKEN_TTL};
use crate::tests::refresh_default as refresh;
use crate::tokens::{
    CodeExchange, GrantError, RefreshRequest, TokenError, TokenTypeHint, exchange_code, revoke_token,
    verify_access_token,
};
use crate::{UserProps, grants};

const RESOURCE: &str = "https://mcp.example.com/mcp";
const GRACE: u64 = crate::tokens::Rotation::DEFAULT_GRACE_SECS;

fn verify(f: &Fixture, token: &str) -> Result<crate::AccessTokenRecord, TokenError> {
    verify_access_token(&f.store, &f.clock, token, RESOURCE)
}

fn refresh_with(
    f: &Fixture,
    directory: &impl UserDirectory,
    token: &str,
    scope: Option<&str>,
) -> Result<TokenResponse, GrantError> {
    block_on(refresh(
        &f.store,
        &f.clock,
        directory,
        &rotation(),
        &f.client.client,
        &RefreshRequest { refresh_token: token, scope, resource: None },
    ))
    .map(|issued| issued.response)
}

fn refresh_token(f: &Fixture, token: &str) -> Result<TokenResponse, GrantError> {
    refresh_with(f, &StaticDirectory, token, None)
}

fn exchange_with(f: &Fixture, code: &str, change: impl FnOnce(&mut CodeExchange)) -> Result<TokenResponse, GrantError> {
    let mut request =
        CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    change(&mut request);
    exchange_code(&f.store, &f.clock, &crate::rules::scope::ScopePolicy::default(), &f.client.client, &request)
        .map(|issued| issued.response)
}

#[test]
fn code_exchange_issues_a_bearer_pair_bound_to_the_resource() {
    let f = fixture();
    let tokens = f.tokens();
    assert_eq!(
        (tokens.token_type, tokens.expires_in, tokens.scope.as_str()),
        ("Bearer", ACCESS_TOKEN_TTL, "mcp:basic mcp:images")
    );
    assert_eq!((tokens.access_token.len(), tokens.refresh_token.len()), (43, 43));
    let record = verify(&f, &tokens.access_token).unwrap();
    assert_eq!(record.client_id, f.client_id());
    assert_eq!(record.props, props());
    assert!(record.has_scope("mcp:basic") && record.has_scope("mcp:images"));
    assert_eq!(record.resource, RESOURCE);
}

#[test]
fn tokens_are_stored_only_as_hashes() {
    let f = fixture();
    let tokens = f.tokens();
    for (key, value) in f.store.snapshot() {
        let value = String::from_utf8_lossy(&value);
        for secret in [&tokens.access_token, &tokens.refresh_token] {
            assert!(!key.contains(secret.as_str()) && !value.contains(secret.as_str()));
        }
    }
}

#[test]
fn refused_code_exchanges_change_nothing() {
    let f = fixture();
    let code = f.code();
    let before = f.store.snapshot();
    let cases: Vec<(Result<TokenResponse, GrantError>, &str)> = vec![
        (
            exchange_with(&f, &code, |r| r.code_verifier = Some("wrong-verifier-wrong-verifier-wrong-verifier-x")),
            "invalid_grant",
        ),
        (exchange_with(&f, &code, |r| r.code_verifier = None), "invalid_request"),
        (exchange_with(&f, &code, |r| r.redirect_uri = Some("http://127.0.0.1:4001/callback")), "invalid_grant"),
        (exchange_with(&f, &code, |r| r.redirect_uri = None), "invalid_request"),
        (exchange_with(&f, &code, |r| r.resource = Some("https://other.example/mcp")), "invalid_target"),
        (exchange_with(&f, "not-a-code", |_| {}), "invalid_grant"),
    ];
    for (result, expected) in cases {
        assert_eq!(result.unwrap_err().code(), expected);
    }
    assert_eq!(f.store.snapshot(), before);
    assert!(f.exchange(&code).is_ok(), "the code still works after refused attempts");
}

#[test]
fn a_code_of_another_client_is_invalid_grant() {
    let f = fixture();
    let code = f.code();
    let other = f.another_client();
    let request =
        CodeExchange { code: &code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    assert_eq!(
        exchange_code(&f.store, &f.clock, &crate::rules::scope::ScopePolicy::default(), &other.client, &request)
            .unwrap_err()
            .code(),
        "invalid_grant"
    );
}

#[test]
fn a_reused_code_revokes_the_tokens_issued_from_it() {
    let f = fixture();
    let code = f.code();
    let tokens = f.exchange(&code).unwrap();
    assert_eq!(f.exchange(&code).unwrap_err().code(), "invalid_grant");
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn access_tokens_expire_after_an_hour_and_are_deleted() {
    let f = fixture();
    let tokens = f.tokens();
    f.clock.advance(ACCESS_TOKEN_TTL - 1);
    assert!(verify(&f, &tokens.access_token).is_ok());
    f.clock.advance(1);
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Expired)));
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Invalid)), "deleted when met");
}

#[test]
fn a_token_for_another_resource_is_refused() {
    let f = fixture();
    let tokens = f.tokens();
    let err = verify_access_token(&f.store, &f.clock, &tokens.access_token, "https://other.example/mcp").unwrap_err();
    assert!(matches!(err, TokenError::WrongResource));
    assert!(verify_access_token(&f.store, &f.clock, &tokens.access_token, "https://mcp.example.com/mcp/").is_ok());
}

#[test]
fn garbage_tokens_are_invalid_without_panicking() {
    let f = fixture();
    for token in ["", "x", &"y".repeat(10_000)] {
        assert!(matches!(verify(&f, token), Err(TokenError::Invalid)));
    }
}

#[test]
fn refresh_rotates_and_the_new_pair_works() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert!(verify(&f, &second.access_token).is_ok());
    assert!(refresh_token(&f, &second.refresh_token).is_ok());
}

#[test]
fn a_refresh_deletes_the_records_of_expired_access_tokens() {
    use platform::KeyValueStore;
    let f = fixture();
    let first = f.tokens();
    let expired_key = crate::keys::access_token(&first.access_token);
    f.clock.advance(ACCESS_TOKEN_TTL + 1);
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    assert!(!f.store.exists(&expired_key).unwrap(), "the expired access token's record is gone");
    assert!(f.store.exists(&crate::keys::access_token(&second.access_token)).unwrap());
    let third = refresh_token(&f, &second.refresh_token).unwrap();
    assert!(verify(&f, &second.access_token).is_ok(), "a live access token survives the next refresh");
    assert!(verify(&f, &third.access_token).is_ok());
}

#[test]
fn a_retry_within_the_grace_window_gets_the_same_pair_and_nothing_new_is_minted() {
    let f = fixture();
    let first = f.tokens();
    let lost = refresh_token(&f, &first.refresh_token).unwrap();
    let keys_after_rotation = f.store.keys().len();
    f.clock.advance(GRACE - 1);
    // The response was lost; the client retries with the same token and gets the same pair.
    let retry = refresh_token(&f, &first.refresh_token).unwrap();
    assert_eq!((&retry.access_token, &retry.refresh_token), (&lost.access_token, &lost.refresh_token));
    assert_eq!(retry.expires_in, ACCESS_TOKEN_TTL - (GRACE - 1), "the same token, with its remaining life");
    assert_eq!(f.store.keys().len(), keys_after_rotation, "nothing new was minted");
    assert!(verify(&f, &lost.access_token).is_ok());
    assert!(refresh_token(&f, &lost.refresh_token).is_ok(), "the pair is the grant's live one");
}

#[test]
fn a_rotated_refresh_token_after_the_grace_window_revokes_the_grant() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    let third = refresh_token(&f, &second.refresh_token).unwrap();
    f.clock.advance(GRACE);
    assert_eq!(refresh_token(&f, &first.refresh_token).unwrap_err().code(), "invalid_grant");
    for access in [&first.access_token, &second.access_token, &third.access_token] {
        assert!(matches!(verify(&f, access), Err(TokenError::Invalid)));
    }
    assert_eq!(refresh_token(&f, &third.refresh_token).unwrap_err().code(), "invalid_grant");
    assert_eq!(refresh_token(&f, &second.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn without_a_grace_window_any_second_presentation_revokes_the_grant() {
    let f = fixture();
    let first = f.tokens();
    let strict = crate::tokens::Rotation { grace_secs: 0, ..rotation() };
    let refresh_strictly = |token: &str| {
        let request = RefreshRequest { refresh_token: token, scope: None, resource: None };
        block_on(refresh(&f.store, &f.clock, &StaticDirectory, &strict, &f.client.client, &request))
            .map(|issued| issued.response)
    };
    let second = refresh_strictly(&first.refresh_token).unwrap();
    assert_eq!(refresh_strictly(&first.refresh_token).unwrap_err().code(), "invalid_grant");
    assert!(matches!(verify(&f, &second.access_token), Err(TokenError::Invalid)));
}

#[test]
fn a_rotated_refresh_token_presented_after_its_successor_was_used_revokes_the_grant_within_the_window() {
    let f = fixture();
    let r0 = f.tokens();
    let r1 = refresh_token(&f, &r0.refresh_token).unwrap();
    let r2 = refresh_token(&f, &r1.refresh_token).unwrap();
    let error = refresh_token(&f, &r0.refresh_token).unwrap_err();
    assert!(matches!(error, GrantError::RefreshReplayed { .. }), "{error}");
    assert_eq!(error.code(), "invalid_grant");
    for access in [&r1.access_token, &r2.access_token] {
        assert!(matches!(verify(&f, access), Err(TokenError::Invalid)), "the grant is revoked");
    }
    assert_eq!(refresh_token(&f, &r2.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn a_rotated_refresh_token_is_answered_again_while_its_successor_is_unused() {
    let f = fixture();
    let r0 = f.tokens();
    let r1 = refresh_token(&f, &r0.refresh_token).unwrap();
    // The successor was presented, but refused before it was used (Clerk was down).
    let down = refresh_with(&f, &Unavailable, &r1.refresh_token, None).unwrap_err();
    assert_eq!(down.code(), "temporarily_unavailable");
    let again = refresh_token(&f, &r0.refresh_token).unwrap();
    assert_eq!(again.refresh_token, r1.refresh_token);
    assert!(verify(&f, &r1.access_token).is_ok());
}

/// A directory that cannot answer.
struct Unavailable;
impl UserDirectory for Unavailable {
    fn refresh_props<'a>(&'a self, _: &'a UserProps) -> Refreshing<'a> {
        Box::pin(std::future::ready(Err(DirectoryError::Unavailable("down".into()))))
    }
}

/// A store whose grant writes fail, as a store that fails in the middle of a rotation.
struct GrantWritesFail<'a>(&'a MemoryStore);

impl platform::KeyValueStore for GrantWritesFail<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, platform::StoreError> {
        self.0.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), platform::StoreError> {
        if key.starts_with("oauth:grant:") {
            return Err(platform::StoreError::Backend("the store went away".into()));
        }
        self.0.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), platform::StoreError> {
        self.0.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, platform::StoreError> {
        self.0.increment(key, delta)
    }
}

#[test]
fn a_rotation_whose_grant_commit_fails_keeps_no_answer_and_leaves_no_live_token_behind() {
    use platform::KeyValueStore;
    let f = fixture();
    let r0 = f.tokens();
    let tokens_before: Vec<String> = f
        .store
        .keys()
        .into_iter()
        .filter(|k| k.starts_with("oauth:access:") || k.starts_with("oauth:refresh:"))
        .collect();
    let failing = GrantWritesFail(&f.store);
    let request = RefreshRequest { refresh_token: &r0.refresh_token, scope: None, resource: None };
    let error =
        block_on(refresh(&failing, &f.clock, &StaticDirectory, &rotation(), &f.client.client, &request)).unwrap_err();
    assert_eq!(error.code(), "temporarily_unavailable");
    assert!(!f.store.exists(&crate::keys::rotation(&r0.refresh_token)).unwrap(), "no answer to hand out again");
    let mut tokens_after: Vec<String> = f
        .store
        .keys()
        .into_iter()
        .filter(|k| (k.starts_with("oauth:access:") || k.starts_with("oauth:refresh:")) && !k.contains('#'))
        .collect();
    tokens_after.sort();
    let mut expected: Vec<String> = tokens_before.into_iter().filter(|k| !k.contains('#')).collect();
    expected.sort();
    assert_eq!(tokens_after, expected, "the minted pair, which the grant does not list, was deleted");
    let impatient = crate::tokens::Rotation { sleep: &NoWait, ..rotation() };
    let retry = block_on(refresh(&f.store, &f.clock, &StaticDirectory, &impatient, &f.client.client, &request));
    assert_eq!(retry.unwrap_err().code(), "temporarily_unavailable", "a retry gets no pair the grant does not list");
}

/// A store whose first read of one key returns what was there before: a request that read a
/// refresh token just before a concurrent rotation of it.
struct StaleFirstRead<'a> {
    inner: &'a MemoryStore,
    key: String,
    stale: std::sync::Mutex<Option<Vec<u8>>>,
}

impl platform::KeyValueStore for StaleFirstRead<'_> {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, platform::StoreError> {
        if key == self.key
            && let Some(stale) = self.stale.lock().unwrap().take()
        {
            return Ok(Some(stale));
        }
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), platform::StoreError> {
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), platform::StoreError> {
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, platform::StoreError> {
        self.inner.increment(key, delta)
    }
}

#[test]
fn a_racer_that_finds_the_grant_at_its_refresh_limit_gets_the_rotation_it_raced_not_a_429() {
    use platform::KeyValueStore;
    let f = fixture();
    let r0 = f.tokens();
    let key = crate::keys::refresh_token(&r0.refresh_token);
    let before_rotation = f.store.get(&key).unwrap();
    let one_a_hour = crate::tokens::Rotation { per_grant: platform::rate_limit::REFRESHES.with_max(1), ..rotation() };
    let request = RefreshRequest { refresh_token: &r0.refresh_token, scope: None, resource: None };
    let winner = block_on(refresh(&f.store, &f.clock, &StaticDirectory, &one_a_hour, &f.client.client, &request));
    let winner = winner.unwrap().response;
    let racer_store = StaleFirstRead { inner: &f.store, key, stale: std::sync::Mutex::new(before_rotation) };
    let racer = block_on(refresh(&racer_store, &f.clock, &StaticDirectory, &one_a_hour, &f.client.client, &request));
    assert_eq!(racer.unwrap().response.refresh_token, winner.refresh_token, "the limit is for rotations");
    let next = RefreshRequest { refresh_token: &winner.refresh_token, scope: None, resource: None };
    let refused = block_on(refresh(&f.store, &f.clock, &StaticDirectory, &one_a_hour, &f.client.client, &next));
    assert_eq!(crate::endpoints::grant_error::status(&refused.unwrap_err()), 429, "the next rotation is refused");
}

#[test]
fn a_replay_within_the_grace_window_of_a_revoked_grant_is_refused() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    revoke_token(&f.store, &f.clock, &f.client.client, &second.refresh_token, None).unwrap();
    assert_eq!(refresh_token(&f, &first.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn the_kept_answer_is_sealed_with_the_presented_token() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    for (key, value) in f.store.snapshot() {
        let value = String::from_utf8_lossy(&value);
        for secret in [&first.refresh_token, &second.access_token, &second.refresh_token] {
            assert!(!key.contains(secret.as_str()) && !value.contains(secret.as_str()), "{key}");
        }
    }
    assert!(platform::KeyValueStore::exists(&f.store, &crate::keys::rotation(&first.refresh_token)).unwrap());
}

#[test]
fn refresh_tokens_expire_after_30_days() {
    let f = fixture();
    let tokens = f.tokens();
    f.clock.advance(REFRESH_TOKEN_TTL);
    assert_eq!(refresh_token(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn refresh_scope_may_narrow_but_not_widen() {
    let f = fixture();
    let tokens = f.tokens();
    let before = f.store.snapshot();
    for unknown in ["mcp admin", "mcp:basic mcp:admin"] {
        let err = refresh_with(&f, &StaticDirectory, &tokens.refresh_token, Some(unknown)).unwrap_err();
        assert_eq!(err.code(), "invalid_scope", "{unknown}");
        assert_eq!(f.store.snapshot(), before, "a refused refresh changes nothing");
    }
    let narrowed = refresh_with(&f, &StaticDirectory, &tokens.refresh_token, Some("mcp:basic")).unwrap();
    assert_eq!(narrowed.scope, "mcp:basic");
    let record = verify(&f, &narrowed.access_token).unwrap();
    assert!(record.has_scope("mcp:basic") && !record.has_scope("mcp:images"));
}

#[test]
fn a_refresh_never_widens_past_what_was_approved() {
    let f = fixture();
    let tokens = f.tokens_for_scope("mcp:basic");
    assert_eq!(tokens.scope, "mcp:basic");
    let before = f.store.snapshot();
    let err = refresh_with(&f, &StaticDirectory, &tokens.refresh_token, Some("mcp:basic mcp:images")).unwrap_err();
    assert_eq!((err.code(), crate::endpoints::grant_error::status(&err).as_u16()), ("invalid_scope", 400));
    assert!(err.to_string().contains("mcp:images"), "{err}");
    assert_eq!(f.store.snapshot(), before, "a refused refresh changes nothing");
    let again = refresh_with(&f, &StaticDirectory, &tokens.refresh_token, Some("mcp")).unwrap();
    assert_eq!(again.scope, "mcp:basic", "`mcp` asks for the whole grant, which is the basic scope");
}

#[test]
fn the_image_scope_is_left_out_for_a_role_that_may_not_hold_it() {
    let f = fixture();
    let code = f.code_for(&[], UserProps { role: Some("member".into()), ..props() });
    let tokens = f.exchange(&code).unwrap();
    assert_eq!(tokens.scope, "mcp:basic", "asked for everything; granted what a member may hold");
    assert!(!verify(&f, &tokens.access_token).unwrap().has_scope("mcp:images"));
}

#[test]
fn a_refresh_grants_what_the_reread_role_may_hold_within_the_approval() {
    let f = fixture();
    let tokens = f.tokens();
    assert_eq!(tokens.scope, "mcp:basic mcp:images");
    let demoted = refresh_with(&f, &RoleChanged, &tokens.refresh_token, None).unwrap();
    assert_eq!(demoted.scope, "mcp:basic", "a member may not hold the image scope");
    let promoted = refresh_with(&f, &Promoted, &demoted.refresh_token, None).unwrap();
    assert_eq!(promoted.scope, "mcp:basic mcp:images", "an admin again, within what was approved");
}

#[test]
fn a_refresh_left_with_no_scope_the_role_may_hold_is_invalid_scope_and_keeps_the_token() {
    let f = fixture();
    let tokens = f.tokens_for_scope("mcp:images");
    let before = f.store.snapshot();
    let err = refresh_with(&f, &RoleChanged, &tokens.refresh_token, None).unwrap_err();
    assert_eq!(err.code(), "invalid_scope");
    assert_eq!(f.store.snapshot(), before, "the refresh token stays unused");
    assert!(refresh_with(&f, &StaticDirectory, &tokens.refresh_token, None).is_ok());
}

#[test]
fn grants_and_tokens_of_an_earlier_release_carrying_mcp_hold_every_scope() {
    let f = fixture();
    let mut validated = f.validated();
    validated.scope = vec!["mcp".into()];
    let location = crate::authorize::complete_authorization(&f.store, &f.clock, &validated, props()).unwrap();
    let tokens = f.exchange(&super::code_from(&location)).unwrap();
    assert_eq!(tokens.scope, "mcp:basic mcp:images");
    let narrowed = refresh_with(&f, &StaticDirectory, &tokens.refresh_token, Some("mcp:images")).unwrap();
    assert_eq!(narrowed.scope, "mcp:images");
    let old_token =
        crate::records::AccessTokenRecord { scope: vec!["mcp".into()], ..verify(&f, &narrowed.access_token).unwrap() };
    assert!(old_token.has_scope("mcp:basic") && old_token.has_scope("mcp:images"));
}

#[test]
fn refresh_with_a_foreign_resource_is_invalid_target() {
    let f = fixture();
    let tokens = f.tokens();
    let request = RefreshRequest {
        refresh_token: &tokens.refresh_token,
        scope: None,
        resource: Some("https://other.example/mcp"),
    };
    let err =
        block_on(refresh(&f.store, &f.clock, &StaticDirectory, &rotation(), &f.client.client, &request)).unwrap_err();
    assert_eq!(err.code(), "invalid_target");
}

#[test]
fn a_refresh_token_of_another_client_is_refused_without_revoking() {
    let f = fixture();
    let tokens = f.tokens();
    let other = f.another_client();
    let request = RefreshRequest { refresh_token: &tokens.refresh_token, scope: None, resource: None };
    let err =
        block_on(refresh(&f.store, &f.clock, &StaticDirectory, &rotation(), &other.client, &request)).unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
    assert!(refresh_token(&f, &tokens.refresh_token).is_ok());
}

struct RoleChanged;
impl UserDirectory for RoleChanged {
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a> {
        Box::pin(std::future::ready(Ok(UserProps { role: Some("member".into()), ..props.clone() })))
    }
}

/// The user is an admin again.
struct Promoted;
impl UserDirectory for Promoted {
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a> {
        Box::pin(std::future::ready(Ok(UserProps { role: Some("admin".into()), ..props.clone() })))
    }
}

struct Failing(DirectoryError);
impl UserDirectory for Failing {
    fn refresh_props<'a>(&'a self, _: &'a UserProps) -> Refreshing<'a> {
        Box::pin(std::future::ready(Err(self.0.clone())))
    }
}

#[test]
fn refresh_rereads_the_role() {
    let f = fixture();
    let tokens = f.tokens();
    let refreshed = refresh_with(&f, &RoleChanged, &tokens.refresh_token, None).unwrap();
    assert_eq!(verify(&f, &refreshed.access_token).unwrap().props.role.as_deref(), Some("member"));
}

#[test]
fn a_deleted_or_banned_user_ends_the_grant() {
    let f = fixture();
    let tokens = f.tokens();
    let err = refresh_with(&f, &Failing(DirectoryError::UserGone), &tokens.refresh_token, None).unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn an_unavailable_directory_fails_the_refresh_but_keeps_the_token() {
    let f = fixture();
    let tokens = f.tokens();
    let before = f.store.snapshot();
    let err = refresh_with(&f, &Failing(DirectoryError::Unavailable("down".into())), &tokens.refresh_token, None)
        .unwrap_err();
    assert_eq!((err.code(), crate::endpoints::grant_error::status(&err).as_u16()), ("temporarily_unavailable", 503));
    assert_eq!(f.store.snapshot(), before);
    assert!(refresh_token(&f, &tokens.refresh_token).is_ok());
}

#[test]
fn revoking_a_grant_kills_every_access_token_on_the_hot_path() {
    let f = fixture();
    let first = f.tokens();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    let grant_id = verify(&f, &second.access_token).unwrap().grant_id;
    grants::revoke_grant(&f.store, &f.clock, &grant_id).unwrap();
    assert!(matches!(verify(&f, &first.access_token), Err(TokenError::Invalid)));
    assert!(matches!(verify(&f, &second.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &second.refresh_token).unwrap_err().code(), "invalid_grant");
    grants::revoke_grant(&f.store, &f.clock, &grant_id).unwrap();
}

#[test]
fn revoking_an_access_token_leaves_the_grant() {
    let f = fixture();
    let tokens = f.tokens();
    let revoked =
        revoke_token(&f.store, &f.clock, &f.client.client, &tokens.access_token, Some(TokenTypeHint::AccessToken));
    assert!(matches!(revoked.unwrap(), crate::tokens::Revoked::AccessToken { .. }));
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Invalid)));
    assert!(refresh_token(&f, &tokens.refresh_token).is_ok());
}

#[test]
fn revoking_a_refresh_token_revokes_the_grant_whatever_the_hint() {
    let f = fixture();
    let tokens = f.tokens();
    let revoked =
        revoke_token(&f.store, &f.clock, &f.client.client, &tokens.refresh_token, Some(TokenTypeHint::AccessToken));
    assert!(matches!(revoked.unwrap(), crate::tokens::Revoked::Grant { .. }));
    assert!(matches!(verify(&f, &tokens.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn only_the_owning_client_can_revoke() {
    let f = fixture();
    let tokens = f.tokens();
    let other = f.another_client();
    let before = f.store.snapshot();
    for token in [tokens.access_token.as_str(), &tokens.refresh_token, "unknown"] {
        let revoked = revoke_token(&f.store, &f.clock, &other.client, token, None).unwrap();
        assert_eq!(revoked, crate::tokens::Revoked::Nothing);
    }
    assert_eq!(f.store.snapshot(), before);
    assert!(verify(&f, &tokens.access_token).is_ok());
}

#[test]
fn a_replay_during_the_first_redemption_revokes_what_that_redemption_issues() {
    use platform::KeyValueStore;
    let f = fixture();
    let code = f.code();
    // Another request holds the claim but has not yet issued its pair.
    f.store.increment(&platform::record::Helper::Claim.key(&crate::keys::code(&code)), 1).unwrap();
    assert_eq!(f.exchange(&code).unwrap_err().code(), "invalid_grant");
    // The first redemption goes on: it issues its pair, which is dead on arrival.
    let grant = f.store.keys().into_iter().find(|k| k.starts_with("oauth:grant:")).unwrap();
    let grant: crate::records::GrantRecord = serde_json::from_slice(&f.store.get(&grant).unwrap().unwrap()).unwrap();
    let issue = crate::tokens::testing::issue_for(&f.store, &f.clock, &grant);
    assert!(matches!(verify(&f, &issue.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &issue.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn a_reused_code_after_refreshes_revokes_every_pair() {
    let f = fixture();
    let code = f.code();
    let first = f.exchange(&code).unwrap();
    let second = refresh_token(&f, &first.refresh_token).unwrap();
    assert_eq!(f.exchange(&code).unwrap_err().code(), "invalid_grant");
    assert!(matches!(verify(&f, &second.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &second.refresh_token).unwrap_err().code(), "invalid_grant");
}

/// Records as the previous release left them: R0 -> R1 -> R2 rotated by it (no claim counters,
/// no `rotated_at`; the grant lists R2 as current and R1 as previous).
#[test]
fn tokens_rotated_by_the_previous_release_keep_its_rules_after_the_upgrade() {
    use platform::KeyValueStore;
    let f = fixture();
    let r0 = f.tokens();
    let r1 = refresh_token(&f, &r0.refresh_token).unwrap();
    let r2 = refresh_token(&f, &r1.refresh_token).unwrap();
    // Undo what this release adds: claim counters, `rotated_at`, kept answers.
    for key in f.store.keys() {
        if key.ends_with("#claim") || key.starts_with("oauth:rotation:") {
            f.store.delete(&key).unwrap();
        } else if key.starts_with("oauth:refresh:") {
            let mut record: serde_json::Value = serde_json::from_slice(&f.store.get(&key).unwrap().unwrap()).unwrap();
            record.as_object_mut().unwrap().remove("rotated_at");
            f.store.set(&key, &serde_json::to_vec(&record).unwrap()).unwrap();
        }
    }
    // The previous one (R1) is honoured once, as that release promised a retry...
    let retried = refresh_token(&f, &r1.refresh_token).unwrap();
    assert!(verify(&f, &retried.access_token).is_ok());
    // ...and an older one (R0) is a replay that revokes the grant.
    assert_eq!(refresh_token(&f, &r0.refresh_token).unwrap_err().code(), "invalid_grant");
    assert!(matches!(verify(&f, &retried.access_token), Err(TokenError::Invalid)));
    assert_eq!(refresh_token(&f, &r2.refresh_token).unwrap_err().code(), "invalid_grant");
}

/// Waits without waiting: the rotation in flight never finishes in these tests.
struct NoWait;
impl platform::Sleep for NoWait {
    fn sleep(&self, _: std::time::Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + '_>> {
        Box::pin(std::future::ready(()))
    }
}

#[test]
fn a_presentation_during_an_unfinished_rotation_is_retryable_then_a_replay_after_the_window() {
    use platform::KeyValueStore;
    let f = fixture();
    let first = f.tokens();
    // Another request won the claim and has written nothing yet (or failed right after).
    f.store
        .increment(&platform::record::Helper::Claim.key(&crate::keys::refresh_token(&first.refresh_token)), 1)
        .unwrap();
    let impatient = crate::tokens::Rotation { sleep: &NoWait, ..rotation() };
    let request = RefreshRequest { refresh_token: &first.refresh_token, scope: None, resource: None };
    let attempt = || block_on(refresh(&f.store, &f.clock, &StaticDirectory, &impatient, &f.client.client, &request));
    let answer = crate::endpoints::grant_error::answer(attempt().unwrap_err());
    assert_eq!((answer.error, answer.status.as_u16(), answer.retry_after), ("temporarily_unavailable", 503, Some(1)));
    assert!(verify(&f, &first.access_token).is_ok(), "nothing was revoked");
    f.clock.advance(GRACE);
    assert_eq!(attempt().unwrap_err().code(), "invalid_grant", "the window started when the claim was first seen");
    assert!(matches!(verify(&f, &first.access_token), Err(TokenError::Invalid)));
}
