//! OIDC discovery of the Clerk Frontend API (`/.well-known/openid-configuration`), cached in the
//! key-value store so a sign-in costs one KV read instead of an extra round trip to Clerk.

use platform::record;
use platform::{Clock, HttpClient, KeyValueStore};
use serde::{Deserialize, Serialize};

use crate::{ClerkError, keys, transport};

/// How long a fetched discovery document is trusted before it is fetched again.
pub const DISCOVERY_TTL_SECS: u64 = 3600;

const WHAT: &str = "discovery (/.well-known/openid-configuration)";

/// The parts of Clerk's OpenID configuration this server uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProviderMetadata {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    #[serde(default)]
    pub jwks_uri: Option<String>,
}

/// The cached record: versioned, with its own expiry (the store has no TTL).
#[derive(Serialize, Deserialize)]
struct CachedDiscovery {
    v: u32,
    expires_at: u64,
    metadata: ProviderMetadata,
}
platform::impl_record!(CachedDiscovery, "Clerk discovery");

/// The discovery document of `frontend_api`, from the cache when fresh, otherwise from Clerk.
pub async fn discover(
    http: &dyn HttpClient,
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    frontend_api: &str,
) -> Result<ProviderMetadata, ClerkError> {
    let key = keys::discovery(frontend_api);
    if let Some(cached) = record::load::<CachedDiscovery>(store, clock, &key)? {
        return Ok(cached.metadata);
    }
    let metadata = fetch(http, frontend_api).await?;
    let cached = CachedDiscovery { v: record::VERSION, expires_at: clock.now_unix() + DISCOVERY_TTL_SECS, metadata };
    // A plain write: concurrent refreshes all write a fresh copy of the same document.
    record::save(store, &key, &cached)?;
    Ok(cached.metadata)
}

async fn fetch(http: &dyn HttpClient, frontend_api: &str) -> Result<ProviderMetadata, ClerkError> {
    let url = format!("{frontend_api}/.well-known/openid-configuration");
    let response = transport::get(http, &url, None, WHAT).await?;
    if !response.status().is_success() {
        return Err(ClerkError::Status { what: WHAT, status: response.status().as_u16() });
    }
    let metadata: ProviderMetadata = transport::json(&response, WHAT)?;
    check(&metadata, frontend_api)?;
    Ok(metadata)
}

/// OIDC Discovery §4.3: the issuer must be the URL we asked; endpoints must be absolute http(s).
fn check(metadata: &ProviderMetadata, frontend_api: &str) -> Result<(), ClerkError> {
    let malformed = |reason: String| ClerkError::Malformed { what: WHAT, reason };
    if metadata.issuer.trim_end_matches('/') != frontend_api {
        return Err(malformed(format!("issuer {} is not {frontend_api}", metadata.issuer)));
    }
    for endpoint in [&metadata.authorization_endpoint, &metadata.token_endpoint] {
        let ok = url::Url::parse(endpoint).is_ok_and(|u| matches!(u.scheme(), "https" | "http"));
        if !ok {
            return Err(malformed(format!("endpoint {endpoint} is not an http(s) URL")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::{FakeClerk, ISSUER};
    use futures::executor::block_on;
    use platform::{ManualClock, MemoryStore, OutboundError};

    #[test]
    fn discovery_is_fetched_once_then_served_from_cache() {
        let (fake, store, clock) = (FakeClerk::new(), MemoryStore::new(), ManualClock::at(1000));
        let first = block_on(discover(&fake, &store, &clock, ISSUER)).unwrap();
        let second = block_on(discover(&fake, &store, &clock, ISSUER)).unwrap();
        assert_eq!(first, second);
        assert_eq!(first.token_endpoint, format!("{ISSUER}/oauth/token"));
        assert_eq!(fake.calls_to("/.well-known/openid-configuration"), 1);
    }

    #[test]
    fn expired_discovery_cache_is_refetched() {
        let (fake, store, clock) = (FakeClerk::new(), MemoryStore::new(), ManualClock::at(1000));
        block_on(discover(&fake, &store, &clock, ISSUER)).unwrap();
        clock.advance(DISCOVERY_TTL_SECS);
        block_on(discover(&fake, &store, &clock, ISSUER)).unwrap();
        assert_eq!(fake.calls_to("/.well-known/openid-configuration"), 2);
    }

    #[test]
    fn corrupt_discovery_cache_is_replaced() {
        let (fake, store, clock) = (FakeClerk::new(), MemoryStore::new(), ManualClock::at(1000));
        store.set(&keys::discovery(ISSUER), b"not json").unwrap();
        let metadata = block_on(discover(&fake, &store, &clock, ISSUER)).unwrap();
        assert_eq!(metadata.issuer, ISSUER);
    }

    #[test]
    fn discovery_with_foreign_issuer_is_malformed() {
        let fake = FakeClerk::new();
        fake.respond("/.well-known/openid-configuration", 200, r#"{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t"}"#);
        let err = block_on(discover(&fake, &MemoryStore::new(), &ManualClock::at(0), ISSUER)).unwrap_err();
        assert!(matches!(err, ClerkError::Malformed { .. }), "{err:?}");
    }

    #[test]
    fn discovery_garbage_is_malformed_and_not_cached() {
        let (fake, store) = (FakeClerk::new(), MemoryStore::new());
        fake.respond("/.well-known/openid-configuration", 200, "<html>oops</html>");
        let err = block_on(discover(&fake, &store, &ManualClock::at(0), ISSUER)).unwrap_err();
        assert!(matches!(err, ClerkError::Malformed { .. }));
        assert!(store.record_keys().is_empty());
    }

    #[test]
    fn discovery_when_clerk_is_down_is_temporary() {
        let fake = FakeClerk::new();
        fake.fail_with(OutboundError::Timeout { host: "demo".into() });
        let err = block_on(discover(&fake, &MemoryStore::new(), &ManualClock::at(0), ISSUER)).unwrap_err();
        assert!(err.is_temporary(), "{err:?}");
    }

    #[test]
    fn discovery_503_is_temporary_status() {
        let fake = FakeClerk::new();
        fake.respond("/.well-known/openid-configuration", 503, "");
        let err = block_on(discover(&fake, &MemoryStore::new(), &ManualClock::at(0), ISSUER)).unwrap_err();
        assert_eq!(err, ClerkError::Status { what: WHAT, status: 503 });
        assert!(err.is_temporary());
    }
}
