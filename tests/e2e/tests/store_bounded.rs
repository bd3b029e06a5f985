//! Bounded storage, across the whole store: the request handlers of all three components, run
//! natively on one in-memory store with a clock the test moves (the components run exactly
//! these handlers, each followed by the housekeeping it owes, `platform::housekeeping::
//! after_response`, as the components run it once the response is out; on spin-local time
//! cannot be moved), leave behind what abandoned and finished work leaves: consent pages never
//! submitted, sign-ins that never came back from Clerk, codes never redeemed, tokens that
//! expired, a revoked grant, SSE sessions whose stream died with messages still queued,
//! rate-limit counters and stream-presence counters. The clock then passes every lifetime,
//! ordinary traffic goes on, and the store holds live records only. The same holds at scale: an
//! unauthenticated caller at every default limit for an hour, and thousands of abandoned
//! sign-ins expiring at once.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code")]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use clerk_client::fake::{API, FakeClerk, ISSUER};
use futures::executor::block_on;
use http::StatusCode;
use oauth_core::StaticDirectory;
use oauth_core::endpoints::{Limits, Provider};
use platform::record::{counter_expiry, helper_owner};
use platform::web::{ClientAddr, Request, Response};
use platform::{
    Clock, HttpClient, KeyValueStore, ManualClock, MemoryAudit, MemoryStore, OutboundError, StaticVariables,
};
use serde_json::Value;

const BASE: &str = "https://mcp.example.com";
const REDIRECT: &str = "http://127.0.0.1:6274/oauth/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const HOUR: u64 = 3600;
const DAY: u64 = 24 * HOUR;

/// The MCP component makes no outbound call here (no image backend).
#[derive(Clone)]
struct NoOutbound;

impl HttpClient for NoOutbound {
    fn send(&self, _: http::Request<Vec<u8>>, _: Duration) -> platform::outbound::Sending<'_> {
        Box::pin(std::future::ready(Err(OutboundError::InvalidRequest("no outbound calls in this test".into()))))
    }
}

/// One deployment: one store, one clock, the fake Clerk, and what each component is configured with.
struct Deployment {
    store: MemoryStore,
    clock: ManualClock,
    clerk: FakeClerk,
    audit: MemoryAudit,
    vars: StaticVariables,
    mcp: mcp_server::Settings,
}

impl Deployment {
    fn new(now: u64) -> Self {
        let vars = StaticVariables::new([
            ("clerk_frontend_api", ISSUER),
            ("clerk_client_id", "cid"),
            ("clerk_client_secret", "csecret"),
            ("clerk_secret_key", "sk_test_key"),
            ("clerk_api_url", API),
            ("cookie_encryption_key", &"ab".repeat(32)),
            ("public_base_url", BASE),
        ]);
        let mcp = mcp_server::Settings {
            // On here, so tool calls leave counters too.
            tool_calls: platform::rate_limit::TOOL_CALLS.with_max(1000),
            // The fake Clerk signs every browser in as one user, who opens every stream here.
            sse: mcp_server::settings::SseSettings {
                max_streams_per_user: 100,
                ..mcp_server::settings::SseSettings::default()
            },
            ..mcp_server::Settings::default()
        };
        Self {
            store: MemoryStore::new(),
            clock: ManualClock::at(now),
            clerk: FakeClerk::new(),
            audit: MemoryAudit::new(),
            vars,
            mcp,
        }
    }

    /// The housekeeping a request owes once its response is out, as the components run it.
    fn housekeeping(&self) {
        platform::housekeeping::after_response(&self.store, &self.clock).unwrap();
    }

    fn oauth(&self, request: Request) -> Response {
        let response = self.oauth_handler(request);
        self.housekeeping();
        response
    }

    fn oauth_handler(&self, request: Request) -> Response {
        let settings = oauth_core::Settings {
            clients: oauth_core::ClientSettings {
                redirect_policy: Default::default(),
                documents: oauth_core::CimdSettings::disabled(),
            },
            refresh_grace_secs: 60,
            limits: Limits::default(),
            scopes: Default::default(),
        };
        let provider = Provider {
            ports: self.ports(&NoOutbound),
            directory: &StaticDirectory,
            settings,
            base_url: platform::web::BaseUrl { url: BASE.into(), configured: true },
        };
        block_on(provider.handle(&request))
    }

    fn sign_in(&self, request: Request) -> Response {
        let response = block_on(sign_in_flow::handle(self.ports(&self.clerk), &request));
        self.housekeeping();
        response
    }

    /// The ports of one request, with `http` for its outbound calls.
    fn ports<'a>(&'a self, http: &'a dyn HttpClient) -> platform::Ports<'a> {
        platform::Ports {
            store: &self.store,
            clock: &self.clock,
            http,
            sleep: &platform::ThreadSleep,
            audit: &self.audit,
            variables: &self.vars,
        }
    }

    fn services(&self) -> mcp_server::Services<'_> {
        mcp_server::Services { ports: self.ports(&NoOutbound), settings: &self.mcp }
    }

    /// A public client, registered from `addr`.
    fn register(&self, addr: &str) -> String {
        let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
        let request = http::Request::post(format!("{BASE}/register")).header("content-type", "application/json");
        let response = self.oauth(from(addr, request.body(body.into_bytes()).unwrap()));
        assert_eq!(response.status(), StatusCode::CREATED);
        json(&response)["client_id"].as_str().unwrap().to_owned()
    }

    fn token(&self, addr: &str, pairs: &[(&str, &str)]) -> Response {
        let body = platform::web::encode_pairs(pairs.iter().copied()).into_bytes();
        let request =
            http::Request::post(format!("{BASE}/token")).header("content-type", "application/x-www-form-urlencoded");
        self.oauth(from(addr, request.body(body).unwrap()))
    }

    /// Ordinary traffic for `minutes`: every `every` seconds, someone approves a consent page
    /// and goes to Clerk (a sign-in starts, storing its consent tombstone with its claim counter
    /// and its Clerk state for ten minutes, and sweeps its share after the response). People
    /// come from ten addresses, so none meets the cap on pending sign-ins.
    fn ordinary_traffic(&self, client_id: &str, minutes: u64, every: u64) {
        for n in 0..minutes * 60 / every {
            self.clock.advance(every);
            drop(Browser::new(self, &ordinary_address(n)).approve(client_id));
        }
    }
}

/// The addresses ordinary traffic comes from, in turn.
fn ordinary_address(n: u64) -> String {
    format!("192.0.2.{}", 100 + n % 10)
}

/// `request` from `addr` as the host hands it to the components: with the deployment's
/// `public_base_url` applied.
fn from(addr: &str, mut request: Request) -> Request {
    let addr: SocketAddr = format!("{addr}:40000").parse().unwrap();
    request.extensions_mut().insert(ClientAddr(addr));
    hosted(request)
}

/// `request` with the deployment's `public_base_url` applied, as the host hands it over.
fn hosted(mut request: Request) -> Request {
    platform::Settings { public_base_url: Some(BASE.into()), client_addr_header: None }.apply(&mut request);
    request
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn location(response: &Response) -> String {
    assert_eq!(response.status(), StatusCode::FOUND, "{}", String::from_utf8_lossy(response.body()));
    response.headers()["location"].to_str().unwrap().to_owned()
}

fn query_of(url: &str) -> HashMap<String, String> {
    let query = url.split_once('?').map(|(_, q)| q).unwrap_or("");
    platform::web::decode_pairs(query.as_bytes()).into_iter().collect()
}

/// One browser's walk through the sign-in, as far as the test lets it go.
struct Browser<'a> {
    deployment: &'a Deployment,
    addr: String,
    cookies: HashMap<String, String>,
}

impl<'a> Browser<'a> {
    fn new(deployment: &'a Deployment, addr: &str) -> Self {
        Self { deployment, addr: addr.to_owned(), cookies: HashMap::new() }
    }

    fn send(&mut self, method: &str, path: &str, form: Option<&[(&str, &str)]>) -> Response {
        let mut builder = http::Request::builder().method(method).uri(format!("{BASE}{path}"));
        if !self.cookies.is_empty() {
            let cookie: Vec<String> = self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect();
            builder = builder.header("cookie", cookie.join("; "));
        }
        let body = match form {
            Some(pairs) => {
                builder = builder.header("content-type", "application/x-www-form-urlencoded");
                platform::web::encode_pairs(pairs.iter().copied()).into_bytes()
            }
            None => Vec::new(),
        };
        let response = self.deployment.sign_in(from(&self.addr, builder.body(body).unwrap()));
        for value in response.headers().get_all("set-cookie") {
            let pair = value.to_str().unwrap().split(';').next().unwrap();
            let (name, value) = pair.split_once('=').unwrap();
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
        response
    }

    /// GET /authorize: the consent page (or, once approved, the redirect to Clerk).
    fn authorize(&mut self, client_id: &str) -> Response {
        let challenge = platform::secret::sha256_base64url(VERIFIER.as_bytes());
        let query = platform::web::encode_pairs([
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("state", "client-state"),
            ("code_challenge", &challenge),
            ("code_challenge_method", "S256"),
        ]);
        self.send("GET", &format!("/authorize?{query}"), None)
    }

    /// Approves the consent page: the redirect to Clerk's authorization URL.
    fn approve(&mut self, client_id: &str) -> String {
        location(&self.try_approve(client_id))
    }

    /// Approves the consent page: the answer (the redirect to Clerk, or a refusal).
    fn try_approve(&mut self, client_id: &str) -> Response {
        let page = self.authorize(client_id);
        if page.status() == StatusCode::FOUND {
            return page; // remembered
        }
        let html = String::from_utf8_lossy(page.body()).into_owned();
        let hidden = |name: &str| {
            let marker = format!(r#"name="{name}" value=""#);
            let start = html.find(&marker).unwrap() + marker.len();
            html[start..].split('"').next().unwrap().to_owned()
        };
        let (handle, csrf) = (hidden("handle"), hidden("csrf_token"));
        let form = [("handle", handle.as_str()), ("csrf_token", csrf.as_str()), ("decision", "approve")];
        self.send("POST", "/authorize", Some(&form))
    }

    /// Clerk signs the user in and sends the browser back: our code for the client.
    fn come_back(&mut self, clerk_url: &str) -> String {
        let query = query_of(clerk_url);
        self.deployment.clerk.id_claims.lock().unwrap()["nonce"] = serde_json::json!(query["nonce"]);
        let back = platform::web::encode_pairs([("state", query["state"].as_str()), ("code", "clerk-code")]);
        query_of(&location(&self.send("GET", &format!("/callback?{back}"), None)))["code"].clone()
    }
}

fn redeem(deployment: &Deployment, addr: &str, client_id: &str, code: &str) -> Value {
    let pairs = [
        ("grant_type", "authorization_code"),
        ("client_id", client_id),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let response = deployment.token(addr, &pairs);
    assert_eq!(response.status(), StatusCode::OK, "{}", String::from_utf8_lossy(response.body()));
    json(&response)
}

/// Opens an SSE stream (whose instance then dies) and queues `messages` answers on it.
fn abandoned_stream(deployment: &Deployment, access_token: &str, messages: usize) {
    let bearer = format!("Bearer {access_token}");
    let open = http::Request::get(format!("{BASE}/sse"))
        .header("authorization", &bearer)
        .header("accept", "text/event-stream")
        .body(Vec::new())
        .unwrap();
    let opened = mcp_server::sse::open_stream(&hosted(open), &deployment.services()).unwrap_or_else(|refused| {
        panic!("the stream does not open: {} {}", refused.status(), String::from_utf8_lossy(refused.body()))
    });
    deployment.housekeeping(); // the component's, after the first event
    let endpoint = opened.first_event.lines().find_map(|l| l.strip_prefix("data: ")).unwrap().to_owned();
    for n in 0..messages {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{n},"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}}}}}}"#
        );
        let post = http::Request::post(format!("{BASE}{endpoint}"))
            .header("authorization", &bearer)
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap();
        assert_eq!(
            block_on(mcp_server::sse::handle_message(&hosted(post), &deployment.services())).status(),
            StatusCode::ACCEPTED
        );
        deployment.housekeeping();
    }
}

/// Every key is live or not yet due to be swept: a record or an expiring counter whose minute of
/// expiry ended less than a minute ago (the sweep's margin, `platform::housekeeping::sweep::
/// MARGIN_SECS`), a helper of a record that exists, or a key of the expiry index for such a
/// minute (or an hour or day marker for a span that ends in such a minute).
fn assert_only_live(store: &MemoryStore, now: u64) {
    let swept_through = now / 60 - 2;
    let due = |expires_at: u64| expires_at / 60 <= swept_through;
    for key in store.keys() {
        if let Some(expires_at) = counter_expiry(&key) {
            assert!(!due(expires_at), "an expired counter is left: {key}");
        } else if let Some(owner) = helper_owner(&key) {
            assert!(store.exists(owner).unwrap(), "a helper without its record is left: {key}");
        } else if platform::housekeeping::is_housekeeping_key(&key) {
            let number = key.split(':').nth(2).and_then(|m| m.parse::<u64>().ok());
            let minutes = match key.split(':').nth(1) {
                Some("day") => 24 * 60,
                Some("hour") => 60,
                _ => 1,
            };
            let last_minute = number.map(|n| (n + 1) * minutes - 1);
            assert!(last_minute.is_none_or(|last| last > swept_through), "a swept index key is left: {key}");
        } else {
            let record: Value = serde_json::from_slice(&store.get(&key).unwrap().unwrap()).unwrap();
            let expires_at = record["expires_at"].as_u64().unwrap_or_else(|| panic!("no expiry: {key}"));
            assert!(!due(expires_at), "an expired record is left: {key}");
        }
    }
}

fn count(store: &MemoryStore, prefix: &str) -> usize {
    store.keys().iter().filter(|k| k.starts_with(prefix)).count()
}

#[test]
fn after_every_lifetime_has_passed_the_sweeps_leave_only_live_records() {
    let start = 1_800_000_000 - 1_800_000_000 % HOUR + 60;
    let d = Deployment::new(start);
    let address = |n: usize| format!("198.51.100.{}", n % 250 + 1);

    // Abandoned and finished work, from 60 addresses.
    let clients: Vec<String> = (0..60).map(|n| d.register(&address(n))).collect();
    for (n, client) in clients.iter().enumerate() {
        let mut browser = Browser::new(&d, &address(n));
        match n % 4 {
            0 => assert_eq!(browser.authorize(client).status(), StatusCode::OK, "a consent page never submitted"),
            1 => drop(browser.approve(client)), // off to Clerk, never back
            2 => {
                let clerk_url = browser.approve(client);
                browser.come_back(&clerk_url); // a code never redeemed
            }
            _ => {
                let clerk_url = browser.approve(client);
                let code = browser.come_back(&clerk_url);
                let tokens = redeem(&d, &address(n), client, &code);
                let access = tokens["access_token"].as_str().unwrap();
                abandoned_stream(&d, access, 3);
                if n % 8 == 3 {
                    let refresh = tokens["refresh_token"].as_str().unwrap();
                    d.oauth(from(&address(n), revoke_request(client, refresh)));
                }
            }
        }
        let refused =
            d.token(&address(n), &[("grant_type", "refresh_token"), ("client_id", client), ("refresh_token", "dead")]);
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "a failure counter");
    }
    let before = d.store.record_keys().len();
    for namespace in [
        "oauth:code:",
        "oauth:grant:",
        "oauth:access:",
        "oauth:refresh:",
        "oauth:revoked:",
        "signin:consent:",
        "signin:upstream:",
        "mcp:sse:session:",
        "mcp:sse:msg:",
        "mcp:sse:streams:",
        "ratelimit:",
    ] {
        assert!(count(&d.store, namespace) > 0, "the test left nothing under {namespace}");
    }

    // A month later, one client is still in use: it signs in again and uses its tokens.
    d.clock.advance(31 * DAY);
    let live_client = &clients[3];
    let mut browser = Browser::new(&d, "192.0.2.7");
    let clerk_url = browser.approve(live_client);
    let code = browser.come_back(&clerk_url);
    let live = redeem(&d, "192.0.2.7", live_client, &code);

    // Ordinary traffic goes on for a quarter of an hour: the sweeps it runs catch up.
    d.ordinary_traffic(live_client, 15, 60);
    let now = d.clock.now_unix();
    assert_only_live(&d.store, now);

    let after = d.store.record_keys();
    assert!(after.len() < before / 4, "{} keys before, {} after: {after:?}", before, after.len());
    // Each ordinary sign-in leaves a consent tombstone with its claim counter and a Clerk state.
    let consent = count(&d.store, "signin:consent:");
    assert!((2 * 10..=2 * 13).contains(&consent), "the ordinary traffic's last minutes of sign-ins: {consent}");
    assert_eq!(count(&d.store, "signin:upstream:") * 2, consent, "the same sign-ins' Clerk states");
    // The sign-in limit's counters of the ordinary traffic's last minutes (one per address and
    // minute), and nothing older.
    assert!(count(&d.store, "ratelimit:sign_in:") <= 3, "the ordinary traffic's last windows");
    for gone in [
        "oauth:code:",
        "oauth:revoked:",
        "mcp:sse:",
        "ratelimit:register:",
        "ratelimit:token_failures:",
        "ratelimit:tool_calls:",
    ] {
        assert_eq!(count(&d.store, gone), 0, "{gone} is left: {after:?}");
    }
    // A registration never used lives a day; one that got tokens, 90 days after its last use.
    assert_eq!(count(&d.store, "oauth:client:"), 15, "the clients that redeemed a code");
    assert_eq!(count(&d.store, "oauth:grant:"), 1, "the live grant");
    let live_access = oauth_core::keys::access_token(live["access_token"].as_str().unwrap());
    let live_refresh = oauth_core::keys::refresh_token(live["refresh_token"].as_str().unwrap());
    assert!(d.store.exists(&live_access).unwrap() && d.store.exists(&live_refresh).unwrap());
    assert_eq!(count(&d.store, "oauth:access:"), 1);
    assert_eq!(count(&d.store, "oauth:refresh:"), 1);
}

fn revoke_request(client_id: &str, token: &str) -> Request {
    let body = platform::web::encode_pairs([("token", token), ("client_id", client_id)]).into_bytes();
    http::Request::post(format!("{BASE}/revoke"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .unwrap()
}

impl Browser<'_> {
    /// A bare `GET /apps` with no session.
    fn apps(&mut self) -> Response {
        self.send("GET", "/apps", None)
    }

    /// `GET /callback` with a made-up state, as a scanner would send it.
    fn made_up_callback(&mut self, n: u64) -> Response {
        self.send("GET", &format!("/callback?code=c&state=made-up-{n}"), None)
    }
}

/// Unauthenticated `GET /sse` and `POST /mcp`: 401, nothing stored.
fn unauthenticated_mcp(d: &Deployment, addr: &str) {
    let sse = http::Request::get(format!("{BASE}/sse")).header("accept", "text/event-stream").body(Vec::new()).unwrap();
    let refused = mcp_server::sse::open_stream(&from(addr, sse), &d.services()).err().expect("refused");
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    d.housekeeping();
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#.as_bytes().to_vec();
    let mcp = http::Request::post(format!("{BASE}/mcp"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(body)
        .unwrap();
    assert_eq!(block_on(mcp_server::handle_mcp(&from(addr, mcp), &d.services())).status(), StatusCode::UNAUTHORIZED);
    d.housekeeping();
}

/// Keys of the store left by `prefix`es, without the index.
fn records_under(store: &MemoryStore, prefixes: &[&str]) -> usize {
    store.record_keys().iter().filter(|k| prefixes.iter().any(|p| k.starts_with(p))).count()
}

#[test]
fn two_thousand_abandoned_sign_ins_and_consent_pages_are_all_gone_after_the_next_sweeps() {
    let start = 1_800_000_000 - 1_800_000_000 % HOUR + 60;
    let d = Deployment::new(start);
    let client = d.register("192.0.2.1");
    for n in 0..2_000u64 {
        if n % 50 == 49 {
            d.clock.advance(1);
        }
        let address = format!("198.51.100.{}", n % 25 + 1); // 240 sign-in requests each, under the limit
        let mut browser = Browser::new(&d, &address);
        drop(browser.approve(&client)); // off to Clerk, never back
        assert_eq!(Browser::new(&d, &address).authorize(&client).status(), StatusCode::OK, "a page never submitted");
    }
    // A page never submitted stores nothing; each sign-in that went to Clerk stores three keys.
    let abandoned = records_under(&d.store, &["signin:", "ratelimit:sign_in:"]);
    assert_eq!(abandoned, 2_000 * 3 + 25, "consent tombstones with their claims, upstream states, counters");

    // Their ten minutes pass; then ordinary traffic, a sign-in started every ten seconds: two
    // minutes later (the sweep's margin), the expired records are due, and a minute on, gone.
    d.clock.advance(10 * 60);
    d.ordinary_traffic(&client, 3, 10);
    assert_only_live(&d.store, d.clock.now_unix());
    assert_eq!(count(&d.store, "signin:upstream:"), 3 * 6, "only the ordinary traffic's Clerk states");
    assert_eq!(count(&d.store, "signin:consent:"), 2 * 3 * 6, "only the ordinary traffic's consent tombstones");
    // One sign-in counter per address and minute: the ordinary traffic's 18 requests came from
    // its ten addresses; the 25 abandoning addresses' counters are gone.
    assert!(count(&d.store, "ratelimit:sign_in:") <= 18, "only the ordinary traffic's windows");
}

/// One unauthenticated address at every default limit for an hour, through every endpoint
/// that stores something for such a caller: each second, a sign-in started and abandoned at
/// Clerk (consent page and approval), a consent page never submitted, a bare `/apps`, a
/// `/callback` with a made-up state (five sign-in requests: 300 a minute, the `sign_in`
/// limit), a failed `/token` (60 a minute, `token_failures`), a `/revoke` of an unknown token,
/// an unauthenticated `/sse` and `/mcp`; and a registration every 36 seconds (100 an hour,
/// `register`). The store stays bounded while it goes on, and once every record the caller
/// made has expired, the following sweeps leave only live records: the clients it registered
/// (90 days unless used) and nothing else of its.
#[test]
fn a_store_filled_by_an_unauthenticated_caller_at_the_default_limits_for_an_hour_shrinks_back_to_its_live_records() {
    let start = 1_800_000_000 - 1_800_000_000 % HOUR;
    let d = Deployment::new(start);
    let legit = d.register("192.0.2.1");
    let caller = "203.0.113.9";
    let mut registered = Vec::new();
    let (mut largest, mut approved, mut capped) = (0, 0, 0);
    for second in 0..HOUR {
        d.clock.advance(1);
        if second % 36 == 0 {
            registered.push(d.register(caller));
        }
        let client = registered.last().unwrap();
        // Past `sign_in_max_pending_per_address` (100 sign-ins in progress) the caller is refused.
        match Browser::new(&d, caller).try_approve(client).status() {
            StatusCode::FOUND => approved += 1,
            StatusCode::TOO_MANY_REQUESTS => capped += 1,
            other => panic!("approving answered {other}"),
        }
        assert_eq!(Browser::new(&d, caller).authorize(client).status(), StatusCode::OK);
        assert_ne!(Browser::new(&d, caller).apps().status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(Browser::new(&d, caller).made_up_callback(second).status(), StatusCode::BAD_REQUEST);
        let failed =
            d.token(caller, &[("grant_type", "refresh_token"), ("client_id", "made-up"), ("refresh_token", "x")]);
        assert_eq!(failed.status(), StatusCode::UNAUTHORIZED, "{}", String::from_utf8_lossy(failed.body()));
        assert_eq!(d.oauth(from(caller, revoke_request(client, "unknown-token"))).status(), StatusCode::OK);
        unauthenticated_mcp(&d, caller);
        if second % 60 == 59 {
            largest = largest.max(d.store.keys().len());
        }
    }
    assert_eq!(registered.len(), 100);
    assert!(capped > 0 && approved <= 100 * 7, "the cap held the caller's sign-ins: {approved} went to Clerk");
    // At most 100 of the caller's sign-ins are in progress at any time (three keys each, with
    // their index entries), and the sweep runs at most two minutes behind.
    assert!(largest < 2 * 13 * 240 + 1_000, "the store grew to {largest} keys");

    // Ordinary traffic goes on after the caller stopped: every record it made that expires
    // goes, and the store shrinks back to what is live.
    d.ordinary_traffic(&legit, 15, 10);
    assert_only_live(&d.store, d.clock.now_unix());
    let consent = count(&d.store, "signin:consent:");
    assert!((2 * 60..=2 * 78).contains(&consent), "only the ordinary traffic's last minutes: {consent}");
    assert_eq!(count(&d.store, "signin:upstream:") * 2, consent, "the same sign-ins' Clerk states");
    assert_eq!(count(&d.store, "oauth:client:"), 101, "the clients live 90 days unless used");
    for gone in ["ratelimit:register:", "ratelimit:token_failures:"] {
        assert_eq!(count(&d.store, gone), 0, "{gone}");
    }
    let live = d.store.keys().len();
    eprintln!("largest {largest} keys during the hour, {live} after");
    // The clients with their index entries, and the ordinary traffic's last 13 minutes of
    // sign-ins (6 a minute, three keys and two index entries each), their addresses' counters,
    // and the index's minute, hour and day markers.
    // The ten ordinary addresses hold a sign-in counter for each of the last three minutes and
    // a pending-sign-in counter for each of two ten-minute windows (each with an index entry).
    let bound = 101 * 2 + 13 * 6 * 5 + 10 * (3 + 2) * 2 + 30;
    assert!(live < bound, "{live} keys: the clients, their index entries, the ordinary traffic's records");
}
