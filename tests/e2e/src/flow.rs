//! OAuth flow helpers on top of [`TestApp`]: register, authorize (through consent and the mock
//! Clerk), exchange, refresh, revoke.
//!
//! The consent form contract (sign-in-flow): `POST /authorize` with its hidden inputs plus
//! `decision=approve` or `decision=deny`.

use base64::Engine as _;
use serde_json::{Value, json};

use crate::TestApp;
use crate::browser::{Browser, form_inputs};
use crate::http::{self, Response};

/// A registered client.
#[derive(Debug, Clone)]
pub struct Client {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub redirect_uri: String,
    /// The whole `/register` answer.
    pub registration: Value,
}

/// A PKCE pair.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

impl Pkce {
    pub fn new() -> Self {
        let verifier = random();
        let challenge = platform::secret::sha256_base64url(verifier.as_bytes());
        Self { verifier, challenge }
    }
}

impl Default for Pkce {
    fn default() -> Self {
        Self::new()
    }
}

/// The end of a successful authorization: the client's redirect carried `code`.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub code: String,
    /// The client `state` that came back.
    pub state: String,
    /// The PKCE verifier to redeem `code` with.
    pub verifier: String,
    /// The final redirect to the client (`Location` = redirect_uri?code&state&iss).
    pub redirect: Response,
}

/// The redirect URI test clients register (loopback, nothing listens there).
pub const PUBLIC_REDIRECT_URI: &str = "http://127.0.0.1:9/callback";
pub const CONFIDENTIAL_REDIRECT_URI: &str = "https://client.example/oauth/callback";

fn random() -> String {
    platform::secret::random_token().unwrap_or_else(|e| panic!("random: {e}"))
}

impl TestApp {
    /// `POST /register` with `metadata` as is.
    pub fn register(&self, metadata: &Value) -> Response {
        http::post_json(&self.url("/register"), metadata, &[])
    }

    /// Registers a public (`none`) or confidential (`client_secret_basic`) client; panics unless 201.
    pub fn register_client(&self, confidential: bool) -> Client {
        let (method, redirect_uri) = if confidential {
            ("client_secret_basic", CONFIDENTIAL_REDIRECT_URI)
        } else {
            ("none", PUBLIC_REDIRECT_URI)
        };
        self.register_client_with(&json!({
            "client_name": if confidential { "Confidential Test Client" } else { "Public Test Client" },
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": method,
            "grant_types": ["authorization_code", "refresh_token"],
            "response_types": ["code"],
        }))
    }

    /// Registers with custom metadata (first redirect URI is used); panics unless 201.
    pub fn register_client_with(&self, metadata: &Value) -> Client {
        let response = self.register(metadata);
        assert_eq!(response.status, 201, "register: {}", response.text());
        let registration = response.json();
        Client {
            client_id: registration["client_id"].as_str().unwrap_or_default().to_owned(),
            client_secret: registration["client_secret"].as_str().map(str::to_owned),
            redirect_uri: metadata["redirect_uris"][0].as_str().unwrap_or_default().to_owned(),
            registration,
        }
    }

    /// The `/authorize` URL for `client` with PKCE S256, `state`, `scope=mcp` and our resource.
    pub fn authorize_url(&self, client: &Client, pkce: &Pkce, state: &str) -> String {
        self.authorize_url_for_scope(client, pkce, state, Some("mcp"))
    }

    /// [`TestApp::authorize_url`] asking for `scope` (`None`: no `scope` parameter).
    pub fn authorize_url_for_scope(&self, client: &Client, pkce: &Pkce, state: &str, scope: Option<&str>) -> String {
        let resource = self.mcp_resource();
        let mut pairs = vec![
            ("response_type", "code"),
            ("client_id", client.client_id.as_str()),
            ("redirect_uri", client.redirect_uri.as_str()),
            ("code_challenge", pkce.challenge.as_str()),
            ("code_challenge_method", "S256"),
            ("state", state),
        ];
        if let Some(scope) = scope {
            pairs.push(("scope", scope));
        }
        pairs.push(("resource", resource.as_str()));
        self.url(&format!("/authorize?{}", platform::web::encode_pairs(pairs)))
    }

    /// Submits the consent page with `decision` (`approve` or `deny`).
    pub fn submit_consent(&self, browser: &mut Browser, consent_page: &Response, decision: &str) -> Response {
        assert_eq!(consent_page.status, 200, "expected the consent page: {}", consent_page.text());
        let inputs = form_inputs(&consent_page.text());
        let mut pairs: Vec<(&str, &str)> =
            inputs.iter().filter(|(k, _)| k != "decision").map(|(k, v)| (k.as_str(), v.as_str())).collect();
        pairs.push(("decision", decision));
        browser.post_form(&self.url("/authorize"), &pairs)
    }

    /// Follows a redirect to the mock Clerk as `email`, and Clerk's redirect back to `/callback`;
    /// returns the `/callback` response.
    pub fn through_clerk(&self, browser: &mut Browser, to_clerk: &Response, email: &str) -> Response {
        let location = to_clerk
            .location()
            .unwrap_or_else(|| panic!("expected a redirect to Clerk: {} {}", to_clerk.status, to_clerk.text()));
        assert!(location.starts_with(self.clerk().base_url()), "not a redirect to Clerk: {location}");
        self.clerk().set_next_user(email);
        let back = browser.get(location);
        let callback =
            back.location().unwrap_or_else(|| panic!("Clerk did not redirect back: {} {}", back.status, back.text()));
        browser.get(callback)
    }

    /// The whole browser part: `/authorize` -> consent (approved, unless remembered) -> Clerk as
    /// `email` -> `/callback` -> the client's redirect with `code`. Panics if any step differs.
    pub fn authorize_as(&self, browser: &mut Browser, client: &Client, email: &str) -> Authorized {
        self.authorize(browser, client, email, Some("mcp"), false)
    }

    /// [`TestApp::authorize_as`] asking for `scope` (`None`: no `scope` parameter). A consent
    /// page shown after sign-in (the server holds no approval of this user covering `scope`) is
    /// approved too.
    pub fn authorize_for_scope(
        &self,
        browser: &mut Browser,
        client: &Client,
        email: &str,
        scope: Option<&str>,
    ) -> Authorized {
        self.authorize(browser, client, email, scope, true)
    }

    fn authorize(
        &self,
        browser: &mut Browser,
        client: &Client,
        email: &str,
        scope: Option<&str>,
        approve_after_sign_in: bool,
    ) -> Authorized {
        let pkce = Pkce::new();
        let state = random();
        let first = browser.get(&self.authorize_url_for_scope(client, &pkce, &state, scope));
        let to_clerk = if first.status == 200 { self.submit_consent(browser, &first, "approve") } else { first };
        let mut redirect = self.through_clerk(browser, &to_clerk, email);
        if approve_after_sign_in && redirect.status == 200 {
            redirect = self.submit_consent(browser, &redirect, "approve");
        }
        let location = redirect
            .location()
            .unwrap_or_else(|| panic!("/callback did not redirect: {} {}", redirect.status, redirect.text()));
        assert!(location.starts_with(&client.redirect_uri), "callback went elsewhere: {location}");
        let query = redirect.location_query();
        let code = query.get("code").unwrap_or_else(|| panic!("no code in {location}")).clone();
        assert_eq!(query.get("state"), Some(&state), "state not echoed");
        Authorized { code, state, verifier: pkce.verifier, redirect }
    }

    /// `POST /token` with `pairs`, authenticating as `client` (Basic for confidential clients,
    /// `client_id` in the body for public ones).
    pub fn token_request(&self, client: &Client, pairs: &[(&str, &str)]) -> Response {
        self.authenticated_post("/token", client, pairs)
    }

    /// POSTs a form to `path` with `client`'s credentials: Basic for confidential clients,
    /// `client_id` in the body for public ones.
    fn authenticated_post(&self, path: &str, client: &Client, pairs: &[(&str, &str)]) -> Response {
        let mut body: Vec<(&str, &str)> = pairs.to_vec();
        let basic;
        let mut headers = Vec::new();
        match &client.client_secret {
            Some(secret) => {
                basic = format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(format!("{}:{secret}", client.client_id))
                );
                headers.push(("authorization", basic.as_str()));
            }
            None => body.push(("client_id", &client.client_id)),
        }
        http::post_form(&self.url(path), &body, &headers)
    }

    /// Redeems an authorization code.
    pub fn exchange_code(&self, client: &Client, code: &str, verifier: &str) -> Response {
        let resource = self.mcp_resource();
        self.token_request(
            client,
            &[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &client.redirect_uri),
                ("code_verifier", verifier),
                ("resource", &resource),
            ],
        )
    }

    /// Uses a refresh token.
    pub fn refresh(&self, client: &Client, refresh_token: &str) -> Response {
        self.token_request(client, &[("grant_type", "refresh_token"), ("refresh_token", refresh_token)])
    }

    /// Uses a refresh token, asking for `scope`.
    pub fn refresh_for_scope(&self, client: &Client, refresh_token: &str, scope: &str) -> Response {
        let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("scope", scope)];
        self.token_request(client, &pairs)
    }

    /// Revokes a token (RFC 7009).
    pub fn revoke(&self, client: &Client, token: &str) -> Response {
        self.authenticated_post("/revoke", client, &[("token", token)])
    }

    /// The MCP resource tokens are bound to: `<public base URL>/mcp`, the same on every instance
    /// of a deployment ([`TestApp::start_peer`] sets `public_base_url` to the first's origin).
    pub fn mcp_resource(&self) -> String {
        let configured = self.variables.iter().rev().find(|(name, _)| name == "public_base_url").map(|(_, v)| v);
        format!("{}/mcp", configured.map_or(self.base_url(), String::as_str))
    }

    /// `POST /mcp` `initialize` with `access_token`: 200 when the token is live, 401 when not.
    pub fn mcp_initialize(&self, access_token: &str) -> Response {
        http::send(
            "POST",
            &self.url("/mcp"),
            &[
                ("authorization", &format!("Bearer {access_token}")),
                ("content-type", "application/json"),
                ("accept", "application/json, text/event-stream"),
            ],
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#,
        )
    }

    /// Registers a public client, signs in as `email` and redeems the code: the token response.
    pub fn tokens_for(&self, email: &str) -> Value {
        let client = self.register_client(false);
        let auth = self.authorize_as(&mut Browser::new(), &client, email);
        let response = self.exchange_code(&client, &auth.code, &auth.verifier);
        assert_eq!(response.status, 200, "token: {}", response.text());
        response.json()
    }
}

/// Runs `run` on `threads` threads released together by a barrier; the responses in thread order.
pub fn race(threads: usize, run: impl Fn() -> Response + Send + Sync + 'static) -> Vec<Response> {
    let run = std::sync::Arc::new(run);
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(threads));
    let handles: Vec<_> = (0..threads)
        .map(|_| {
            let (run, barrier) = (run.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                run()
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap_or_else(|_| panic!("request thread panicked"))).collect()
}

/// Signs a public client in as `email` on `app`, then redeems the one code from `threads`
/// concurrent requests (spread over `apps`, instances sharing one store) and asserts exactly
/// one 200 and `400 invalid_grant` for all others; and, since the code was presented more than
/// once, that the one pair issued is revoked: its access token is refused at `/mcp` and its
/// refresh token at `/token`, on every instance.
pub fn assert_concurrent_code_redemptions_have_one_winner(
    apps: &[std::sync::Arc<TestApp>],
    threads: usize,
    email: &str,
) {
    let app = &apps[0];
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, email);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = race(threads, {
        let (apps, client, auth) = (apps.to_vec(), client.clone(), auth.clone());
        move || {
            let app = &apps[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % apps.len()];
            app.exchange_code(&client, &auth.code, &auth.verifier)
        }
    });
    let all = || responses.iter().map(|r| (r.status, r.text())).collect::<Vec<_>>();
    let winners: Vec<&Response> = responses.iter().filter(|r| r.status == 200).collect();
    assert_eq!(winners.len(), 1, "{:?}", all());
    assert!(
        responses.iter().filter(|r| r.status != 200).all(|r| r.status == 400 && r.json()["error"] == "invalid_grant"),
        "{:?}",
        all()
    );
    let pair = winners[0].json();
    let access = pair["access_token"].as_str().unwrap_or_default();
    for app in apps {
        let refused = app.mcp_initialize(access);
        assert_eq!(refused.status, 401, "the reused code's access token still works: {}", refused.text());
        let refresh = app.refresh(&client, pair["refresh_token"].as_str().unwrap_or_default());
        assert_eq!(refresh.json()["error"], "invalid_grant", "{}", refresh.text());
    }
}

/// Refreshes one refresh token of a fresh sign-in from `threads` concurrent requests (spread
/// over `apps`) and asserts that exactly one pair was minted: every 200 carries the same
/// tokens, every other answer is a retryable `503 temporarily_unavailable` with `Retry-After`
/// (never `invalid_grant`), and the pair works.
pub fn assert_concurrent_refreshes_mint_one_pair(apps: &[std::sync::Arc<TestApp>], threads: usize, email: &str) {
    let app = &apps[0];
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, email);
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let refresh = tokens["refresh_token"].as_str().unwrap_or_default().to_owned();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = race(threads, {
        let (apps, client) = (apps.to_vec(), client.clone());
        move || apps[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % apps.len()].refresh(&client, &refresh)
    });
    let all = || responses.iter().map(|r| (r.status, r.text())).collect::<Vec<_>>();
    let pairs: Vec<Value> = responses.iter().filter(|r| r.status == 200).map(|r| r.json()).collect();
    assert!(!pairs.is_empty(), "{:?}", all());
    for pair in &pairs {
        assert_eq!(pair["access_token"], pairs[0]["access_token"], "two pairs were minted: {:?}", all());
        assert_eq!(pair["refresh_token"], pairs[0]["refresh_token"], "two pairs were minted: {:?}", all());
    }
    for other in responses.iter().filter(|r| r.status != 200) {
        assert_eq!(
            (other.status, other.json()["error"].as_str()),
            (503, Some("temporarily_unavailable")),
            "{:?}",
            all()
        );
        assert!(other.header("retry-after").is_some());
    }
    for app in apps {
        let access = pairs[0]["access_token"].as_str().unwrap_or_default();
        assert_eq!(app.mcp_initialize(access).status, 200);
    }
}

/// Opens the consent page for a fresh public client on `apps[0]`, then submits its one form
/// (Approve, same browser cookies) from `threads` concurrent requests spread over `apps`, and
/// asserts that exactly one goes on to Clerk and every other is refused with a `400` page: a
/// consent handle is single use on every instance.
pub fn assert_concurrent_consent_submissions_have_one_winner(apps: &[std::sync::Arc<TestApp>], threads: usize) {
    let app = &apps[0];
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), &random()));
    assert_eq!(page.status, 200, "expected the consent page: {}", page.text());
    let mut form = form_inputs(&page.text());
    form.retain(|(name, _)| name != "decision");
    form.push(("decision".to_owned(), "approve".to_owned()));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = race(threads, {
        let (apps, browser) = (apps.to_vec(), browser.clone());
        move || {
            let app = &apps[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % apps.len()];
            let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            browser.clone().post_form(&app.url("/authorize"), &pairs)
        }
    });
    one_winner(&responses, |r| r.status == 302 && r.location().is_some_and(|l| l.starts_with(app.clerk().base_url())));
}

/// Signs in on `apps[0]` up to Clerk's redirect back to `/callback`, then follows that redirect
/// from `threads` concurrent requests spread over `apps` (same browser cookies), and asserts
/// that exactly one reaches the client with a code and every other is refused with a `400`
/// page: the upstream sign-in state is single use on every instance.
pub fn assert_concurrent_callbacks_have_one_winner(apps: &[std::sync::Arc<TestApp>], threads: usize, email: &str) {
    let app = &apps[0];
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), &random()));
    let to_clerk = app.submit_consent(&mut browser, &page, "approve");
    let location = to_clerk.location().unwrap_or_else(|| panic!("expected a redirect to Clerk: {}", to_clerk.text()));
    app.clerk().set_next_user(email);
    let back = browser.get(location);
    let callback = back.location().unwrap_or_else(|| panic!("Clerk did not redirect back: {}", back.text())).to_owned();
    let path = callback.split_once("/callback").map(|(_, rest)| format!("/callback{rest}")).unwrap_or_default();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let responses = race(threads, {
        let (apps, browser) = (apps.to_vec(), browser.clone());
        move || {
            let app = &apps[next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) % apps.len()];
            browser.clone().get(&app.url(&path))
        }
    });
    let redirect_uri = client.redirect_uri.clone();
    one_winner(&responses, |r| {
        r.status == 302 && r.location().is_some_and(|l| l.starts_with(&redirect_uri) && l.contains("code="))
    });
}

/// Asserts that exactly one response `won` and all others are `400` pages.
fn one_winner(responses: &[Response], won: impl Fn(&Response) -> bool) {
    let all = || responses.iter().map(|r| (r.status, r.location().map(str::to_owned))).collect::<Vec<_>>();
    let (winners, losers): (Vec<&Response>, Vec<&Response>) = responses.iter().partition(|r| won(r));
    assert_eq!(winners.len(), 1, "{:?}", all());
    assert!(losers.iter().all(|r| r.status == 400), "{:?}", all());
}
