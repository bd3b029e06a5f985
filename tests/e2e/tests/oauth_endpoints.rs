//! The authorization server's HTTP surface through spin-local (oauth-provider component):
//! metadata documents, registration, token and revocation error paths, CORS, 405s. Refused
//! requests must leave the key-value store unchanged (but for the rate-limit counters they add to).

use e2e::TestApp;
use e2e::http::{self, Response};
use serde_json::{Value, json};

fn assert_refused(app: &TestApp, send: impl FnOnce() -> Response, status: u16, error: &str) -> Response {
    let before = app.kv_records();
    let response = send();
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.json()["error"], error, "{}", response.text());
    assert_eq!(app.kv_records(), before, "a refused request changed the store");
    response
}

#[test]
fn metadata_documents_name_this_server() {
    let app = TestApp::start();
    let base = app.base_url().to_owned();
    let doc = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(doc["issuer"], base);
    assert_eq!(doc["authorization_endpoint"], format!("{base}/authorize"));
    assert_eq!(doc["token_endpoint"], format!("{base}/token"));
    assert_eq!(doc["registration_endpoint"], format!("{base}/register"));
    assert_eq!(doc["revocation_endpoint"], format!("{base}/revoke"));
    assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
    assert_eq!(doc["grant_types_supported"], json!(["authorization_code", "refresh_token"]));
    assert_eq!(
        doc["token_endpoint_auth_methods_supported"],
        json!(["none", "client_secret_basic", "client_secret_post"])
    );
    assert_eq!(doc["response_types_supported"], json!(["code"]));
    assert_eq!(doc["scopes_supported"], json!(["mcp:basic", "mcp:images"]));
    assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    for path in ["/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"] {
        let prm = http::get(&app.url(path)).json();
        assert_eq!(prm["resource"], format!("{base}/mcp"), "{path}");
        assert_eq!(prm["authorization_servers"], json!([base]));
        assert_eq!(prm["bearer_methods_supported"], json!(["header"]));
        assert_eq!(prm["scopes_supported"], json!(["mcp:basic", "mcp:images"]));
    }
    assert_eq!(http::get(&app.url("/.well-known/oauth-protected-resource/other")).status, 404);
}

#[test]
fn configured_public_base_url_is_the_issuer() {
    let app = TestApp::builder().variable("public_base_url", "https://mcp.example.com/").start();
    let doc = http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(doc["issuer"], "https://mcp.example.com");
    let prm = http::get(&app.url("/.well-known/oauth-protected-resource/mcp")).json();
    assert_eq!(prm["resource"], "https://mcp.example.com/mcp");
}

#[test]
fn preflights_and_cors_headers() {
    let app = TestApp::start();
    for path in [
        "/.well-known/oauth-authorization-server",
        "/.well-known/oauth-protected-resource/mcp",
        "/register",
        "/token",
        "/revoke",
    ] {
        let response = http::send(
            "OPTIONS",
            &app.url(path),
            &[("origin", "https://inspector.example"), ("access-control-request-method", "POST")],
            b"",
        );
        assert_eq!(response.status, 204, "{path}");
        assert_eq!(response.header("access-control-allow-origin"), Some("*"), "{path}");
    }
    let response =
        http::send("GET", &app.url("/.well-known/oauth-authorization-server"), &[("origin", "https://x.example")], b"");
    assert_eq!(response.header("access-control-allow-origin"), Some("*"));
    assert!(response.header("access-control-expose-headers").unwrap_or_default().contains("WWW-Authenticate"));
}

#[test]
fn wrong_methods_get_405_with_allow() {
    let app = TestApp::start();
    for path in ["/register", "/token", "/revoke"] {
        let response = http::get(&app.url(path));
        assert_eq!(response.status, 405, "{path}");
        assert_eq!(response.header("allow"), Some("POST, OPTIONS"));
    }
    let response = http::send("DELETE", &app.url("/.well-known/oauth-authorization-server"), &[], b"");
    assert_eq!(response.status, 405);
}

#[test]
fn registration_of_public_and_confidential_clients() {
    let app = TestApp::start();
    let public = app.register_client(false);
    assert!(public.client_secret.is_none());
    assert_eq!(public.registration["token_endpoint_auth_method"], "none");
    assert!(public.registration["client_id_issued_at"].is_u64());
    let confidential = app.register_client(true);
    assert_eq!(confidential.client_secret.as_deref().map(str::len), Some(43));
    assert_eq!(confidential.registration["client_secret_expires_at"], 0);
    let response = app.register(
        &json!({"redirect_uris": ["http://localhost:6274/oauth/callback"], "token_endpoint_auth_method": "none"}),
    );
    assert_eq!(response.status, 201);
    assert_eq!(response.header("cache-control"), Some("no-store"));
    // The secret is stored only as a hash.
    let secret = confidential.client_secret.unwrap();
    assert!(app.kv_snapshot().values().all(|v| !String::from_utf8_lossy(v).contains(&secret)));
}

#[test]
fn registration_refuses_each_invalid_field() {
    let app = TestApp::start();
    let redirect_errors: [Value; 5] = [
        json!({}),
        json!({"redirect_uris": []}),
        json!({"redirect_uris": ["javascript:alert(1)"]}),
        json!({"redirect_uris": ["http://evil.example/cb"]}),
        json!({"redirect_uris": ["https://a.example/cb#frag"]}),
    ];
    for body in redirect_errors {
        assert_refused(&app, || app.register(&body), 400, "invalid_redirect_uri");
    }
    let metadata_errors: [Value; 6] = [
        json!([]),
        json!({"redirect_uris": ["https://a.example/cb"], "client_name": 7}),
        json!({"redirect_uris": ["https://a.example/cb"], "token_endpoint_auth_method": "private_key_jwt"}),
        json!({"redirect_uris": ["https://a.example/cb"], "grant_types": ["client_credentials"]}),
        json!({"redirect_uris": ["https://a.example/cb"], "response_types": ["token"]}),
        json!({"redirect_uris": ["https://a.example/cb"], "logo_uri": "data:image/png;base64,AAAA"}),
    ];
    for body in metadata_errors {
        assert_refused(&app, || app.register(&body), 400, "invalid_client_metadata");
    }
    let not_json = || http::send("POST", &app.url("/register"), &[("content-type", "application/json")], b"{not json");
    assert_refused(&app, not_json, 400, "invalid_client_metadata");
}

#[test]
fn registration_refuses_wrong_media_type_and_oversized_bodies() {
    let app = TestApp::start();
    let body = br#"{"redirect_uris":["https://a.example/cb"]}"#;
    let text = || http::send("POST", &app.url("/register"), &[("content-type", "text/plain")], body);
    assert_refused(&app, text, 415, "invalid_client_metadata");
    let huge = json!({"redirect_uris": ["https://a.example/cb"], "client_name": "x".repeat(70 * 1024)});
    let before = app.kv_records();
    let response = app.register(&huge);
    assert_eq!(response.status, 413, "{}", response.text());
    assert_eq!(app.kv_records(), before);
}

#[test]
fn token_endpoint_error_paths() {
    let app = TestApp::start();
    let public = app.register_client(false);
    let confidential = app.register_client(true);
    let id = public.client_id.clone();
    let token = |pairs: &[(&str, &str)]| http::post_form(&app.url("/token"), pairs, &[]);

    assert_refused(
        &app,
        || token(&[("grant_type", "client_credentials"), ("client_id", &id)]),
        400,
        "unsupported_grant_type",
    );
    assert_refused(&app, || token(&[("client_id", &id)]), 400, "invalid_request");
    assert_refused(&app, || token(&[("grant_type", "authorization_code"), ("client_id", &id)]), 400, "invalid_request");
    let unknown_code =
        [("grant_type", "authorization_code"), ("client_id", &id), ("code", "nope"), ("code_verifier", "x")];
    assert_refused(&app, || token(&unknown_code), 400, "invalid_grant");
    let unknown_refresh = [("grant_type", "refresh_token"), ("client_id", &id), ("refresh_token", "nope")];
    assert_refused(&app, || token(&unknown_refresh), 400, "invalid_grant");
    let json_body = || http::post_json(&app.url("/token"), &json!({"grant_type": "refresh_token"}), &[]);
    assert_refused(&app, json_body, 400, "invalid_request");

    let unknown_client = [("grant_type", "refresh_token"), ("client_id", "unknown"), ("refresh_token", "x")];
    let response = assert_refused(&app, || token(&unknown_client), 401, "invalid_client");
    assert_eq!(response.header("www-authenticate"), None);
    let wrong_secret = e2e::Client { client_secret: Some("wrong".into()), ..confidential.clone() };
    let response = assert_refused(&app, || app.refresh(&wrong_secret, "x"), 401, "invalid_client");
    assert!(response.header("www-authenticate").unwrap_or_default().starts_with("Basic"));
    let no_secret =
        [("grant_type", "refresh_token"), ("client_id", confidential.client_id.as_str()), ("refresh_token", "x")];
    assert_refused(&app, || token(&no_secret), 401, "invalid_client");
}

#[test]
fn revocation_error_paths() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let before = app.kv_without_housekeeping();
    assert_eq!(app.revoke(&client, "unknown-token").status, 200);
    assert_eq!(app.kv_without_housekeeping(), before);
    let revoke = |pairs: &[(&str, &str)]| http::post_form(&app.url("/revoke"), pairs, &[]);
    assert_refused(&app, || revoke(&[("client_id", &client.client_id)]), 400, "invalid_request");
    assert_refused(&app, || revoke(&[("token", "x"), ("client_id", "unknown")]), 401, "invalid_client");
}

#[test]
fn a_registration_sweeps_records_that_expired_unread_after_answering() {
    let app = TestApp::start();
    let abandoned = app.register_client(false);
    let key = format!("oauth:client:{}", abandoned.client_id);
    // Age that client past its expiry, as 90 days without use would.
    app.age_record(&key, &[]);

    let fresh = app.register_client(false);
    let only_fresh = [format!("oauth:client:{}", fresh.client_id)];
    app.wait_until("the sweep after the registration removed the expired client", || {
        app.kv_keys("oauth:client:") == only_fresh
    });
}

#[test]
fn on_a_redis_store_the_sweep_removes_what_expired_and_leaves_nothing_of_finished_minutes() {
    let Some(redis) = spin_local_testing::redis_server() else { return };
    let app = TestApp::builder().redis(&redis.url).start();
    let store = e2e::store::RedisStore::new(&redis.url);
    let abandoned = app.register_client(false);
    let key = format!("oauth:client:{}", abandoned.client_id);
    e2e::store::age_record(&store, &key, &[]);

    let fresh = app.register_client(false);
    // The aged entry's minute is finished: its counters and slot go; index keys are left only
    // for minutes not yet due (the clients' real expiry, 90 days on; this minute's catch-up turn).
    let now_minute = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() / 60;
    let finished_minutes = |keys: &[String]| -> Vec<String> {
        let index = keys.iter().filter(|k| k.starts_with("expiry:bucket:") || k.starts_with("expiry:slot:"));
        index.filter(|k| k.split(':').nth(2).unwrap().parse::<u64>().unwrap() + 2 <= now_minute).cloned().collect()
    };
    app.wait_until("the sweep after the registration removed the expired client and its entry from Redis", || {
        let keys = store.keys();
        !keys.contains(&key) && finished_minutes(&keys).is_empty()
    });
    assert!(store.keys().contains(&format!("oauth:client:{}", fresh.client_id)));
}
