//! Flow tests over the whole model: authorize → code → tokens → refresh → revoke.

mod authorize_flow;
mod concurrency;
pub mod documents;
mod expiry;
mod token_flow;

use futures::executor::block_on;
use platform::{ManualClock, MemoryStore};

use crate::authorize::{complete_authorization, validate_authorization_request};
use crate::cimd::{CimdSettings, ClientResolver};
use crate::clients::{Registration, register_client};
use crate::props::UserProps;
use crate::rules::redirect_uri::RedirectPolicy;
use crate::tokens::{CodeExchange, Rotation, TokenResponse, exchange_code};
use crate::validated::ValidatedAuthorization;

pub const BASE: &str = "https://mcp.example.com";
pub const REDIRECT: &str = "http://127.0.0.1:4000/callback";
/// RFC 7636 appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Fixture {
    pub store: MemoryStore,
    pub clock: ManualClock,
    pub client: Registration,
    /// Client metadata documents on the "internet".
    pub documents: documents::FakeDocuments,
}

pub fn fixture() -> Fixture {
    let store = MemoryStore::new();
    let clock = ManualClock::at(1_700_000_000);
    let client = register_public_client(&store, &clock, "Test client");
    Fixture { store, clock, client, documents: documents::FakeDocuments::default() }
}

/// The address test requests come from.
pub const CALLER: std::net::IpAddr = std::net::IpAddr::V4(std::net::Ipv4Addr::new(192, 0, 2, 7));

/// Documents on, for a server at [`BASE`] (not on loopback).
pub fn cimd_on() -> CimdSettings {
    CimdSettings::new(None, BASE).unwrap()
}

/// Registers a public client (no secret) redirecting to [`REDIRECT`].
fn register_public_client(store: &MemoryStore, clock: &ManualClock, name: &str) -> Registration {
    let body =
        format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","client_name":"{name}"}}"#);
    register_client(store, clock, &RedirectPolicy::default(), body.as_bytes()).unwrap()
}

/// The default grace window; waits block the calling thread (each test request has its own).
pub fn rotation() -> Rotation<'static> {
    let per_grant = platform::rate_limit::REFRESHES.with_max(platform::rate_limit::REFRESHES.default_max);
    Rotation { grace_secs: Rotation::DEFAULT_GRACE_SECS, sleep: &platform::ThreadSleep, per_grant }
}

/// [`crate::tokens::refresh`] under the default scope policy (`image_roles` unset).
pub async fn refresh_default(
    store: &dyn platform::KeyValueStore,
    clock: &dyn platform::Clock,
    directory: &dyn crate::directory::UserDirectory,
    rotation: &Rotation<'_>,
    client: &crate::records::ClientRecord,
    request: &crate::tokens::RefreshRequest<'_>,
) -> Result<crate::tokens::Issued, crate::tokens::GrantError> {
    let scopes = crate::rules::scope::ScopePolicy::default();
    crate::tokens::refresh(store, clock, directory, &scopes, rotation, client, request).await
}

pub fn props() -> UserProps {
    UserProps { user_id: "user_1".into(), role: Some("admin".into()), ..UserProps::default() }
}

pub fn query(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

impl Fixture {
    /// A second public client in the same store, with the same redirect URI.
    pub fn another_client(&self) -> Registration {
        register_public_client(&self.store, &self.clock, "Other client")
    }

    pub fn client_id(&self) -> String {
        self.client.client.client_id.clone()
    }

    /// The store without rate-limit counters, which every counted request writes, and without the
    /// expiry index's entries.
    pub fn records(&self) -> std::collections::HashMap<String, Vec<u8>> {
        let mut records = self.store.snapshot();
        records.retain(|key, _| !key.starts_with("ratelimit:") && !platform::housekeeping::is_housekeeping_key(key));
        records
    }

    /// A valid authorization request's query, with `extra` appended.
    pub fn authorize_query(&self, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let id = self.client_id();
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", id.as_str()),
            ("redirect_uri", REDIRECT),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
            ("resource", "https://mcp.example.com/mcp"),
        ];
        pairs.extend_from_slice(extra);
        query(&pairs)
    }

    /// Resolves client ids against this fixture's store and documents.
    pub fn resolver(&self) -> ClientResolver<'_> {
        ClientResolver {
            store: &self.store,
            clock: &self.clock,
            http: &self.documents,
            settings: cimd_on(),
            redirect_policy: &STRICT_POLICY,
            caller: Some(CALLER),
        }
    }

    pub fn validate(&self, query: &[(String, String)]) -> Result<ValidatedAuthorization, crate::AuthorizeError> {
        block_on(validate_authorization_request(&self.resolver(), BASE, &RedirectPolicy::default(), query))
    }

    pub fn validated(&self) -> ValidatedAuthorization {
        self.validate(&self.authorize_query(&[])).unwrap()
    }

    /// Runs the authorization and returns the code.
    pub fn code(&self) -> String {
        let location = complete_authorization(&self.store, &self.clock, &self.validated(), props()).unwrap();
        code_from(&location)
    }

    pub fn exchange(&self, code: &str) -> Result<TokenResponse, crate::tokens::GrantError> {
        let request =
            CodeExchange { code, redirect_uri: Some(REDIRECT), code_verifier: Some(VERIFIER), resource: None };
        exchange_code(
            &self.store,
            &self.clock,
            &crate::rules::scope::ScopePolicy::default(),
            &self.client.client,
            &request,
        )
        .map(|issued| issued.response)
    }

    pub fn tokens(&self) -> TokenResponse {
        self.exchange(&self.code()).unwrap()
    }

    /// Runs an authorization with `extra` request parameters for the user `props`; returns the code.
    pub fn code_for(&self, extra: &[(&str, &str)], props: UserProps) -> String {
        let validated = self.validate(&self.authorize_query(extra)).unwrap();
        code_from(&complete_authorization(&self.store, &self.clock, &validated, props).unwrap())
    }

    /// Tokens of an authorization that asked for `scope`.
    pub fn tokens_for_scope(&self, scope: &str) -> TokenResponse {
        self.exchange(&self.code_for(&[("scope", scope)], props())).unwrap()
    }
}

/// The default redirect policy: reverse-domain-name private-use schemes only.
pub static STRICT_POLICY: std::sync::LazyLock<RedirectPolicy> = std::sync::LazyLock::new(RedirectPolicy::default);

/// `validate_authorization_request` at [`BASE`] with the default (strict) redirect policy.
pub fn validate(
    f: &Fixture,
    query: &[(String, String)],
) -> Result<ValidatedAuthorization, crate::authorize::AuthorizeError> {
    f.validate(query)
}

pub fn code_from(location: &str) -> String {
    let query = location.split_once('?').unwrap().1;
    platform::web::decode_pairs(query.as_bytes()).into_iter().find(|(k, _)| k == "code").unwrap().1
}
