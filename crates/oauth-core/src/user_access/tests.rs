use futures::executor::block_on;
use platform::{Clock, MemoryStore};

use super::*;
use crate::complete_authorization;
use crate::directory::StaticDirectory;
use crate::props::UserProps;
use crate::tests::{REDIRECT, VERIFIER, code_from, fixture, refresh_default, rotation};
use crate::tokens::{CodeExchange, GrantError, RefreshRequest, TokenError, TokenResponse, exchange_code};

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn props(user: &str, role: Option<&str>) -> UserProps {
    UserProps { user_id: user.into(), role: role.map(str::to_owned), ..UserProps::default() }
}

/// A code for `user` from the fixture's client.
fn code_for(f: &crate::tests::Fixture, user: &str, role: Option<&str>) -> String {
    code_from(&complete_authorization(&f.store, &f.clock, &f.validated(), props(user, role)).unwrap())
}

fn exchange(f: &crate::tests::Fixture, code: &str) -> Result<TokenResponse, GrantError> {
    let request = CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(&f.store, &f.clock, &crate::rules::scope::ScopePolicy::default(), &f.client.client, &request)
        .map(|issued| issued.response)
}

fn refreshed(f: &crate::tests::Fixture, token: &str) -> Result<TokenResponse, GrantError> {
    let request = RefreshRequest { refresh_token: token, scope: None, resource: None };
    block_on(refresh_default(&f.store, &f.clock, &StaticDirectory, &rotation(), &f.client.client, &request))
        .map(|issued| issued.response)
}

fn verify(store: &MemoryStore, clock: &dyn Clock, token: &str) -> Result<crate::AccessTokenRecord, TokenError> {
    crate::verify_access_token(store, clock, token, RESOURCE)
}

#[test]
fn ending_a_user_revokes_every_grant_of_theirs_at_once_and_no_one_elses() {
    let f = fixture();
    let first = exchange(&f, &code_for(&f, "user_1", None)).unwrap();
    let second = exchange(&f, &code_for(&f, "user_1", Some("admin"))).unwrap();
    let other = exchange(&f, &code_for(&f, "user_2", None)).unwrap();

    let changed = end_all(&f.store, &f.clock, "user_1").unwrap();

    assert_eq!(changed, Changed { grants: 2, complete: true });
    for tokens in [&first, &second] {
        assert!(matches!(verify(&f.store, &f.clock, &tokens.access_token), Err(TokenError::Invalid)));
        assert_eq!(refreshed(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
    }
    assert!(verify(&f.store, &f.clock, &other.access_token).is_ok());
    assert!(refreshed(&f, &other.refresh_token).is_ok());
}

#[test]
fn a_code_issued_before_the_end_cannot_be_exchanged_after_it() {
    let f = fixture();
    let code = code_for(&f, "user_1", None);
    end_all(&f.store, &f.clock, "user_1").unwrap();
    let error = exchange(&f, &code).unwrap_err();
    assert_eq!(error.code(), "invalid_grant");
    assert!(error.to_string().contains("ended"), "{error}");
}

#[test]
fn a_grant_the_index_does_not_list_cannot_refresh_after_the_end() {
    let f = fixture();
    let tokens = exchange(&f, &code_for(&f, "user_1", None)).unwrap();
    // As for a grant of an earlier release: listed nowhere.
    for key in f.store.keys().into_iter().filter(|k| k.starts_with("oauth:user-slot:")) {
        f.store.delete(&key).unwrap();
    }
    assert_eq!(end_all(&f.store, &f.clock, "user_1").unwrap().grants, 0);
    assert_eq!(refreshed(&f, &tokens.refresh_token).unwrap_err().code(), "invalid_grant");
}

#[test]
fn a_user_who_signs_in_again_after_the_end_gets_working_grants() {
    let f = fixture();
    exchange(&f, &code_for(&f, "user_1", None)).unwrap();
    end_all(&f.store, &f.clock, "user_1").unwrap();
    f.clock.advance(1);
    let tokens = exchange(&f, &code_for(&f, "user_1", None)).unwrap();
    assert!(verify(&f.store, &f.clock, &tokens.access_token).is_ok());
    assert!(refreshed(&f, &tokens.refresh_token).is_ok());
}

#[test]
fn ending_is_idempotent_and_the_marker_expires_after_every_token_it_covers() {
    let f = fixture();
    exchange(&f, &code_for(&f, "user_1", None)).unwrap();
    end_all(&f.store, &f.clock, "user_1").unwrap();
    assert_eq!(end_all(&f.store, &f.clock, "user_1").unwrap(), Changed { grants: 0, complete: true });
    let marker = record::load::<UserAccessEnded>(&f.store, &f.clock, &keys::user_ended("user_1")).unwrap().unwrap();
    assert_eq!(marker.expires_at, f.clock.now_unix() + REFRESH_TOKEN_TTL + ACCESS_TOKEN_TTL);
    assert_eq!(end_all(&f.store, &f.clock, "").unwrap(), Changed { grants: 0, complete: true });
}

#[test]
fn a_role_change_drops_the_access_tokens_of_grants_with_the_old_role_and_keeps_the_grants() {
    let f = fixture();
    let admin = exchange(&f, &code_for(&f, "user_1", Some("admin"))).unwrap();

    let changed = drop_tokens_on_role_change(&f.store, &f.clock, "user_1", None).unwrap();

    assert_eq!(changed, Changed { grants: 1, complete: true });
    assert!(matches!(verify(&f.store, &f.clock, &admin.access_token), Err(TokenError::Invalid)));
    // The refresh re-reads the user (here the stored props) and issues a working token.
    let again = refreshed(&f, &admin.refresh_token).unwrap();
    assert!(verify(&f.store, &f.clock, &again.access_token).is_ok());
}

#[test]
fn an_update_that_keeps_the_role_changes_nothing() {
    let f = fixture();
    let tokens = exchange(&f, &code_for(&f, "user_1", Some("admin"))).unwrap();
    let before = f.store.snapshot();
    let changed = drop_tokens_on_role_change(&f.store, &f.clock, "user_1", Some("admin")).unwrap();
    assert_eq!(changed, Changed { grants: 0, complete: true });
    assert_eq!(f.store.snapshot(), before);
    assert!(verify(&f.store, &f.clock, &tokens.access_token).is_ok());
}

#[test]
fn ending_a_session_revokes_only_the_grants_signed_in_through_it() {
    let f = fixture();
    let in_session = |session: &str| {
        let props = UserProps { session_id: Some(session.into()), ..props("user_1", None) };
        let code = code_from(&complete_authorization(&f.store, &f.clock, &f.validated(), props).unwrap());
        exchange(&f, &code).unwrap()
    };
    let ended = in_session("sess_1");
    let other = in_session("sess_2");
    let changed = revoke_session_grants(&f.store, &f.clock, "user_1", "sess_1").unwrap();
    assert_eq!(changed, Changed { grants: 1, complete: true });
    assert!(verify(&f.store, &f.clock, &ended.access_token).is_err());
    assert!(verify(&f.store, &f.clock, &other.access_token).is_ok());
    assert_eq!(revoke_session_grants(&f.store, &f.clock, "user_2", "sess_2").unwrap().grants, 0);
}
