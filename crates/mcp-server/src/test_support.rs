//! Test doubles shared by the unit tests.

use platform::{HttpClient, OutboundError};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Sent = http::Request<Vec<u8>>;

/// An outbound client that answers every request with one canned response and records requests.
#[derive(Clone)]
pub struct FakeHttp {
    answer: Result<(u16, Vec<u8>), OutboundError>,
    sent: Arc<Mutex<Vec<Sent>>>,
}

impl FakeHttp {
    pub fn raw(status: u16, body: Vec<u8>) -> Self {
        Self { answer: Ok((status, body)), sent: Arc::default() }
    }
    pub fn json(status: u16, body: serde_json::Value) -> Self {
        Self::raw(status, body.to_string().into_bytes())
    }
    pub fn failing(error: OutboundError) -> Self {
        Self { answer: Err(error), sent: Arc::default() }
    }
    /// A client for tests where no outbound request is expected.
    pub fn unused() -> Self {
        Self::failing(OutboundError::InvalidRequest("unexpected outbound request".into()))
    }
    pub fn last_request(&self) -> Sent {
        self.sent.lock().unwrap().last().cloned().expect("no request was sent")
    }
    pub fn request_count(&self) -> usize {
        self.sent.lock().unwrap().len()
    }
}

impl HttpClient for FakeHttp {
    fn send(&self, request: Sent, _timeout: Duration) -> platform::outbound::Sending<'_> {
        self.sent.lock().unwrap().push(request);
        let answer =
            self.answer.clone().map(|(status, body)| http::Response::builder().status(status).body(body).unwrap());
        Box::pin(std::future::ready(answer))
    }
}

/// A toolbox for `user`, holding a token with every scope, with `settings` and `http`, which
/// live as long as the test process (a test's toolbox borrows them, as a request's borrows its
/// ports).
pub fn toolbox_for(
    user: UserProps,
    settings: crate::tools::ToolSettings,
    http: FakeHttp,
) -> crate::tools::Toolbox<'static> {
    toolbox_with_scopes(user, oauth_core::rules::scope::everything(), settings, http)
}

/// [`toolbox_for`] with a token holding `scopes`.
pub fn toolbox_with_scopes(
    user: UserProps,
    scopes: Vec<String>,
    settings: crate::tools::ToolSettings,
    http: FakeHttp,
) -> crate::tools::Toolbox<'static> {
    crate::tools::Toolbox::new(user, scopes, Box::leak(Box::new(settings)), Box::leak(Box::new(http)))
}

use oauth_core::{AccessTokenRecord, UserProps};
use platform::{KeyValueStore, StoreError};
use std::sync::atomic::{AtomicUsize, Ordering};

pub const BASE: &str = "https://mcp.example";
pub const NOW: u64 = 1_800_000_000;

/// Stores an access-token record the way oauth-core's token endpoint does.
pub fn issue_token(
    store: &dyn KeyValueStore,
    token: &str,
    resource: &str,
    scope: &[&str],
    expires_at: u64,
    props: UserProps,
) {
    let record = AccessTokenRecord {
        v: oauth_core::records::RECORD_VERSION,
        client_id: "client_1".into(),
        grant_id: "grant_1".into(),
        scope: scope.iter().map(|s| (*s).to_owned()).collect(),
        resource: resource.into(),
        expires_at,
        props,
    };
    store.set(&oauth_core::keys::access_token(token), &serde_json::to_vec(&record).unwrap()).unwrap();
}

pub fn props(user_id: &str, role: Option<&str>) -> UserProps {
    UserProps { user_id: user_id.into(), role: role.map(str::to_owned), ..UserProps::default() }
}

/// A store that counts operations and can be made to fail.
#[derive(Default)]
pub struct CountingStore {
    pub inner: platform::MemoryStore,
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
    pub broken: std::sync::atomic::AtomicBool,
}

impl CountingStore {
    fn check(&self) -> Result<(), StoreError> {
        if self.broken.load(Ordering::SeqCst) { Err(StoreError::Backend("disk on fire".into())) } else { Ok(()) }
    }
}

impl KeyValueStore for CountingStore {
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.check()?;
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.get(key)
    }
    fn set(&self, key: &str, value: &[u8]) -> Result<(), StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.set(key, value)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.delete(key)
    }
    fn increment(&self, key: &str, delta: i64) -> Result<i64, StoreError> {
        self.check()?;
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.increment(key, delta)
    }
    fn list_keys(&self) -> Result<Vec<String>, StoreError> {
        self.check()?;
        self.inner.list_keys()
    }
}

/// A store, clock, settings and audit trail for driving the handlers, with access tokens
/// already issued.
pub struct World {
    pub store: CountingStore,
    pub clock: platform::ManualClock,
    pub config: crate::Settings,
    pub audit: platform::MemoryAudit,
    /// Outbound HTTP, where none is expected.
    http: FakeHttp,
    pub vars: platform::StaticVariables,
}

impl World {
    /// A server at [`BASE`] (its `public_base_url`, which [`World::configured`] applies) with
    /// `config`; each `(token, user_id)` gets a live token for `<BASE>/mcp` with scope `mcp`.
    pub fn new(config: crate::Settings, users: &[(&str, &str)]) -> Self {
        let world = Self {
            store: CountingStore::default(),
            clock: platform::ManualClock::at(NOW),
            config,
            audit: platform::MemoryAudit::new(),
            http: FakeHttp::unused(),
            vars: platform::StaticVariables::new([("public_base_url", BASE)]),
        };
        for (token, user_id) in users {
            let resource = format!("{BASE}/mcp");
            issue_token(&world.store.inner, token, &resource, &["mcp"], NOW + 3600, props(user_id, None));
        }
        world
    }

    /// `request` as the host hands it over: with the shared settings applied.
    pub fn configured(&self, request: &platform::web::Request) -> platform::web::Request {
        let mut request = request.clone();
        platform::Settings::from_variables(&self.vars).apply(&mut request);
        request
    }

    /// The handlers' services over this world, with no outbound HTTP expected.
    pub fn services(&self) -> crate::Services<'_> {
        crate::Services {
            ports: platform::Ports {
                store: &self.store,
                clock: &self.clock,
                http: &self.http,
                sleep: &platform::ThreadSleep,
                audit: &self.audit,
                variables: &self.vars,
            },
            settings: &self.config,
        }
    }
}
