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
    async fn send(&self, request: Sent, _timeout: Duration) -> Result<http::Response<Vec<u8>>, OutboundError> {
        self.sent.lock().unwrap().push(request);
        let (status, body) = self.answer.clone()?;
        Ok(http::Response::builder().status(status).body(body).unwrap())
    }
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

/// A store, clock, config and audit trail for driving the handlers, with access tokens already
/// issued.
pub struct World {
    pub store: CountingStore,
    pub clock: platform::ManualClock,
    pub config: crate::McpConfig,
    pub audit: platform::MemoryAudit,
}

impl World {
    /// `config` with `public_base_url` = [`BASE`]; each `(token, user_id)` gets a live token for
    /// `<BASE>/mcp` with scope `mcp`.
    pub fn new(config: crate::McpConfig, users: &[(&str, &str)]) -> Self {
        let config = crate::McpConfig { public_base_url: Some(BASE.into()), ..config };
        let world = Self {
            store: CountingStore::default(),
            clock: platform::ManualClock::at(NOW),
            config,
            audit: platform::MemoryAudit::new(),
        };
        for (token, user_id) in users {
            let resource = format!("{BASE}/mcp");
            issue_token(&world.store.inner, token, &resource, &["mcp"], NOW + 3600, props(user_id, None));
        }
        world
    }

    /// The handlers' services over this world, with no outbound HTTP expected.
    pub fn services(&self) -> crate::Services<'_, FakeHttp> {
        crate::Services {
            store: &self.store,
            clock: &self.clock,
            http: FakeHttp::unused(),
            config: &self.config,
            audit: &self.audit,
        }
    }
}
