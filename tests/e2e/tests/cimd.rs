//! Client ID Metadata Documents end to end (issue 12): the real components on spin-local fetch
//! documents over real HTTPS from a test server on loopback (`spin_local_testing::HttpsServer`,
//! trusted through `[[client_tls]] ca_roots_file`, as in Spin), sign a document client in, cache
//! its document, and refuse every bad document with nothing stored.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use e2e::http::{self, Response};
use e2e::{Browser, Client, Pkce, TestApp};
use serde_json::{Value, json};
use spin_local_testing::{HttpsServer, TestResponse};

/// The redirect URI a document client uses: the document lists it without a port (RFC 8252).
pub(crate) const REDIRECT_URI: &str = "http://127.0.0.1:47123/callback";

/// A document server on loopback whose answers a test sets per path (also used by
/// `review_oauth`).
pub(crate) struct Documents {
    pub(crate) server: HttpsServer,
    pages: Arc<Mutex<HashMap<String, TestResponse>>>,
}

impl Documents {
    pub(crate) fn start() -> Documents {
        let pages: Arc<Mutex<HashMap<String, TestResponse>>> = Arc::default();
        let answers = pages.clone();
        let server = HttpsServer::start(move |request| {
            answers.lock().unwrap().get(&request.path).cloned().unwrap_or_else(|| TestResponse::new(404))
        });
        Documents { server, pages }
    }

    /// `https://localhost:<port><path>`
    pub(crate) fn url(&self, path: &str) -> String {
        self.server.url(path)
    }

    pub(crate) fn serve(&self, path: &str, response: TestResponse) {
        self.pages.lock().unwrap().insert(path.to_owned(), response);
    }

    /// Serves a valid document for `path`, named `name`.
    pub(crate) fn serve_client(&self, path: &str, name: &str) -> String {
        let url = self.url(path);
        self.serve(path, TestResponse::json(document(&url, name).to_string()));
        url
    }

    pub(crate) fn requests(&self) -> usize {
        self.server.request_count()
    }
}

/// A public client's document: loopback redirect without a port, as Claude Code publishes.
pub(crate) fn document(url: &str, name: &str) -> Value {
    json!({
        "client_id": url,
        "client_name": name,
        "redirect_uris": ["http://127.0.0.1/callback"],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
    })
}

/// The client as the flow helpers see it: its `client_id` is the document URL, no secret.
pub(crate) fn document_client(url: &str) -> Client {
    Client {
        client_id: url.to_owned(),
        client_secret: None,
        redirect_uri: REDIRECT_URI.to_owned(),
        registration: Value::Null,
    }
}

pub(crate) fn app_with(documents: &Documents) -> TestApp {
    TestApp::builder().document_server(&documents.server).start()
}

/// The cache key of a document URL (oauth-core's `keys::client_document`).
pub(crate) fn cache_key(url: &str) -> String {
    format!("oauth:cimd:{}", platform::secret::hash_hex(url))
}

fn consent_page(app: &TestApp, browser: &mut Browser, client: &Client) -> Response {
    browser.get(&app.authorize_url(client, &Pkce::new(), "st"))
}

fn call_add(app: &TestApp, access_token: &str) -> Value {
    let response = http::send(
        "POST",
        &app.url("/mcp"),
        &[
            ("authorization", &format!("Bearer {access_token}")),
            ("content-type", "application/json"),
            ("accept", "application/json, text/event-stream"),
        ],
        br#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":3}}}"#,
    );
    assert_eq!(response.status, 200, "{}", response.text());
    response.json()
}

#[test]
fn a_document_client_signs_in_gets_tokens_calls_tools_refreshes_and_revokes_with_one_fetch() {
    let documents = Documents::start();
    let url = documents.serve_client("/oauth/client.json", "Doc Client");
    let app = app_with(&documents);
    let metadata = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(metadata["client_id_metadata_document_supported"], true);

    let client = document_client(&url);
    let mut browser = Browser::new();
    let page = consent_page(&app, &mut browser, &client);
    assert_eq!(page.status, 200, "{}", page.text());
    let html = page.text();
    let host = format!("localhost:{}", documents.server.port());
    let badge = format!("fetched from {host}</span> wants to use");
    assert!(html.contains(&format!("<h1><bdi class=\"client\">{host}</bdi> <span class=\"badge\"")), "{html}");
    assert!(html.contains(&badge) && html.contains("Doc Client"), "the host leads, with its badge: {html}");
    assert!(html.contains("127.0.0.1"), "the redirect host, as for every client");

    let auth = app.authorize_as(&mut browser, &client, "admin@example.com");
    assert_eq!(auth.redirect.location_query()["iss"], app.base_url());
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier);
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let tokens = tokens.json();
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(app.mcp_initialize(access).status, 200);
    assert!(call_add(&app, access)["result"]["content"][0]["text"].as_str().unwrap().contains('5'));

    let refreshed = app.refresh(&client, tokens["refresh_token"].as_str().unwrap());
    assert_eq!(refreshed.status, 200, "{}", refreshed.text());
    let new_access = refreshed.json()["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.revoke(&client, &new_access).status, 200);
    assert_eq!(app.mcp_initialize(&new_access).status, 401, "revoked");

    assert_eq!(documents.requests(), 1, "fetched once, then every step used the cache");
    assert!(app.kv_snapshot().contains_key(&cache_key(&url)));
}

/// The consent page's headline (the `<h1>`).
fn headline(page: &Response) -> String {
    let html = page.text();
    html.split("<h1>").nth(1).and_then(|h| h.split("</h1>").next()).unwrap_or_default().to_owned()
}

/// Issue 21 finding 5: a client that registers with the name of a document client's host must
/// not get that client's headline.
#[test]
fn a_client_registered_with_a_document_hosts_name_cannot_copy_its_headline() {
    let documents = Documents::start();
    let url = documents.serve_client("/oauth/client.json", "Doc Client");
    let app = app_with(&documents);
    let host = format!("localhost:{}", documents.server.port());
    let copycat = app.register_client_with(&json!({
        "client_name": host,
        "redirect_uris": [REDIRECT_URI],
        "token_endpoint_auth_method": "none",
    }));
    let genuine = headline(&consent_page(&app, &mut Browser::new(), &document_client(&url)));
    let copied = headline(&consent_page(&app, &mut Browser::new(), &copycat));
    assert_ne!(genuine, copied, "a registered name must not read like a fetched host");
    assert!(
        genuine.contains(r#"<span class="badge""#) && genuine.contains(&format!("fetched from {host}")),
        "{genuine}"
    );
    assert!(!copied.contains("badge"), "no badge for a name anyone can type: {copied}");
    assert!(copied.starts_with("An app calling itself “"), "{copied}");
    assert!(!genuine.to_lowercase().contains("verified"), "no more than it knows: {genuine}");
}

#[test]
fn a_changed_document_is_used_once_the_cached_one_expires() {
    let documents = Documents::start();
    let url = documents.url("/client.json");
    let with_max_age = |name: &str| {
        TestResponse::json(document(&url, name).to_string()).header("cache-control", "public, max-age=3600")
    };
    documents.serve("/client.json", with_max_age("Old Name"));
    let app = app_with(&documents);
    let client = document_client(&url);
    let mut browser = Browser::new();
    assert!(consent_page(&app, &mut browser, &client).text().contains("Old Name"));
    documents.serve("/client.json", with_max_age("New Name"));
    assert!(consent_page(&app, &mut browser, &client).text().contains("Old Name"), "cached for an hour");
    assert_eq!(documents.requests(), 1, "a cache hit fetches nothing");

    app.expire_record(&cache_key(&url));
    let page = consent_page(&app, &mut browser, &client);
    assert!(page.text().contains("New Name"), "{}", page.text());
    assert_eq!(documents.requests(), 2);
}

/// One refusal: the `client_id` to try, its redirect URI, how many fetches the first request
/// naming it costs, and whether /token refuses the client too (then /token and /revoke meet
/// the refusal /authorize remembered, without a fetch).
struct Refusal {
    name: &'static str,
    client_id: String,
    redirect_uri: &'static str,
    fetches_per_request: usize,
    client_refused: bool,
}

#[test]
fn every_refusal_is_a_400_page_at_authorize_and_invalid_client_at_token_remembered_without_another_fetch() {
    let documents = Documents::start();
    let doc = |path: &str, change: &dyn Fn(&mut Value)| {
        let url = documents.url(path);
        let mut body = document(&url, "Refused");
        change(&mut body);
        (url, body.to_string())
    };
    let (mismatch, mismatch_body) = doc("/mismatch.json", &|d| d["client_id"] = json!("https://other.example/x"));
    documents.serve("/mismatch.json", TestResponse::json(mismatch_body));
    let (secret, secret_body) =
        doc("/secret.json", &|d| d["token_endpoint_auth_method"] = json!("client_secret_basic"));
    documents.serve("/secret.json", TestResponse::json(secret_body));
    let (big, big_body) = doc("/big.json", &|d| d["client_uri_padding"] = json!("x".repeat(6 * 1024)));
    documents.serve("/big.json", TestResponse::json(big_body));
    let (slow, slow_body) = doc("/slow.json", &|_| {});
    documents.serve("/slow.json", TestResponse::json(slow_body).delay(Duration::from_secs(8)));
    let redirecting = documents.url("/redirecting.json");
    documents.serve("/redirecting.json", TestResponse::redirect(302, &documents.url("/client.json")));
    let (html, _) = doc("/page.html", &|_| {});
    documents.serve("/page.html", TestResponse::new(200).header("content-type", "text/html").body("<html>hi</html>"));
    let valid = documents.serve_client("/client.json", "Valid");

    let refusal = |name, client_id: String, fetches_per_request, client_refused| Refusal {
        name,
        client_id,
        redirect_uri: REDIRECT_URI,
        fetches_per_request,
        client_refused,
    };
    let cases = [
        refusal("http URL", documents.url("/client.json").replace("https://", "http://"), 0, true),
        refusal("no path", documents.url("/"), 0, true),
        refusal("mismatched client_id", mismatch, 1, true),
        Refusal { redirect_uri: "https://evil.example/cb", ..refusal("redirect not listed", valid, 1, false) },
        refusal("secret-based auth", secret, 1, true),
        refusal("too big", big, 1, true),
        refusal("slow", slow, 1, true),
        refusal("redirecting", redirecting, 1, true),
        refusal("not JSON", html, 1, true),
    ];
    let app = app_with(&documents);
    for case in cases {
        let before = app.kv_records();
        let fetched = documents.requests();
        let client = Client { redirect_uri: case.redirect_uri.to_owned(), ..document_client(&case.client_id) };
        let page = http::get(&app.authorize_url(&client, &Pkce::new(), "st"));
        assert_eq!(page.status, 400, "{}: {}", case.name, page.text());
        assert_eq!(page.location(), None, "{}: never a redirect", case.name);
        let expected = if case.client_refused { "could not be verified" } else { "not registered" };
        assert!(page.text().contains(expected), "{}: {}", case.name, page.text());

        let token = app.exchange_code(&client, "no-such-code", "verifier");
        if case.client_refused {
            assert_eq!((token.status, token.json()["error"].as_str()), (401, Some("invalid_client")), "{}", case.name);
            assert_eq!(app.revoke(&client, "some-token").status, 401, "{}", case.name);
        }
        // A valid document is fetched for each request (cached only once one succeeds).
        let requests = if case.client_refused { 1 } else { 2 };
        assert_eq!(documents.requests() - fetched, case.fetches_per_request * requests, "{}: fetches", case.name);
        let mut stored = app.kv_records();
        stored.retain(|key, _| !before.contains_key(key));
        let remembered = case.client_refused && case.fetches_per_request > 0;
        let expected: Vec<String> = if remembered {
            vec![format!("oauth:cimd-refused:{}", platform::secret::hash_hex(&case.client_id))]
        } else {
            vec![]
        };
        assert_eq!(stored.into_keys().collect::<Vec<_>>(), expected, "{}: the store changed", case.name);
    }
}

#[test]
fn a_slow_document_does_not_hold_up_other_clients() {
    let documents = Documents::start();
    let url = documents.url("/slow.json");
    documents.serve("/slow.json", TestResponse::json(document(&url, "Slow").to_string()).delay(Duration::from_secs(8)));
    let app = Arc::new(app_with(&documents));
    let slow_done = Arc::new(AtomicBool::new(false));
    let slow = std::thread::spawn({
        let (app, done) = (app.clone(), slow_done.clone());
        move || {
            let page = http::get(&app.authorize_url(&document_client(&url), &Pkce::new(), "st"));
            done.store(true, Ordering::SeqCst);
            page
        }
    });
    while documents.requests() == 0 {
        std::thread::sleep(Duration::from_millis(20));
    }
    let registered = app.register_client(false);
    let page = http::get(&app.authorize_url(&registered, &Pkce::new(), "st"));
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(!slow_done.load(Ordering::SeqCst), "the registered client was served while the document was still loading");
    assert_eq!(slow.join().unwrap().status, 400, "the slow document timed out");
}

#[test]
fn turned_off_documents_are_not_advertised_and_url_client_ids_are_unknown_clients() {
    let documents = Documents::start();
    let url = documents.serve_client("/client.json", "Doc Client");
    let app =
        TestApp::builder().document_server(&documents.server).variable("client_id_metadata_documents", "false").start();
    let metadata = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(metadata.get("client_id_metadata_document_supported"), None);
    let client = document_client(&url);
    let page = http::get(&app.authorize_url(&client, &Pkce::new(), "st"));
    assert_eq!(page.status, 400);
    assert!(page.text().contains("Unknown client"), "{}", page.text());
    assert_eq!(app.exchange_code(&client, "code", "verifier").json()["error"], "invalid_client");
    assert_eq!(documents.requests(), 0);
    let tokens = app.tokens_for("admin@example.com");
    assert!(tokens["access_token"].is_string(), "registered clients keep working");
}

#[test]
fn block_networks_private_refuses_a_document_host_that_resolves_to_a_private_address() {
    let documents = Documents::start();
    let url = documents.serve_client("/client.json", "Doc Client");
    let app = TestApp::builder().document_server(&documents.server).block_private_networks().start();
    let before = app.kv_records();
    let page = http::get(&app.authorize_url(&document_client(&url), &Pkce::new(), "st"));
    assert_eq!(page.status, 400, "{}", page.text());
    assert!(page.text().contains("could not be verified"), "{}", page.text());
    let token = app.exchange_code(&document_client(&url), "code", "verifier");
    assert_eq!(token.json()["error"], "invalid_client");
    assert_eq!(documents.requests(), 0, "localhost resolves to 127.0.0.1: no connection was made");
    let mut stored = app.kv_records();
    stored.retain(|key, _| !before.contains_key(key));
    let refusal = format!("oauth:cimd-refused:{}", platform::secret::hash_hex(&url));
    assert_eq!(stored.into_keys().collect::<Vec<_>>(), [refusal], "only the refusal, for a minute");
}
