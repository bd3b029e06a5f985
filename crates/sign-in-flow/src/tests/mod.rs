//! Every path of the flow, natively: an in-memory store (that can be made to fail for some keys),
//! ManualClock and the fake Clerk.

mod abuse;
mod authorize_get;
mod authorize_post;
mod callback;
mod cimd;

use std::collections::HashMap;

use clerk_client::fake::{API, FakeClerk, ISSUER};
use futures::executor::block_on;
use platform::web::{Request, Response};
use platform::{KeyValueStore, ManualClock, MemoryAudit, Ports, StaticVariables, TestStore, ThreadSleep};

use crate::handle;

pub const BASE: &str = "https://mcp.example.com";
pub const REDIRECT: &str = "http://127.0.0.1:6274/oauth/callback";
pub const KEY_HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// The host of the tests: what each request's [`Ports`] are made of.
pub struct TestEnv<S = TestStore> {
    pub store: S,
    pub clock: ManualClock,
    pub http: FakeClerk,
    pub vars: StaticVariables,
    pub audit: MemoryAudit,
}

impl<S: KeyValueStore> TestEnv<S> {
    pub fn new(store: S) -> Self {
        Self {
            store,
            clock: ManualClock::at(1_700_000_000),
            http: FakeClerk::new(),
            vars: variables(),
            audit: MemoryAudit::new(),
        }
    }

    pub fn ports(&self) -> Ports<'_> {
        Ports {
            store: &self.store,
            clock: &self.clock,
            http: &self.http,
            sleep: &ThreadSleep,
            audit: &self.audit,
            variables: &self.vars,
        }
    }

    /// Answers `request` as a component does: the shared settings applied by the host, then
    /// the flow.
    pub fn handle(&self, mut request: Request) -> Response {
        platform::Settings::from_variables(&self.vars).apply(&mut request);
        block_on(handle(self.ports(), &request))
    }
}

pub struct Fixture {
    pub env: TestEnv,
    pub client_id: String,
    /// The client's redirect URI, which requests name.
    pub redirect_uri: String,
    /// Cookies of the one browser the tests drive (name -> value).
    pub cookies: HashMap<String, String>,
    /// The address the browser's requests come from, as the host reports it.
    pub addr: Option<std::net::SocketAddr>,
}

pub fn variables() -> StaticVariables {
    StaticVariables::new([
        ("clerk_frontend_api", ISSUER),
        ("clerk_client_id", "cid"),
        ("clerk_client_secret", "csecret"),
        ("clerk_secret_key", "sk_test_key"),
        ("clerk_api_url", API),
        ("cookie_encryption_key", KEY_HEX),
        ("public_base_url", BASE),
        ("native_redirect_schemes", "cursor,vscode"),
    ])
}

pub fn fixture() -> Fixture {
    fixture_with(r#""client_name":"Test client","client_uri":"https://client.example""#)
}

/// A fixture whose client registered with these extra metadata fields (JSON members).
pub fn fixture_with(extra_metadata: &str) -> Fixture {
    fixture_registering(REDIRECT, extra_metadata)
}

/// A fixture whose client registered `redirect_uri` (and a name).
pub fn fixture_with_redirect(redirect_uri: &str) -> Fixture {
    fixture_registering(redirect_uri, r#""client_name":"Test client""#)
}

fn fixture_registering(redirect_uri: &str, extra_metadata: &str) -> Fixture {
    let env = TestEnv::new(TestStore::default());
    let body =
        format!(r#"{{"redirect_uris":["{redirect_uri}"],"token_endpoint_auth_method":"none",{extra_metadata}}}"#);
    let registration = register(&env, &body);
    Fixture {
        env,
        client_id: registration.client.client_id,
        redirect_uri: redirect_uri.to_owned(),
        cookies: HashMap::new(),
        addr: None,
    }
}

/// Registers a client with this JSON metadata under the policy of [`variables`].
pub fn register(env: &TestEnv, body: &str) -> oauth_core::clients::Registration {
    let policy = oauth_core::rules::redirect_uri::RedirectPolicy::from_variables(&env.vars).unwrap();
    oauth_core::clients::register_client(&env.store, &env.clock, &policy, body.as_bytes()).unwrap()
}

pub fn query_of(location: &str) -> HashMap<String, String> {
    let query = location.split_once('?').map(|(_, q)| q).unwrap_or("");
    platform::web::decode_pairs(query.as_bytes()).into_iter().collect()
}

pub fn location(response: &Response) -> String {
    assert_eq!(response.status(), 302, "expected a redirect, got {} {}", response.status(), body(response));
    response.headers()["location"].to_str().unwrap().to_owned()
}

pub fn body(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

/// `name="..." value="..."` of a hidden input in the consent page.
pub fn hidden(page: &str, name: &str) -> String {
    let marker = format!(r#"name="{name}" value=""#);
    let start = page.find(&marker).unwrap_or_else(|| panic!("no {name} in page")) + marker.len();
    page[start..].split('"').next().unwrap().to_owned()
}

impl Fixture {
    /// The store without rate-limit counters, which every counted request writes, and without
    /// the expiry index and the sweep's keys.
    pub fn records(&self) -> HashMap<String, Vec<u8>> {
        let mut records = self.env.store.snapshot();
        records.retain(|key, _| !key.starts_with("ratelimit:") && !platform::housekeeping::is_housekeeping_key(key));
        records
    }

    pub fn authorize_query(&self, extra: &[(&str, &str)]) -> String {
        let challenge = platform::secret::sha256_base64url(b"verifier-verifier-verifier-verifier-verifier");
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", self.client_id.as_str()),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("state", "client-state"),
            ("code_challenge", challenge.as_str()),
            ("code_challenge_method", "S256"),
        ];
        // `mcp` unless `extra` names the scope.
        if !extra.iter().any(|(name, _)| *name == "scope") {
            pairs.push(("scope", "mcp"));
        }
        pairs.extend_from_slice(extra);
        platform::web::encode_pairs(pairs)
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    /// Sends a request as the test browser, keeping the cookies it sets.
    pub fn send(&mut self, method: &str, path_and_query: &str, form: Option<&[(&str, &str)]>) -> Response {
        self.send_with(method, path_and_query, &[], form)
    }

    /// [`Fixture::send`] with extra request headers.
    pub fn send_with(
        &mut self,
        method: &str,
        path_and_query: &str,
        headers: &[(&str, &str)],
        form: Option<&[(&str, &str)]>,
    ) -> Response {
        let mut builder = http::Request::builder().method(method).uri(path_and_query).header("host", "mcp.example.com");
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        if !self.cookies.is_empty() {
            builder = builder.header("cookie", self.cookie_header());
        }
        let body = match form {
            Some(pairs) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                platform::web::encode_pairs(pairs.iter().copied()).into_bytes()
            }
            None => Vec::new(),
        };
        let mut request: Request = builder.body(body).unwrap();
        if let Some(addr) = self.addr {
            request.extensions_mut().insert(platform::web::ClientAddr(addr));
        }
        let response = self.env.handle(request);
        // As the component does, once the response is out.
        let _ = platform::housekeeping::after_response(&self.env.store, &self.env.clock);
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            if value.is_empty() {
                self.cookies.remove(name); // cleared (Max-Age=0)
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        response
    }

    pub fn get_authorize(&mut self, extra: &[(&str, &str)]) -> Response {
        let q = self.authorize_query(extra);
        self.send("GET", &format!("/authorize?{q}"), None)
    }

    /// GET /authorize, then submit the consent page with `decision`.
    pub fn consent(&mut self, decision: &str) -> Response {
        let page = self.get_authorize(&[]);
        assert_eq!(page.status(), 200, "{}", body(&page));
        let html = body(&page);
        let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
        self.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", decision)]))
    }

    /// Approves and returns Clerk's authorization URL, with the fake primed for its nonce.
    pub fn approve_to_clerk(&mut self) -> String {
        let response = self.consent("approve");
        self.prime_nonce(&location(&response))
    }

    /// The whole sign-in, approved on the consent page: the client's redirect, with its code.
    /// This browser then remembers the approval, and the server holds it for Clerk's user.
    pub fn approve_and_sign_in(&mut self) -> String {
        let clerk_url = self.approve_to_clerk();
        location(&self.callback(&clerk_url, &[("code", "clerk-code")]))
    }

    pub fn prime_nonce(&self, clerk_url: &str) -> String {
        let q = query_of(clerk_url);
        self.env.http.id_claims.lock().unwrap()["nonce"] = serde_json::json!(q["nonce"]);
        clerk_url.to_owned()
    }

    /// Clerk's redirect back: GET /callback with `code` and `state`.
    pub fn callback(&mut self, clerk_url: &str, extra: &[(&str, &str)]) -> Response {
        let state = query_of(clerk_url)["state"].clone();
        let mut pairs = vec![("state", state.as_str())];
        pairs.extend_from_slice(extra);
        let q = platform::web::encode_pairs(pairs);
        self.send("GET", &format!("/callback?{q}"), None)
    }
}
