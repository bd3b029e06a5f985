//! Endpoint tests: status, `error` code, headers, and an unchanged store for refused requests.

use base64::Engine;
use futures::executor::block_on;
use http::StatusCode;
use platform::web::{Request, Response};
use platform::{Event, KeyValueStore, ManualClock, MemoryAudit, MemoryStore, Ports, StaticVariables, StoreError};
use serde_json::Value;

use super::{Limits, MAX_BODY_BYTES, Provider};
use crate::authorize::{complete_authorization, validate_authorization_request};
use crate::cimd::{CimdSettings, ClientResolver};
use crate::directory::StaticDirectory;
use crate::rules::redirect_uri::RedirectPolicy;
use crate::settings::{ClientSettings, Settings};
use crate::tests::documents::FakeDocuments;
use crate::tests::{BASE, CHALLENGE, REDIRECT, VERIFIER, cimd_on, code_from, props};

struct Env {
    store: MemoryStore,
    clock: ManualClock,
    documents: FakeDocuments,
    cimd: CimdSettings,
    audit: MemoryAudit,
    limits: Limits,
}

fn env() -> Env {
    env_with(Limits::default())
}

fn env_with(limits: Limits) -> Env {
    Env {
        store: MemoryStore::new(),
        clock: ManualClock::at(1_700_000_000),
        documents: FakeDocuments::default(),
        cimd: cimd_on(),
        audit: MemoryAudit::new(),
        limits,
    }
}

impl Env {
    fn call(&self, request: Request) -> Response {
        let mut provider = provider(&self.store, &self.clock, &self.documents, self.cimd);
        provider.ports.audit = &self.audit;
        provider.settings.limits = self.limits;
        answer(&provider, &self.store, &self.clock, request)
    }

    /// The store without rate-limit counters, which every counted request writes.
    fn records(&self) -> std::collections::HashMap<String, Vec<u8>> {
        let mut records = self.store.snapshot();
        records.retain(|key, _| !key.starts_with("ratelimit:") && !platform::housekeeping::is_housekeeping_key(key));
        records
    }

    fn resolver(&self) -> ClientResolver<'_> {
        ClientResolver {
            store: &self.store,
            clock: &self.clock,
            http: &self.documents,
            settings: self.cimd,
            redirect_policy: &crate::tests::STRICT_POLICY,
            caller: None,
        }
    }

    fn register(&self, body: &str) -> Value {
        let response = self.call(json_post("/register", body));
        assert_eq!(response.status(), StatusCode::CREATED, "{}", text(&response));
        json(&response)
    }

    fn public_client(&self) -> String {
        let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
        self.register(&body)["client_id"].as_str().unwrap().to_owned()
    }

    /// A code for `client_id`, through the library's authorize functions.
    fn code(&self, client_id: &str) -> String {
        let query: Vec<(String, String)> = [
            ("response_type", "code"),
            ("client_id", client_id),
            ("redirect_uri", REDIRECT),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let validated =
            block_on(validate_authorization_request(&self.resolver(), BASE, &Default::default(), &query)).unwrap();
        code_from(&complete_authorization(&self.store, &self.clock, &validated, props()).unwrap())
    }

    /// A `/token` request redeeming a fresh code of `client_id` (a public client).
    fn code_exchange(&self, client_id: &str) -> Request {
        let code = self.code(client_id);
        form_post(
            "/token",
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", VERIFIER),
                ("client_id", client_id),
            ],
        )
    }

    fn exchange(&self, client_id: &str) -> Value {
        let response = self.call(self.code_exchange(client_id));
        assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
        json(&response)
    }

    /// Asserts the request is refused with `status` and `error`, and the store is unchanged
    /// (but for rate-limit counters).
    fn refused(&self, request: Request, status: StatusCode, error: &str) -> Response {
        let before = self.records();
        let response = self.call(request);
        assert_eq!(response.status(), status, "{}", text(&response));
        assert_eq!(json(&response)["error"], error);
        assert_eq!(self.records(), before, "a refused request changed the store");
        response
    }
}

/// Events no test looks at.
static UNHEARD: std::sync::LazyLock<MemoryAudit> = std::sync::LazyLock::new(MemoryAudit::new);

/// Answers `request` as the component does: the response, then (once it is out) the
/// housekeeping the request owes.
fn answer(provider: &Provider<'_>, store: &dyn KeyValueStore, clock: &ManualClock, request: Request) -> Response {
    let response = block_on(provider.handle(&request));
    let _ = platform::housekeeping::after_response(store, clock);
    response
}

fn call_with(
    store: &dyn KeyValueStore,
    clock: &ManualClock,
    documents: &FakeDocuments,
    cimd: CimdSettings,
    request: Request,
) -> Response {
    answer(&provider(store, clock, documents, cimd), store, clock, request)
}

fn provider<'a>(
    store: &'a dyn KeyValueStore,
    clock: &'a ManualClock,
    documents: &'a FakeDocuments,
    cimd: CimdSettings,
) -> Provider<'a> {
    let clients = ClientSettings { redirect_policy: RedirectPolicy::default(), documents: cimd };
    Provider {
        ports: Ports {
            store,
            clock,
            http: documents,
            sleep: &platform::ThreadSleep,
            audit: &*UNHEARD,
            variables: &*NO_VARIABLES,
        },
        directory: &StaticDirectory,
        settings: Settings {
            clients,
            refresh_grace_secs: crate::tokens::Rotation::DEFAULT_GRACE_SECS,
            limits: Limits::default(),
            scopes: Default::default(),
        },
        base_url: platform::web::BaseUrl { url: BASE.to_owned(), configured: true },
    }
}

/// The variables of these tests' server: none (their settings are given).
static NO_VARIABLES: std::sync::LazyLock<StaticVariables> = std::sync::LazyLock::new(StaticVariables::default);

fn request(method: &str, path: &str) -> http::request::Builder {
    http::Request::builder().method(method).uri(format!("{BASE}{path}"))
}

fn get(path: &str) -> Request {
    request("GET", path).body(Vec::new()).unwrap()
}

fn json_post(path: &str, body: &str) -> Request {
    request("POST", path).header("content-type", "application/json").body(body.as_bytes().to_vec()).unwrap()
}

fn form_body(pairs: &[(&str, &str)]) -> Vec<u8> {
    platform::web::encode_pairs(pairs.iter().copied()).into_bytes()
}

fn form_post(path: &str, pairs: &[(&str, &str)]) -> Request {
    request("POST", path).header("content-type", "application/x-www-form-urlencoded").body(form_body(pairs)).unwrap()
}

fn basic_post(path: &str, id: &str, secret: &str, pairs: &[(&str, &str)]) -> Request {
    let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"));
    request("POST", path)
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", format!("Basic {credentials}"))
        .body(form_body(pairs))
        .unwrap()
}

fn text(response: &Response) -> String {
    String::from_utf8_lossy(response.body()).into_owned()
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

fn header<'a>(response: &'a Response, name: &str) -> Option<&'a str> {
    response.headers().get(name).and_then(|v| v.to_str().ok())
}

#[test]
fn authorization_server_metadata_has_the_rfc8414_fields() {
    let response = env().call(get("/.well-known/oauth-authorization-server"));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), Some("application/json"));
    let doc = json(&response);
    assert_eq!(doc["issuer"], BASE);
    assert_eq!(doc["authorization_endpoint"], format!("{BASE}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{BASE}/token"));
    assert_eq!(doc["registration_endpoint"], format!("{BASE}/register"));
    assert_eq!(doc["revocation_endpoint"], format!("{BASE}/revoke"));
    assert_eq!(doc["response_types_supported"], serde_json::json!(["code"]));
    assert_eq!(doc["grant_types_supported"], serde_json::json!(["authorization_code", "refresh_token"]));
    assert_eq!(doc["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    let methods = serde_json::json!(["none", "client_secret_basic", "client_secret_post"]);
    assert_eq!(doc["token_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["revocation_endpoint_auth_methods_supported"], methods);
    assert_eq!(doc["scopes_supported"], serde_json::json!(["mcp:basic", "mcp:images"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
}

#[test]
fn discovery_is_publicly_cacheable_only_when_the_base_url_is_configured() {
    let e = env();
    let paths = ["/.well-known/oauth-authorization-server", "/.well-known/oauth-protected-resource/mcp"];
    for (configured, cache) in [(true, "public, max-age=300"), (false, "private, no-cache")] {
        let mut provider = provider(&e.store, &e.clock, &e.documents, e.cimd);
        provider.base_url = platform::web::BaseUrl { url: "http://127.0.0.1:3000".into(), configured };
        for path in paths {
            let response = block_on(provider.handle(&get(path)));
            assert_eq!(header(&response, "cache-control"), Some(cache), "{path}, configured: {configured}");
        }
    }
}

#[test]
fn protected_resource_metadata_is_served_at_both_paths() {
    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let doc = json(&env().call(get(path)));
        assert_eq!(doc["resource"], format!("{BASE}/mcp"));
        assert_eq!(doc["authorization_servers"], serde_json::json!([BASE]));
        assert_eq!(doc["scopes_supported"], serde_json::json!(["mcp:basic", "mcp:images"]));
        assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
    }
}

#[test]
fn protected_resource_metadata_for_the_sse_endpoint_names_the_sse_url() {
    // SDK clients connecting to /sse refuse a document whose resource is not a prefix of /sse.
    let doc = json(&env().call(get("/.well-known/oauth-protected-resource/sse")));
    assert_eq!(doc["resource"], format!("{BASE}/sse"));
    assert_eq!(doc["authorization_servers"], serde_json::json!([BASE]));
}

#[test]
fn head_returns_headers_without_a_body() {
    let response = env().call(request("HEAD", "/.well-known/oauth-authorization-server").body(Vec::new()).unwrap());
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.body().is_empty());
}

#[test]
fn unknown_paths_are_404() {
    for path in ["/.well-known/oauth-protected-resource/other", "/", "/token/x"] {
        assert_eq!(env().call(get(path)).status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[test]
fn wrong_methods_are_405_with_allow() {
    let e = env();
    let response = e.call(json_post("/.well-known/oauth-authorization-server", "{}"));
    assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(header(&response, "allow"), Some("GET, HEAD, OPTIONS"));
    for path in ["/register", "/token", "/revoke"] {
        let response = e.call(get(path));
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{path}");
        assert_eq!(header(&response, "allow"), Some("POST, OPTIONS"));
    }
}

#[test]
fn preflights_are_answered_for_every_endpoint() {
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
        "/register",
        "/token",
        "/revoke",
    ] {
        let preflight = request("OPTIONS", path)
            .header("origin", "https://inspector.example")
            .header("access-control-request-method", "POST")
            .body(Vec::new())
            .unwrap();
        let response = env().call(preflight);
        assert_eq!(response.status(), StatusCode::NO_CONTENT, "{path}");
        assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
        assert!(header(&response, "access-control-allow-headers").unwrap().contains("Authorization"));
    }
}

#[test]
fn responses_to_cross_origin_requests_carry_cors_headers() {
    let e = env();
    let with_origin = request("POST", "/token").header("origin", "https://inspector.example").body(Vec::new()).unwrap();
    let response = e.call(with_origin);
    assert_eq!(header(&response, "access-control-allow-origin"), Some("*"));
    assert!(header(&response, "access-control-expose-headers").unwrap().contains("WWW-Authenticate"));
    assert_eq!(header(&e.call(get("/.well-known/oauth-authorization-server")), "access-control-allow-origin"), None);
}

#[test]
fn public_registration_returns_201_without_a_secret() {
    let e = env();
    let response = e.call(json_post(
        "/register",
        &format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none","client_name":"Inspector"}}"#),
    ));
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let body = json(&response);
    assert!(body["client_id"].is_string());
    assert!(body["client_id_issued_at"].is_u64());
    assert_eq!(body["client_secret"], Value::Null);
    assert_eq!(body["client_name"], "Inspector");
    assert_eq!(body["redirect_uris"], serde_json::json!([REDIRECT]));
    assert_eq!(body["token_endpoint_auth_method"], "none");
}

#[test]
fn confidential_registration_shows_the_secret_once() {
    let body = env()
        .register(r#"{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"client_secret_post"}"#);
    assert_eq!(body["client_secret"].as_str().unwrap().len(), 43);
    assert_eq!(body["client_secret_expires_at"], 0);
}

#[test]
fn registration_refuses_other_media_types_with_415() {
    let e = env();
    let request = request("POST", "/register").header("content-type", "text/plain").body(b"{}".to_vec()).unwrap();
    e.refused(request, StatusCode::UNSUPPORTED_MEDIA_TYPE, "invalid_client_metadata");
}

#[test]
fn registration_refuses_oversized_bodies_with_413() {
    let e = env();
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"client_name":"{}"}}"#, "x".repeat(MAX_BODY_BYTES));
    e.refused(json_post("/register", &body), StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[test]
fn registration_refuses_invalid_fields() {
    let e = env();
    for body in ["{", "[]", r#"{"redirect_uris":["https://a.example/cb"],"client_uri":"ftp://x"}"#] {
        e.refused(json_post("/register", body), StatusCode::BAD_REQUEST, "invalid_client_metadata");
    }
    for body in [r#"{"client_name":"x"}"#, r#"{"redirect_uris":["http://evil.example/cb"]}"#] {
        e.refused(json_post("/register", body), StatusCode::BAD_REQUEST, "invalid_redirect_uri");
    }
}

#[test]
fn full_flow_code_refresh_revoke_through_the_endpoints() {
    let e = env();
    let client = e.public_client();
    let tokens = e.exchange(&client);
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 3600);
    assert_eq!(tokens["scope"], "mcp:basic mcp:images", "no scope asked: every scope the admin role may hold");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let response = e.call(form_post(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client)],
    ));
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));
    assert_eq!(header(&response, "cache-control"), Some("no-store"));
    let rotated = json(&response);
    let access = rotated["access_token"].as_str().unwrap();
    assert!(crate::verify_access_token(&e.store, &e.clock, access, &format!("{BASE}/mcp")).is_ok());

    let new_refresh = rotated["refresh_token"].as_str().unwrap();
    let response = e.call(form_post("/revoke", &[("token", new_refresh), ("client_id", &client)]));
    assert_eq!(response.status(), StatusCode::OK);
    assert!(crate::verify_access_token(&e.store, &e.clock, access, &format!("{BASE}/mcp")).is_err());
}

#[test]
fn confidential_clients_authenticate_with_basic_or_post_as_registered() {
    let e = env();
    let basic = e.register(&format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#));
    let (id, secret) = (basic["client_id"].as_str().unwrap(), basic["client_secret"].as_str().unwrap());
    let code = e.code(id);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let response = e.call(basic_post("/token", id, secret, &pairs));
    assert_eq!(response.status(), StatusCode::OK, "{}", text(&response));

    let post =
        e.register(&format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"client_secret_post"}}"#));
    let (id, secret) = (post["client_id"].as_str().unwrap(), post["client_secret"].as_str().unwrap());
    let code = e.code(id);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", id),
        ("client_secret", secret),
    ];
    assert_eq!(e.call(form_post("/token", &pairs)).status(), StatusCode::OK);
}

#[test]
fn wrong_basic_credentials_get_401_with_a_basic_challenge() {
    let e = env();
    let basic = e.register(&format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#));
    let id = basic["client_id"].as_str().unwrap();
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", "x")];
    let response = e.refused(basic_post("/token", id, "wrong", &pairs), StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(header(&response, "www-authenticate").unwrap().starts_with("Basic"));
    let garbage = request("POST", "/token")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("authorization", "Basic !!!")
        .body(form_body(&pairs))
        .unwrap();
    e.refused(garbage, StatusCode::UNAUTHORIZED, "invalid_client");
}

#[test]
fn unknown_or_missing_client_is_invalid_client_without_a_basic_challenge() {
    let e = env();
    for pairs in [
        vec![("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "unknown")],
        vec![("grant_type", "refresh_token"), ("refresh_token", "x")],
    ] {
        let response = e.refused(form_post("/token", &pairs), StatusCode::UNAUTHORIZED, "invalid_client");
        assert_eq!(header(&response, "www-authenticate"), None);
    }
}

#[test]
fn a_confidential_client_without_its_secret_is_invalid_client() {
    let e = env();
    let basic = e.register(&format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#));
    let id = basic["client_id"].as_str().unwrap();
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", id)];
    e.refused(form_post("/token", &pairs), StatusCode::UNAUTHORIZED, "invalid_client");
}

#[test]
fn two_authentication_methods_at_once_are_invalid_request() {
    let e = env();
    let basic = e.register(&format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#));
    let (id, secret) = (basic["client_id"].as_str().unwrap(), basic["client_secret"].as_str().unwrap());
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_secret", secret)];
    e.refused(basic_post("/token", id, secret, &pairs), StatusCode::BAD_REQUEST, "invalid_request");
}

#[test]
fn malformed_token_requests_are_invalid_request() {
    let e = env();
    let client = e.public_client();
    let json_body = request("POST", "/token").header("content-type", "application/json").body(b"{}".to_vec()).unwrap();
    e.refused(json_body, StatusCode::BAD_REQUEST, "invalid_request");
    let no_type = request("POST", "/token").body(form_body(&[("client_id", &client)])).unwrap();
    e.refused(no_type, StatusCode::BAD_REQUEST, "invalid_request");
    e.refused(form_post("/token", &[("client_id", &client)]), StatusCode::BAD_REQUEST, "invalid_request");
    let repeated = [("grant_type", "authorization_code"), ("code", "a"), ("code", "b"), ("client_id", &client)];
    e.refused(form_post("/token", &repeated), StatusCode::BAD_REQUEST, "invalid_request");
    let no_code = [("grant_type", "authorization_code"), ("client_id", &client)];
    e.refused(form_post("/token", &no_code), StatusCode::BAD_REQUEST, "invalid_request");
    let no_refresh = [("grant_type", "refresh_token"), ("client_id", &client)];
    e.refused(form_post("/token", &no_refresh), StatusCode::BAD_REQUEST, "invalid_request");
    let oversized = form_post("/token", &[("client_id", &client), ("x", &"y".repeat(MAX_BODY_BYTES))]);
    e.refused(oversized, StatusCode::PAYLOAD_TOO_LARGE, "invalid_request");
}

#[test]
fn unsupported_grant_types_are_refused() {
    let e = env();
    let client = e.public_client();
    for grant_type in ["client_credentials", "password", "implicit"] {
        let pairs = [("grant_type", grant_type), ("client_id", &client)];
        e.refused(form_post("/token", &pairs), StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
}

#[test]
fn code_errors_map_to_rfc6749_codes() {
    let e = env();
    let client = e.public_client();
    let code = e.code(&client);
    let base = |extra: &[(&'static str, &'static str)]| {
        let mut pairs: Vec<(&str, &str)> =
            vec![("grant_type", "authorization_code"), ("client_id", &client), ("code", &code)];
        pairs.extend_from_slice(extra);
        form_post("/token", &pairs)
    };
    e.refused(
        base(&[("redirect_uri", REDIRECT), ("code_verifier", &VERIFIER[1..])]),
        StatusCode::BAD_REQUEST,
        "invalid_grant",
    );
    e.refused(base(&[("redirect_uri", REDIRECT)]), StatusCode::BAD_REQUEST, "invalid_request");
    let target = [("redirect_uri", REDIRECT), ("code_verifier", VERIFIER), ("resource", "https://other.example/mcp")];
    e.refused(base(&target), StatusCode::BAD_REQUEST, "invalid_target");
    let wrong_code =
        [("grant_type", "authorization_code"), ("client_id", &client), ("code", "nope"), ("code_verifier", VERIFIER)];
    e.refused(form_post("/token", &wrong_code), StatusCode::BAD_REQUEST, "invalid_grant");
}

#[test]
fn refresh_errors_map_to_rfc6749_codes() {
    let e = env();
    let client = e.public_client();
    let tokens = e.exchange(&client);
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let with = |extra: &[(&'static str, &'static str)]| {
        let mut pairs: Vec<(&str, &str)> =
            vec![("grant_type", "refresh_token"), ("client_id", &client), ("refresh_token", refresh)];
        pairs.extend_from_slice(extra);
        form_post("/token", &pairs)
    };
    e.refused(with(&[("scope", "mcp admin")]), StatusCode::BAD_REQUEST, "invalid_scope");
    e.refused(with(&[("resource", "https://other.example/")]), StatusCode::BAD_REQUEST, "invalid_target");
    let unknown = [("grant_type", "refresh_token"), ("client_id", &client), ("refresh_token", "nope")];
    e.refused(form_post("/token", &unknown), StatusCode::BAD_REQUEST, "invalid_grant");
}

#[test]
fn revocation_answers_200_for_unknown_tokens_and_needs_a_token_and_a_client() {
    let e = env();
    let client = e.public_client();
    let before = e.store.snapshot();
    let response =
        e.call(form_post("/revoke", &[("token", "unknown"), ("client_id", &client), ("token_type_hint", "x")]));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(e.store.snapshot(), before);
    e.refused(form_post("/revoke", &[("client_id", &client)]), StatusCode::BAD_REQUEST, "invalid_request");
    e.refused(
        form_post("/revoke", &[("token", "x"), ("client_id", "unknown")]),
        StatusCode::UNAUTHORIZED,
        "invalid_client",
    );
}

#[test]
fn revocation_by_another_client_changes_nothing() {
    let e = env();
    let owner = e.public_client();
    let other = e.public_client();
    let tokens = e.exchange(&owner);
    let before = e.store.snapshot();
    for token in ["access_token", "refresh_token"] {
        let response =
            e.call(form_post("/revoke", &[("token", tokens[token].as_str().unwrap()), ("client_id", &other)]));
        assert_eq!(response.status(), StatusCode::OK);
    }
    assert_eq!(e.store.snapshot(), before);
}

/// A store that is down, saying where it is (which a client must not learn).
struct DownStore;

const DOWN: &str = "redis://10.0.0.7:6379: connection refused";

impl KeyValueStore for DownStore {
    fn get(&self, _: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Err(StoreError::Unavailable(DOWN.into()))
    }
    fn set(&self, _: &str, _: &[u8]) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(DOWN.into()))
    }
    fn delete(&self, _: &str) -> Result<(), StoreError> {
        Err(StoreError::Unavailable(DOWN.into()))
    }
    fn increment(&self, _: &str, _: i64) -> Result<i64, StoreError> {
        Err(StoreError::Unavailable(DOWN.into()))
    }
}

#[test]
fn store_failures_are_503_temporarily_unavailable_not_500() {
    let clock = ManualClock::at(1);
    let requests = [
        json_post("/register", &format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#)),
        form_post("/token", &[("grant_type", "refresh_token"), ("refresh_token", "x"), ("client_id", "abc")]),
        form_post("/revoke", &[("token", "x"), ("client_id", "abc")]),
    ];
    for request in requests {
        let response = call_with(&DownStore, &clock, &FakeDocuments::default(), cimd_on(), request);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(json(&response)["error"], "temporarily_unavailable");
        assert_eq!(json(&response)["error_description"], super::STORE_DOWN_DESCRIPTION, "generic, not {DOWN}");
    }
}

#[test]
fn the_records_a_request_leaves_behind_are_swept_after_the_answers_of_later_requests() {
    use crate::keys;
    let e = env();
    let client = e.public_client();
    let abandoned = e.code(&client);
    e.clock.advance(crate::lifetimes::AUTHORIZATION_CODE_TTL + 120);
    let register = json_post("/register", &format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#));
    let provider = provider(&e.store, &e.clock, &e.documents, e.cimd);
    let response = block_on(provider.handle(&register));
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(e.store.exists(&keys::code(&abandoned)).unwrap(), "answering does not sweep");
    platform::housekeeping::after_response(&e.store, &e.clock).unwrap();
    assert!(!e.store.exists(&keys::code(&abandoned)).unwrap(), "the abandoned code is gone");
    let pending = e.store.keys().into_iter().filter(|k| k.starts_with("oauth:grant:")).count();
    assert_eq!(pending, 0, "its pending grant too");
}

const DOC_URL: &str = "https://client.example.com/oauth/metadata.json";

impl Env {
    fn serve_document(&self) {
        let body = format!(
            r#"{{"client_id":"{DOC_URL}","client_name":"Doc Client","redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#
        );
        self.documents.serve(DOC_URL, &body);
    }
}

#[test]
fn metadata_advertises_client_id_metadata_documents_unless_turned_off() {
    let on = env().call(get("/.well-known/oauth-authorization-server"));
    assert_eq!(json(&on)["client_id_metadata_document_supported"], true);
    let off = Env { cimd: CimdSettings::disabled(), ..env() };
    let response = off.call(get("/.well-known/oauth-authorization-server"));
    assert_eq!(json(&response).get("client_id_metadata_document_supported"), None);
}

#[test]
fn metadata_does_not_advertise_documents_where_private_networks_are_reachable() {
    let e = env();
    e.documents.open_private_networks();
    let response = e.call(get("/.well-known/oauth-authorization-server"));
    assert_eq!(json(&response).get("client_id_metadata_document_supported"), None, "they could not be fetched");
    e.serve_document();
    let token = form_post("/token", &[("grant_type", "authorization_code"), ("code", "c"), ("client_id", DOC_URL)]);
    let refused = e.refused(token, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(platform::diagnostic::of(&refused).unwrap().contains("block_networks"));
    assert_eq!(e.documents.requests(), 2, "two loopback probes, no document");
}

#[test]
fn revocations_naming_document_clients_past_the_per_address_limit_get_429_before_a_fetch() {
    let limits = crate::cimd::DocumentLimits {
        requests: platform::rate_limit::DOCUMENT_CLIENTS.with_max(2),
        ..Default::default()
    };
    let e = Env { cimd: CimdSettings { limits, ..cimd_on() }, ..env() };
    for n in 0..3 {
        let revoke = form_post("/revoke", &[("token", "t"), ("client_id", &format!("{DOC_URL}{n}"))]);
        let response = e.call(revoke);
        if n < 2 {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "404: refused");
        } else {
            assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
            assert!(json(&response)["error_description"].as_str().unwrap().contains("`document_clients`"));
            assert!(response.headers().get("retry-after").is_some());
        }
    }
    assert_eq!(e.documents.requests(), 2);
    let limited = e.audit.of(Event::RateLimited);
    assert_eq!((limited.len(), limited[0]["limit"].as_str()), (1, Some("document_clients")));
    let token = form_post("/token", &[("grant_type", "authorization_code"), ("code", "c"), ("client_id", DOC_URL)]);
    assert_eq!(e.call(token).status(), StatusCode::TOO_MANY_REQUESTS, "at /token too");
    let failures = e.store.keys().into_iter().filter(|k| k.starts_with("ratelimit:token_failures:")).count();
    assert_eq!(failures, 0, "a limit's refusal is not a token failure");
}

#[test]
fn a_document_client_exchanges_refreshes_and_revokes_as_a_public_client() {
    let env = env();
    env.serve_document();
    let tokens = env.exchange(DOC_URL);
    assert_eq!(env.documents.requests(), 1, "fetched at /authorize, cached, used at /token");
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let refreshed = env.call(form_post(
        "/token",
        &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", DOC_URL)],
    ));
    assert_eq!(refreshed.status(), StatusCode::OK, "{}", text(&refreshed));
    let access = json(&refreshed)["access_token"].as_str().unwrap().to_owned();
    let revoked = env.call(form_post("/revoke", &[("token", &access), ("client_id", DOC_URL)]));
    assert_eq!(revoked.status(), StatusCode::OK);
    assert!(env.store.get(&crate::keys::access_token(&access)).unwrap().is_none());
}

#[test]
fn a_refused_document_at_token_and_revoke_is_invalid_client_logged_and_stores_only_the_refusal() {
    let env = env();
    env.documents
        .serve(DOC_URL, r#"{"client_id":"https://other.example.com/x","redirect_uris":["http://127.0.0.1/cb"]}"#);
    let token = form_post("/token", &[("grant_type", "authorization_code"), ("code", "c"), ("client_id", DOC_URL)]);
    let before = env.records();
    let response = env.call(token);
    assert_eq!(
        (response.status(), json(&response)["error"].as_str()),
        (StatusCode::UNAUTHORIZED, Some("invalid_client"))
    );
    let mut stored = env.records();
    stored.retain(|key, _| !before.contains_key(key));
    assert_eq!(stored.keys().collect::<Vec<_>>(), [&crate::keys::refused_document(DOC_URL)]);
    assert_eq!(json(&response)["error_description"], "client authentication failed", "the reason is not sent");
    let log = platform::diagnostic::of(&response).unwrap();
    assert!(log.contains(DOC_URL) && log.contains("client_id is not exactly its URL"), "{log}");
    let revoke = form_post("/revoke", &[("token", "t"), ("client_id", DOC_URL)]);
    let response = env.refused(revoke, StatusCode::UNAUTHORIZED, "invalid_client");
    assert!(platform::diagnostic::of(&response).is_some());
}

#[test]
fn a_document_client_presenting_a_secret_is_refused_without_a_fetch() {
    let env = env();
    env.serve_document();
    let pairs = [("grant_type", "authorization_code"), ("code", "c")];
    env.refused(basic_post("/token", DOC_URL, "secret", &pairs), StatusCode::UNAUTHORIZED, "invalid_client");
    let posted = [("grant_type", "authorization_code"), ("code", "c"), ("client_id", DOC_URL), ("client_secret", "s")];
    env.refused(form_post("/token", &posted), StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(env.documents.requests(), 0);
}

#[test]
fn with_documents_off_a_url_client_id_is_an_unknown_client_at_token() {
    let env = Env { cimd: CimdSettings::disabled(), ..env() };
    env.serve_document();
    let token = form_post("/token", &[("grant_type", "authorization_code"), ("code", "c"), ("client_id", DOC_URL)]);
    let response = env.refused(token, StatusCode::UNAUTHORIZED, "invalid_client");
    assert_eq!(platform::diagnostic::of(&response), None);
    assert_eq!(env.documents.requests(), 0);
}

mod audit;
mod limits;

/// `request` as the host hands it over from `addr`.
fn from(addr: &str, mut request: Request) -> Request {
    let addr = format!("{addr}:40000").parse().unwrap();
    request.extensions_mut().insert(platform::web::ClientAddr(addr));
    request
}

/// Every audit line the events would make, joined.
fn audit_lines(audit: &MemoryAudit) -> String {
    audit.events().iter().map(|e| e.to_line("oauth-provider", 1_700_000_000)).collect()
}

/// The events of `kind`, as JSON.
fn events(audit: &MemoryAudit, kind: Event) -> Vec<Value> {
    audit.of(kind)
}
