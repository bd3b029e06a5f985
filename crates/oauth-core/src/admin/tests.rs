use futures::executor::block_on;
use platform::MemoryStore;

use super::*;
use crate::clients::Registration;
use crate::complete_authorization;
use crate::directory::StaticDirectory;
use crate::props::UserProps;
use crate::tests::{Fixture, REDIRECT, VERIFIER, code_from, fixture, refresh_default, rotation};
use crate::tokens::{CodeExchange, GrantError, RefreshRequest, TokenResponse, exchange_code};

const RESOURCE: &str = "https://mcp.example.com/mcp";

fn code_for(f: &Fixture, client: &Registration, user: &str) -> String {
    let mut validated = f.validated();
    validated.client_id = client.client.client_id.clone();
    let props = UserProps { user_id: user.into(), email: Some(format!("{user}@example.com")), ..UserProps::default() };
    code_from(&complete_authorization(&f.store, &f.clock, &validated, props).unwrap())
}

fn exchange(f: &Fixture, client: &Registration, code: &str) -> Result<TokenResponse, GrantError> {
    let request = CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
    exchange_code(&f.store, &f.clock, &crate::rules::scope::ScopePolicy::default(), &client.client, &request)
        .map(|issued| issued.response)
}

fn approve(f: &Fixture, client: &Registration, user: &str) -> TokenResponse {
    exchange(f, client, &code_for(f, client, user)).unwrap()
}

fn refreshed(f: &Fixture, client: &Registration, token: &str) -> Result<TokenResponse, GrantError> {
    let request = RefreshRequest { refresh_token: token, scope: None, resource: None };
    block_on(refresh_default(&f.store, &f.clock, &StaticDirectory, &rotation(), &client.client, &request))
        .map(|issued| issued.response)
}

fn works(store: &MemoryStore, f: &Fixture, tokens: &TokenResponse) -> bool {
    crate::verify_access_token(store, &f.clock, &tokens.access_token, RESOURCE).is_ok()
}

fn listed(f: &Fixture, filter: Filter) -> Vec<(String, String)> {
    let listing = list(&f.store, &f.clock, &filter).unwrap();
    assert!(!listing.truncated);
    listing.grants.into_iter().map(|g| (g.user_id, g.app.client_id)).collect()
}

#[test]
fn the_console_lists_every_grant_and_filters_by_user_and_by_client() {
    let f = fixture();
    let other = f.another_client();
    approve(&f, &f.client, "user_1");
    f.clock.advance(1);
    approve(&f, &other, "user_1");
    f.clock.advance(1);
    approve(&f, &f.client, "user_2");
    let (a, b) = (f.client_id(), other.client.client_id.clone());

    let all = listed(&f, Filter::default());
    assert_eq!(all, [("user_2".into(), a.clone()), ("user_1".into(), b.clone()), ("user_1".into(), a.clone())]);
    let by_user = listed(&f, Filter { user_id: Some("user_1".into()), client_id: None });
    assert_eq!(by_user, [("user_1".into(), b.clone()), ("user_1".into(), a.clone())]);
    let by_client = listed(&f, Filter { user_id: None, client_id: Some(a.clone()) });
    assert_eq!(by_client, [("user_2".into(), a.clone()), ("user_1".into(), a.clone())]);
    let both = listed(&f, Filter { user_id: Some("user_2".into()), client_id: Some(b) });
    assert!(both.is_empty());
    let first = &list(&f.store, &f.clock, &Filter::default()).unwrap().grants[0];
    assert_eq!(first.user_email.as_deref(), Some("user_2@example.com"));
    assert_eq!(first.app.client_name.as_deref(), Some("Test client"));
}

#[test]
fn revoking_one_grant_ends_it_and_nothing_else() {
    let f = fixture();
    let one = approve(&f, &f.client, "user_1");
    let two = approve(&f, &f.client, "user_1");
    let grant_id = crate::verify_access_token(&f.store, &f.clock, &one.access_token, RESOURCE).unwrap().grant_id;
    let revoked = revoke_grant(&f.store, &f.clock, &grant_id).unwrap().unwrap();
    assert_eq!((revoked.user_id.as_str(), revoked.client_id), ("user_1", f.client_id()));
    assert!(!works(&f.store, &f, &one) && works(&f.store, &f, &two));
    assert_eq!(refreshed(&f, &f.client, &one.refresh_token).unwrap_err().code(), "invalid_grant");
    let before = f.store.snapshot();
    assert_eq!(revoke_grant(&f.store, &f.clock, &grant_id).unwrap(), None, "already revoked");
    assert_eq!(revoke_grant(&f.store, &f.clock, "no-such-grant").unwrap(), None);
    assert_eq!(f.store.snapshot(), before, "nothing written for a grant that is not live");
}

#[test]
fn revoking_a_user_or_a_client_ends_all_of_theirs() {
    let f = fixture();
    let other = f.another_client();
    let u1a = approve(&f, &f.client, "user_1");
    let u1b = approve(&f, &other, "user_1");
    let u2a = approve(&f, &f.client, "user_2");
    let u2b = approve(&f, &other, "user_2");

    assert_eq!(revoke_user(&f.store, &f.clock, "user_1").unwrap(), Changed { grants: 2, complete: true });
    assert!(!works(&f.store, &f, &u1a) && !works(&f.store, &f, &u1b));
    assert!(works(&f.store, &f, &u2a) && works(&f.store, &f, &u2b));

    assert_eq!(revoke_client(&f.store, &f.clock, &other.client.client_id).unwrap().grants, 1);
    assert!(works(&f.store, &f, &u2a) && !works(&f.store, &f, &u2b));
}

#[test]
fn a_blocked_client_loses_its_tokens_and_can_neither_refresh_nor_exchange_until_unblocked() {
    let f = fixture();
    let tokens = approve(&f, &f.client, "user_1");
    let pending_code = code_for(&f, &f.client, "user_1");
    let client_id = f.client_id();

    let changed = block_client(&f.store, &f.clock, &client_id, "user_admin").unwrap();

    assert_eq!(changed, Changed { grants: 1, complete: true });
    assert!(!works(&f.store, &f, &tokens));
    assert!(is_blocked(&f.store, &f.clock, &client_id).unwrap());
    let error = refreshed(&f, &f.client, &tokens.refresh_token).unwrap_err();
    assert!(error.code() == "invalid_grant" && error.to_string().contains("blocked"), "{error}");
    assert!(exchange(&f, &f.client, &pending_code).unwrap_err().to_string().contains("blocked"));
    let error = f.validate(&f.authorize_query(&[])).unwrap_err();
    assert!(matches!(error, crate::AuthorizeError::Blocked) && error.must_not_redirect());
    let blocked = blocked_clients(&f.store, &f.clock).unwrap();
    assert_eq!((blocked.len(), blocked[0].blocked_by.as_str()), (1, "user_admin"));

    assert!(unblock_client(&f.store, &f.clock, &client_id).unwrap());
    assert!(!unblock_client(&f.store, &f.clock, &client_id).unwrap(), "no longer blocked");
    assert!(blocked_clients(&f.store, &f.clock).unwrap().is_empty());
    assert!(f.validate(&f.authorize_query(&[])).is_ok());
    let again = approve(&f, &f.client, "user_1");
    assert!(works(&f.store, &f, &again) && refreshed(&f, &f.client, &again.refresh_token).is_ok());
}

#[test]
fn blocks_take_document_urls_and_refuse_garbage_without_writing() {
    let f = fixture();
    let url = "https://client.example/oauth/metadata.json";
    block_client(&f.store, &f.clock, url, "user_admin").unwrap();
    assert!(is_blocked(&f.store, &f.clock, url).unwrap());
    let before = f.store.snapshot();
    for bad in ["", "has space", &"x".repeat(blocks::MAX_CLIENT_ID_LEN + 1)] {
        assert!(matches!(block_client(&f.store, &f.clock, bad, "user_admin"), Err(BlockError::InvalidClientId)));
    }
    assert_eq!(f.store.snapshot(), before);
}
