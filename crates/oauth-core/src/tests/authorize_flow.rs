use super::*;
use crate::authorize::{AuthorizeError, complete_authorization};
use crate::lifetimes::AUTHORIZATION_CODE_TTL;
use platform::KeyValueStore;

fn redirect_error(result: Result<ValidatedAuthorization, AuthorizeError>) -> (String, String) {
    match result {
        Err(AuthorizeError::Redirect(e)) => (e.error.clone(), e.location()),
        other => panic!("expected an error redirect, got {other:?}"),
    }
}

#[test]
fn valid_request_is_validated_with_consent_details() {
    let f = fixture();
    let v = f.validated();
    assert_eq!(v.client_name.as_deref(), Some("Test client"));
    assert_eq!(v.redirect_uri, REDIRECT);
    assert_eq!(v.state.as_deref(), Some("xyz"));
    assert_eq!(v.scope, ["mcp:basic", "mcp:images"], "no scope asked: every scope");
    assert_eq!(v.resource, "https://mcp.example.com/mcp");
    assert_eq!(v.redirect_host(), "127.0.0.1");
    assert!(v.redirect_is_loopback());
    assert_eq!(v.issuer, BASE);
}

#[test]
fn loopback_redirect_with_another_port_is_accepted_and_used() {
    let f = fixture();
    let mut q = f.authorize_query(&[]);
    q.retain(|(k, _)| k != "redirect_uri");
    q.push(("redirect_uri".into(), "http://127.0.0.1:5999/callback".into()));
    assert_eq!(validate(&f, &q).unwrap().redirect_uri, "http://127.0.0.1:5999/callback");
}

#[test]
fn missing_redirect_uri_uses_the_only_registered_one() {
    let f = fixture();
    let mut q = f.authorize_query(&[]);
    q.retain(|(k, _)| k != "redirect_uri");
    let v = validate(&f, &q).unwrap();
    assert_eq!(v.redirect_uri, REDIRECT);
    assert!(!v.redirect_uri_provided);
}

#[test]
fn unknown_client_or_bad_redirect_uri_must_not_redirect() {
    let f = fixture();
    let cases: Vec<Vec<(String, String)>> = vec![
        query(&[("response_type", "code")]),
        query(&[("client_id", "unknown"), ("redirect_uri", REDIRECT)]),
        query(&[("client_id", "a:b")]),
        {
            let mut q = f.authorize_query(&[]);
            q.retain(|(k, _)| k != "redirect_uri");
            q.push(("redirect_uri".into(), "https://evil.example/cb".into()));
            q
        },
        f.authorize_query(&[("redirect_uri", REDIRECT)]),
        f.authorize_query(&[("client_id", "other")]),
    ];
    for q in cases {
        let err = validate(&f, &q).unwrap_err();
        assert!(err.must_not_redirect(), "{q:?} gave {err:?}");
    }
}

#[test]
fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss() {
    let f = fixture();
    let strip = |name: &str| {
        let mut q = f.authorize_query(&[]);
        q.retain(|(k, _)| k != name);
        q
    };
    let replace = |name: &str, value: &str| {
        let mut q = strip(name);
        q.push((name.into(), value.into()));
        q
    };
    let cases = [
        (strip("response_type"), "invalid_request"),
        (replace("response_type", "token"), "unsupported_response_type"),
        (strip("code_challenge"), "invalid_request"),
        (strip("code_challenge_method"), "invalid_request"),
        (replace("code_challenge_method", "plain"), "invalid_request"),
        (replace("scope", "openid profile"), "invalid_scope"),
        (replace("scope", "mcp:basic mcp:admin"), "invalid_scope"),
        (replace("scope", "mcp admin"), "invalid_scope"),
        (replace("resource", "https://other.example/mcp"), "invalid_target"),
        (f.authorize_query(&[("resource", "https://mcp.example.com/mcp")]), "invalid_target"),
        (f.authorize_query(&[("state", "again")]), "invalid_request"),
        (f.authorize_query(&[("scope", "mcp"), ("scope", "mcp")]), "invalid_request"),
    ];
    for (q, expected) in cases {
        let (error, location) = redirect_error(validate(&f, &q));
        assert_eq!(error, expected, "{q:?}");
        assert!(location.starts_with(&format!("{REDIRECT}?error={expected}")), "{location}");
        assert!(location.contains("iss=https%3A%2F%2Fmcp.example.com"), "{location}");
    }
    let (_, location) = redirect_error(validate(&f, &replace("response_type", "token")));
    assert!(location.contains("&state=xyz&"), "{location}");
}

#[test]
fn a_request_gets_the_scopes_it_names_with_client_added_openid_scopes_dropped() {
    let f = fixture();
    for (asked, expected) in [
        ("mcp:basic", vec!["mcp:basic"]),
        ("openid offline_access mcp:images", vec!["mcp:images"]),
        ("mcp offline_access", vec!["mcp:basic", "mcp:images"]),
    ] {
        assert_eq!(validate(&f, &f.authorize_query(&[("scope", asked)])).unwrap().scope, expected, "{asked}");
    }
}

#[test]
fn error_redirects_name_the_client_so_the_flow_can_check_the_approval() {
    let f = fixture();
    match validate(&f, &f.authorize_query(&[("response_type", "token")])) {
        Err(AuthorizeError::Redirect(e)) => assert_eq!((e.client_id, e.redirect_uri), (f.client_id(), REDIRECT.into())),
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_redirect_scheme_no_longer_allowed_is_a_page_even_for_a_registered_client() {
    let f = fixture();
    let uri = "cursor://anysphere.cursor-mcp/oauth/callback";
    let lax = RedirectPolicy::with_schemes(["cursor"]).unwrap();
    let body = format!(r#"{{"redirect_uris":["{uri}"],"token_endpoint_auth_method":"none"}}"#);
    let client = crate::clients::register_client(&f.store, &f.clock, &lax, body.as_bytes()).unwrap();
    let q = query(&[
        ("response_type", "code"),
        ("client_id", &client.client.client_id),
        ("redirect_uri", uri),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ]);
    let resolver = crate::cimd::ClientResolver { redirect_policy: &lax, ..f.resolver() };
    let allowed = block_on(crate::authorize::validate_authorization_request(&resolver, BASE, &lax, &q));
    assert_eq!(allowed.unwrap().redirect_uri, uri);
    let err = validate(&f, &q).unwrap_err();
    assert!(matches!(err, AuthorizeError::InvalidRedirectUri(_)) && err.must_not_redirect(), "{err:?}");
}

#[test]
fn state_is_bounded_and_an_oversized_one_is_not_echoed() {
    use crate::authorize::MAX_STATE_BYTES;
    let f = fixture();
    let longest = "s".repeat(MAX_STATE_BYTES);
    let mut q = f.authorize_query(&[]);
    q.retain(|(k, _)| k != "state");
    let with_state = |state: &str| {
        let mut q = q.clone();
        q.push(("state".into(), state.into()));
        q
    };
    assert_eq!(validate(&f, &with_state(&longest)).unwrap().state.as_deref(), Some(longest.as_str()));
    match validate(&f, &with_state(&format!("{longest}s"))) {
        Err(AuthorizeError::Redirect(e)) => {
            assert_eq!(e.error_description, "state is longer than 1024 bytes");
            assert_eq!(e.state, None);
            assert!(e.location().len() < 200, "{}", e.location());
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn refused_authorization_requests_change_nothing() {
    let f = fixture();
    let before = f.store.snapshot();
    let _ = validate(&f, &f.authorize_query(&[("resource", "https://other.example/")]));
    let _ = validate(&f, &query(&[("client_id", "unknown")]));
    assert_eq!(f.store.snapshot(), before);
}

#[test]
fn complete_authorization_redirects_with_code_state_and_iss() {
    let f = fixture();
    let location = complete_authorization(&f.store, &f.clock, &f.validated(), props()).unwrap();
    assert!(location.starts_with(&format!("{REDIRECT}?code=")));
    assert!(location.ends_with("&state=xyz&iss=https%3A%2F%2Fmcp.example.com"));
    let code = code_from(&location);
    assert_eq!(code.len(), 43);
    assert!(f.store.keys().iter().all(|k| !k.contains(&code)), "the code is stored only hashed");
}

#[test]
fn error_redirect_keeps_an_existing_query() {
    let mut v = fixture().validated();
    v.redirect_uri = "https://a.example/cb?x=1".into();
    v.state = None;
    assert_eq!(
        v.error_redirect("access_denied", "no"),
        "https://a.example/cb?x=1&error=access_denied&error_description=no&iss=https%3A%2F%2Fmcp.example.com"
    );
}

#[test]
fn complete_authorization_fails_when_the_client_expired_meanwhile() {
    let f = fixture();
    let v = f.validated();
    f.clock.advance(crate::lifetimes::CLIENT_UNUSED_TTL);
    assert!(matches!(complete_authorization(&f.store, &f.clock, &v, props()), Err(crate::CompleteError::ClientGone)));
}

#[test]
fn codes_expire_after_ten_minutes() {
    let f = fixture();
    let code = f.code();
    f.clock.advance(AUTHORIZATION_CODE_TTL);
    let err = f.exchange(&code).unwrap_err();
    assert_eq!(err.code(), "invalid_grant");
}

/// A document client: its `client_id` is the URL of a document listing a port-less loopback
/// redirect (as Claude Code's does).
const DOC_URL: &str = "https://client.example.com/oauth/metadata.json";

fn serve_document(f: &Fixture) {
    let body = format!(
        r#"{{"client_id":"{DOC_URL}","client_name":"Doc Client","redirect_uris":["http://127.0.0.1/callback"]}}"#
    );
    f.documents.serve(DOC_URL, &body);
}

fn document_query(redirect_uri: &str) -> Vec<(String, String)> {
    query(&[
        ("response_type", "code"),
        ("client_id", DOC_URL),
        ("redirect_uri", redirect_uri),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ])
}

#[test]
fn a_document_client_is_validated_at_any_loopback_port_and_its_document_cached() {
    let f = fixture();
    serve_document(&f);
    let v = f.validate(&document_query("http://127.0.0.1:51234/callback")).unwrap();
    assert_eq!(v.client_id, DOC_URL);
    assert_eq!(v.client_name.as_deref(), Some("Doc Client"));
    assert_eq!(v.redirect_uri, "http://127.0.0.1:51234/callback");
    assert!(f.store.exists(&crate::keys::client_document(DOC_URL)).unwrap(), "valid: cached");
    let again = f.validate(&document_query("http://127.0.0.1:40000/callback")).unwrap();
    assert_eq!(again.client_id, DOC_URL);
    assert_eq!(f.documents.requests(), 1, "the second request used the cache");
}

#[test]
fn a_redirect_uri_the_document_does_not_list_is_a_page_and_caches_nothing() {
    let f = fixture();
    serve_document(&f);
    let before = f.records();
    for uri in ["https://evil.example/callback", "http://127.0.0.1:5000/other", "http://localhost:5000/callback"] {
        assert!(matches!(f.validate(&document_query(uri)), Err(AuthorizeError::InvalidRedirectUri(_))), "{uri}");
    }
    assert_eq!(f.records(), before);
}

#[test]
fn a_refused_document_is_a_page_that_must_not_redirect() {
    let f = fixture();
    f.documents
        .serve(DOC_URL, r#"{"client_id":"https://other.example.com/x","redirect_uris":["http://127.0.0.1/callback"]}"#);
    let error = f.validate(&document_query("http://127.0.0.1:5000/callback")).unwrap_err();
    assert!(error.must_not_redirect());
    match error {
        AuthorizeError::Document(refused) => assert_eq!(refused.error, crate::cimd::CimdError::ClientIdMismatch),
        other => panic!("{other:?}"),
    }
}

#[test]
fn complete_authorization_needs_no_record_for_a_document_client() {
    let f = fixture();
    serve_document(&f);
    let v = f.validate(&document_query("http://127.0.0.1:5000/callback")).unwrap();
    f.clock.advance(crate::cimd::cache::MAX_CACHE_SECS);
    let location = complete_authorization(&f.store, &f.clock, &v, props()).unwrap();
    assert!(location.starts_with("http://127.0.0.1:5000/callback?code="), "{location}");
}
