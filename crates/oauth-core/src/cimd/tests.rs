//! The resolver over a fake document server: what is fetched, when, what is cached (a valid
//! document once remembered, a refusal for a minute, within the caller's cache-write cap),
//! what the limits on document clients refuse, and that nothing is fetched where private
//! networks are reachable.

use futures::executor::block_on;
use platform::OutboundError;

use super::*;
use crate::clients::PresentedCredentials;
use crate::keys;
use crate::records::AuthMethod;
use crate::tests::documents::FakeDocuments;
use crate::tests::{BASE, cimd_on, fixture};

const URL: &str = "https://client.example.com/oauth/metadata.json";

fn document() -> String {
    format!(
        r#"{{"client_id":"{URL}","client_name":"Example Client","redirect_uris":["http://127.0.0.1/callback","https://client.example.com/cb"],"token_endpoint_auth_method":"none"}}"#
    )
}

fn public(client_id: &str) -> PresentedCredentials {
    PresentedCredentials { client_id: client_id.to_owned(), client_secret: None, method: AuthMethod::None }
}

fn refusal(result: Result<Option<ResolvedClient>, ResolveError>) -> CimdError {
    match result {
        Err(ResolveError::Document(refused)) => refused.error,
        other => panic!("expected a refused document, got {other:?}"),
    }
}

#[test]
fn a_document_resolves_to_a_public_client_and_is_cached_only_when_remembered() {
    let f = fixture();
    f.documents.serve(URL, &document());
    let before = f.records();
    let resolved = block_on(f.resolver().resolve(URL)).unwrap().unwrap();
    assert_eq!(resolved.client.client_id, URL);
    assert_eq!(resolved.client.secret_hash, None);
    assert_eq!(resolved.client.metadata.token_endpoint_auth_method, AuthMethod::None);
    assert_eq!(resolved.client.metadata.client_name.as_deref(), Some("Example Client"));
    assert_eq!(f.records(), before, "resolving alone stores nothing");
    assert_eq!(f.documents.last_limits(), Some((Some(fetch::MAX_DOCUMENT_BYTES), fetch::FETCH_TIMEOUT)));
    f.resolver().remember(&resolved);
    assert!(f.store.exists(&keys::client_document(URL)).unwrap());
}

#[test]
fn a_cached_document_is_used_without_a_fetch_until_it_expires_then_refetched() {
    let f = fixture();
    f.documents.serve_with(
        URL,
        200,
        &[("content-type", "application/json"), ("cache-control", "public, max-age=600")],
        document().as_bytes(),
    );
    f.resolver().remember(&block_on(f.resolver().resolve(URL)).unwrap().unwrap());
    f.clock.advance(599);
    let cached = block_on(f.resolver().resolve(URL)).unwrap().unwrap();
    assert_eq!(f.documents.requests(), 1, "cache hit");
    assert_eq!(cached.client.expires_at, 1_700_000_000 + 600);

    let changed = document().replace("Example Client", "Renamed Client");
    f.documents.serve(URL, &changed);
    f.clock.advance(1);
    let refetched = block_on(f.resolver().resolve(URL)).unwrap().unwrap();
    assert_eq!(f.documents.requests(), 2, "expired: fetched again");
    assert_eq!(refetched.client.metadata.client_name.as_deref(), Some("Renamed Client"));
    assert!(!f.store.exists(&keys::client_document(URL)).unwrap(), "the expired entry went when met");
}

#[test]
fn the_cache_lifetime_is_clamped() {
    for (cache_control, lifetime) in [
        ("no-store", cache::MIN_CACHE_SECS),
        ("max-age=31536000", cache::MAX_CACHE_SECS),
        ("", cache::DEFAULT_CACHE_SECS),
    ] {
        let f = fixture();
        f.documents.serve_with(
            URL,
            200,
            &[("content-type", "application/json"), ("cache-control", cache_control)],
            document().as_bytes(),
        );
        let resolved = block_on(f.resolver().resolve(URL)).unwrap().unwrap();
        assert_eq!(resolved.client.expires_at - f.clock.now_unix(), lifetime, "{cache_control:?}");
    }
}

#[test]
fn every_refusal_is_a_document_error_remembered_for_a_minute_without_another_fetch() {
    let big =
        format!(r#"{{"client_id":"{URL}","redirect_uris":["https://a.example.com/cb"],"pad":"{}"}}"#, "x".repeat(6000));
    let wrong_id = document().replace(URL, "https://other.example.com/meta");
    let secret = document().replace(r#""none""#, r#""client_secret_basic""#);
    let bad_redirect = document().replace("http://127.0.0.1/callback", "http://evil.example/cb");
    type Setup = Box<dyn Fn(&FakeDocuments)>;
    type Case = (&'static str, Setup, fn(&CimdError) -> bool);
    let cases: Vec<Case> = vec![
        ("too big", Box::new(move |d| d.serve(URL, &big)), |e| matches!(e, CimdError::TooLarge(_))),
        ("wrong client_id", Box::new(move |d| d.serve(URL, &wrong_id)), |e| *e == CimdError::ClientIdMismatch),
        ("shared secret", Box::new(move |d| d.serve(URL, &secret)), |e| matches!(e, CimdError::SharedSecret(_))),
        ("bad redirect", Box::new(move |d| d.serve(URL, &bad_redirect)), |e| matches!(e, CimdError::Metadata(_))),
        ("not JSON", Box::new(|d| d.serve_with(URL, 200, &[("content-type", "text/html")], b"<html>")), |e| {
            matches!(e, CimdError::NotJson(_))
        }),
        (
            "JSON type, HTML body",
            Box::new(|d| d.serve_with(URL, 200, &[("content-type", "application/json")], b"<html>")),
            |e| matches!(e, CimdError::NotJson(_)),
        ),
        (
            "redirect",
            Box::new(|d| d.serve_with(URL, 302, &[("location", "https://elsewhere.example/meta")], b"")),
            |e| *e == CimdError::Redirect(302),
        ),
        ("missing", Box::new(|_| {}), |e| *e == CimdError::Status(404)),
        ("slow", Box::new(|d| d.fail(URL, OutboundError::Timeout { host: "client.example.com".into() })), |e| {
            matches!(e, CimdError::Fetch(OutboundError::Timeout { .. }))
        }),
        (
            "blocked network",
            Box::new(|d| {
                d.fail(
                    URL,
                    OutboundError::Unreachable {
                        host: "client.example.com".into(),
                        reason: "DestinationIpProhibited".into(),
                    },
                )
            }),
            |e| matches!(e, CimdError::Fetch(OutboundError::Unreachable { .. })),
        ),
    ];
    for (name, setup, expected) in cases {
        let f = fixture();
        setup(&f.documents);
        let before = f.records();
        let error = refusal(block_on(f.resolver().resolve(URL)));
        assert!(expected(&error), "{name}: {error}");
        let mut stored = f.records();
        stored.retain(|key, _| !before.contains_key(key));
        assert_eq!(stored.keys().collect::<Vec<_>>(), [&keys::refused_document(URL)], "{name}: only the refusal");
        assert_eq!(refusal(block_on(f.resolver().resolve(URL))), CimdError::RecentlyRefused, "{name}");
        assert_eq!(f.documents.requests(), 1, "{name}: refused again without a fetch");
        f.clock.advance(cache::REFUSAL_CACHE_SECS);
        assert!(expected(&refusal(block_on(f.resolver().resolve(URL)))), "{name}: fetched again a minute later");
        assert_eq!(f.documents.requests(), 2, "{name}");
    }
}

#[test]
fn urls_that_cannot_be_documents_fail_without_a_fetch() {
    let f = fixture();
    for url in [
        "http://client.example.com/meta",
        "https://client.example.com",
        "https://client.example.com/",
        "https://client.example.com/meta?x=1",
        "https://localhost/meta",
        "https://10.0.0.1/meta",
        "urn:example:client",
    ] {
        let error = refusal(block_on(f.resolver().resolve(url)));
        assert!(matches!(error, CimdError::Url(_)), "{url}: {error}");
    }
    assert_eq!(f.documents.requests(), 0);
}

#[test]
fn with_documents_off_a_url_is_an_unknown_client_and_nothing_is_fetched() {
    let f = fixture();
    f.documents.serve(URL, &document());
    let resolver = ClientResolver { settings: CimdSettings::disabled(), ..f.resolver() };
    assert!(block_on(resolver.resolve(URL)).unwrap().is_none());
    assert_eq!(f.documents.requests(), 0);
    let registered = block_on(resolver.resolve(&f.client_id())).unwrap();
    assert!(registered.is_some(), "registered clients are unaffected");
}

#[test]
fn registered_clients_resolve_from_the_store_without_a_fetch() {
    let f = fixture();
    let resolved = block_on(f.resolver().resolve(&f.client_id())).unwrap().unwrap();
    assert_eq!(resolved.client, f.client.client);
    assert!(block_on(f.resolver().resolve("unknown-id")).unwrap().is_none());
    assert_eq!(f.documents.requests(), 0);
}

#[test]
fn a_document_client_authenticates_as_public_only() {
    let f = fixture();
    f.documents.serve(URL, &document());
    assert!(block_on(f.resolver().authenticate(&public(URL))).is_ok());
    let requests = f.documents.requests();
    for method in [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost] {
        let with_secret =
            PresentedCredentials { client_id: URL.to_owned(), client_secret: Some("guess".into()), method };
        assert!(matches!(block_on(f.resolver().authenticate(&with_secret)), Err(ClientAuthError::InvalidClient)));
    }
    assert_eq!(f.documents.requests(), requests, "a secret with a URL client_id is refused without a fetch");
    let secret_in_body =
        PresentedCredentials { client_id: URL.to_owned(), client_secret: Some("x".into()), method: AuthMethod::None };
    assert!(matches!(block_on(f.resolver().authenticate(&secret_in_body)), Err(ClientAuthError::InvalidClient)));
}

#[test]
fn a_refused_document_at_the_token_endpoint_is_a_document_error() {
    let f = fixture();
    f.documents.serve(URL, &document().replace(URL, "https://other.example.com/x"));
    match block_on(f.resolver().authenticate(&public(URL))) {
        Err(ClientAuthError::Document(refused)) => {
            assert_eq!(refused.error, CimdError::ClientIdMismatch);
            assert!(refused.to_string().contains(URL), "the log line names the URL: {refused}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn settings_come_from_the_variable_and_the_base_url() {
    let limits = DocumentLimits::default();
    assert_eq!(CimdSettings::new(None, BASE), Ok(CimdSettings { enabled: true, allow_loopback: false, limits }));
    assert_eq!(CimdSettings::new(Some("false"), BASE).map(|s| s.enabled), Ok(false));
    assert_eq!(CimdSettings::new(Some(" TRUE "), BASE).map(|s| s.enabled), Ok(true));
    assert!(CimdSettings::new(Some("nope"), BASE).is_err());
    for local in ["http://127.0.0.1:3000", "http://localhost:3000", "http://[::1]:3000"] {
        assert!(CimdSettings::new(None, local).unwrap().allow_loopback, "{local}");
    }
}

#[test]
fn where_private_networks_are_reachable_no_document_is_fetched_and_it_says_why() {
    let f = fixture();
    f.documents.serve(URL, &document());
    f.documents.open_private_networks();
    let before = f.records();
    match refusal(block_on(f.resolver().resolve(URL))) {
        CimdError::PrivateNetworksReachable(reachable) => assert_eq!(reachable.probe, "https://127.0.0.1/"),
        other => panic!("{other}"),
    }
    assert_eq!(f.documents.requests(), 1, "the loopback probe only, which reached a server");
    assert_eq!(f.records(), before, "nothing remembered: the setting may change");
    let message = DocumentRefused { client_id: URL.into(), error: refusal(block_on(f.resolver().resolve(URL))) };
    assert!(message.to_string().contains(r#"block_networks = ["private"]"#), "{message}");
    assert!(!block_on(f.resolver().settings.advertised(&f.store, &f.clock, &f.documents)), "not advertised");
}

#[test]
fn a_server_on_loopback_fetches_without_the_private_network_check() {
    let f = fixture();
    f.documents.serve(URL, &document());
    f.documents.open_private_networks();
    let local = ClientResolver { settings: CimdSettings::new(None, "http://127.0.0.1:3000").unwrap(), ..f.resolver() };
    assert!(block_on(local.resolve(URL)).unwrap().is_some());
    assert_eq!(f.documents.requests(), 1, "the document alone");
    assert!(block_on(local.settings.advertised(&f.store, &f.clock, &f.documents)));
    let blocked = FakeDocuments::default();
    let fresh = platform::MemoryStore::new();
    assert!(block_on(f.resolver().settings.advertised(&fresh, &f.clock, &blocked)), "blocked: advertised");
    assert!(!block_on(CimdSettings::disabled().advertised(&fresh, &f.clock, &blocked)), "off: never");
}

fn limited(result: Result<Option<ResolvedClient>, ResolveError>) -> throttle::Limited {
    match result {
        Err(ResolveError::Limited(limited)) => limited,
        other => panic!("expected a limit's refusal, got {other:?}"),
    }
}

#[test]
fn requests_naming_documents_are_counted_per_address_before_anything_is_read_or_fetched() {
    let f = fixture();
    f.documents.serve(URL, &document());
    let limits = DocumentLimits { requests: platform::rate_limit::DOCUMENT_CLIENTS.with_max(2), ..Default::default() };
    let resolver = ClientResolver { settings: CimdSettings { limits, ..cimd_on() }, ..f.resolver() };
    assert!(block_on(resolver.resolve(URL)).unwrap().is_some());
    assert!(matches!(refusal(block_on(resolver.resolve("https://a.example.com/x?q"))), CimdError::Url(_)));
    let refused = limited(block_on(resolver.resolve(URL)));
    assert_eq!((refused.limit.name, refused.retry_after), ("document_clients", 40), "the minute ends in 40 s");
    assert_eq!(f.documents.requests(), 1);
    let elsewhere = ClientResolver { caller: Some("198.51.100.9".parse().unwrap()), ..resolver };
    assert!(block_on(elsewhere.resolve(URL)).unwrap().is_some(), "another address");
    assert!(block_on(resolver.resolve(&f.client_id())).unwrap().is_some(), "registered clients are not counted");
}

#[test]
fn fetches_started_are_bounded_per_address_and_in_all() {
    let f = fixture();
    let limits = DocumentLimits {
        fetches_per_address: platform::rate_limit::Limit { max: 2, ..throttle::FETCHES_PER_ADDRESS },
        ..Default::default()
    };
    let resolver = ClientResolver { settings: CimdSettings { limits, ..cimd_on() }, ..f.resolver() };
    for n in 0..2 {
        let url = format!("https://client.example.com/{n}.json");
        assert!(matches!(refusal(block_on(resolver.resolve(&url))), CimdError::Status(404)));
    }
    let refused = limited(block_on(resolver.resolve("https://client.example.com/2.json")));
    assert_eq!(refused.limit.name, "document_fetches");
    assert_eq!(f.documents.requests(), 2, "nothing fetched past the limit");
    assert_eq!(refusal(block_on(resolver.resolve("https://client.example.com/0.json"))), CimdError::RecentlyRefused);
}

#[test]
fn cached_documents_and_refusals_stop_at_the_callers_cache_write_cap() {
    let f = fixture();
    let limits =
        DocumentLimits { cache_writes: platform::rate_limit::DOCUMENT_CACHE_WRITES.with_max(1), ..Default::default() };
    let resolver = ClientResolver { settings: CimdSettings { limits, ..cimd_on() }, ..f.resolver() };
    f.documents.serve(URL, &document());
    resolver.remember(&block_on(resolver.resolve(URL)).unwrap().unwrap());
    assert!(f.store.exists(&keys::client_document(URL)).unwrap());
    let gone = "https://client.example.com/gone.json";
    assert_eq!(refusal(block_on(resolver.resolve(gone))), CimdError::Status(404));
    assert!(!f.store.exists(&keys::refused_document(gone)).unwrap(), "past the cap: not remembered");
    assert_eq!(refusal(block_on(resolver.resolve(gone))), CimdError::Status(404), "fetched again");
}
