//! The security review's findings (issue 10), each attacked through the real components on
//! spin-local: what an outside reviewer did against a running server, and the behaviour that
//! must hold instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use e2e::http::{Response, send};
use e2e::{Browser, Pkce, TestApp};
use mock_clerk::Fault;
use serde_json::json;

/// A public client redirecting to `redirect_uri` (registered as an attacker would).
fn client_redirecting_to(app: &TestApp, redirect_uri: &str) -> e2e::Client {
    app.register_client_with(&json!({
        "client_name": "Totally legit",
        "redirect_uris": [redirect_uri],
        "token_endpoint_auth_method": "none",
    }))
}

fn assert_page_without_redirect(response: &Response, status: u16) {
    assert_eq!(response.status, status, "{}", response.text());
    assert_eq!(response.location(), None, "redirected to {:?}", response.location());
    assert!(response.header("content-type").unwrap_or_default().starts_with("text/html"));
}

// Finding 1: open redirect before consent.

#[test]
fn an_invalid_request_for_a_redirect_uri_nobody_approved_is_a_page_not_a_redirect() {
    let app = TestApp::start();
    let phish = client_redirecting_to(&app, "https://evil.example/phish");
    let id = &phish.client_id;
    let requests = [
        format!("/authorize?client_id={id}"),
        format!("/authorize?client_id={id}&response_type=token&state=s"),
        format!("/authorize?client_id={id}&response_type=code&code_challenge=x&code_challenge_method=plain"),
        format!("/authorize?client_id={id}&response_type=code&scope=admin"),
    ];
    for path in requests {
        let response = Browser::new().get(&app.url(&path));
        assert_page_without_redirect(&response, 400);
    }
}

#[test]
fn an_invalid_request_for_a_redirect_uri_this_browser_approved_goes_back_to_the_client() {
    let app = TestApp::start();
    let client = client_redirecting_to(&app, "https://client.example/cb");
    let mut browser = Browser::new();
    app.authorize_as(&mut browser, &client, "admin@example.com");
    let url = app.authorize_url(&client, &Pkce::new(), "st").replace("response_type=code", "response_type=token");
    let response = browser.get(&url);
    assert_eq!(response.status, 302, "{}", response.text());
    let query = response.location_query();
    assert!(response.location().unwrap().starts_with("https://client.example/cb?"));
    assert_eq!((query["error"].as_str(), query["state"].as_str()), ("unsupported_response_type", "st"));
    assert_page_without_redirect(&Browser::new().get(&url), 400);
}

#[test]
fn private_use_redirect_schemes_are_an_allow_list() {
    let app = TestApp::start();
    for allowed in [
        "cursor://anysphere.cursor-mcp/oauth/callback",
        "vscode://saoudrizwan.claude-dev/mcp-auth",
        "com.example.app:/oauth2redirect",
    ] {
        let response = app.register(&json!({"redirect_uris": [allowed], "token_endpoint_auth_method": "none"}));
        assert_eq!(response.status, 201, "{allowed}: {}", response.text());
    }
    for refused in [
        "ms-msdt:/id%20PCWDiagnostic",
        "ms-settings:privacy",
        "x-apple.systempreferences:com.apple.preference.security",
        "steam://run/1",
        "myapp://callback",
    ] {
        let before = app.kv_records();
        let response = app.register(&json!({"redirect_uris": [refused], "token_endpoint_auth_method": "none"}));
        assert_eq!(response.status, 400, "{refused}: {}", response.text());
        assert_eq!(response.json()["error"], "invalid_redirect_uri");
        assert_eq!(app.kv_records(), before, "{refused}");
    }
    let strict = TestApp::builder().variable("native_redirect_schemes", "vscode").start();
    let cursor = json!({"redirect_uris": ["cursor://anysphere.cursor-mcp/oauth/callback"]});
    assert_eq!(strict.register(&cursor).status, 400, "the allow-list is the variable's");
}

#[test]
fn a_client_registered_before_with_a_scheme_now_refused_gets_a_page_at_authorize() {
    let app = TestApp::start();
    let client = client_redirecting_to(&app, "https://client.example/cb");
    // As a previous release (a block-list) would have stored it.
    let key = format!("oauth:client:{}", client.client_id);
    let mut record: serde_json::Value = serde_json::from_slice(&app.kv_snapshot()[&key]).unwrap();
    record["metadata"]["redirect_uris"] = json!(["ms-msdt:/id%20PCWDiagnostic"]);
    app.kv_write(&key, Some(&serde_json::to_vec(&record).unwrap()));
    let old = e2e::Client { redirect_uri: "ms-msdt:/id%20PCWDiagnostic".into(), ..client };
    let mut browser = Browser::new();
    for url in [app.authorize_url(&old, &Pkce::new(), "s"), app.url(&format!("/authorize?client_id={}", old.client_id))]
    {
        assert_page_without_redirect(&browser.get(&url), 400);
    }
}

// Finding 2: unauthenticated storage amplification.

#[test]
fn an_oversized_state_is_refused_before_anything_is_stored() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let longest = "s".repeat(1024);
    let page = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), &longest));
    assert_eq!(page.status, 200, "a 1 KiB state is fine: {}", page.text());
    for size in [1025, 60 * 1024] {
        let before = app.kv_records();
        let response = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), &"s".repeat(size)));
        assert_page_without_redirect(&response, 400);
        assert!(response.text().contains("longer than 1024 bytes"), "{}", response.text());
        assert_eq!(app.kv_records(), before, "a {size}-byte state was stored");
    }
}

#[test]
fn an_oversized_state_for_an_approved_client_goes_back_without_it() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    app.authorize_as(&mut browser, &client, "admin@example.com");
    let response = browser.get(&app.authorize_url(&client, &Pkce::new(), &"s".repeat(60 * 1024)));
    assert_eq!(response.status, 302, "{}", response.text());
    let query = response.location_query();
    assert_eq!(query["error"], "invalid_request");
    assert!(!query.contains_key("state") && response.location().unwrap().len() < 500);
}

#[test]
fn registration_metadata_is_bounded_in_count_size_and_total() {
    let app = TestApp::start();
    let twenty_long_uris: Vec<String> =
        (0..20).map(|i| format!("https://a.example/{i}/{}", "x".repeat(1900))).collect();
    let ten_long_uris: Vec<String> = (0..10).map(|i| format!("https://a.example/{i}/{}", "x".repeat(1900))).collect();
    let eleven_uris: Vec<String> = (0..11).map(|i| format!("https://a.example/{i}")).collect();
    let contacts: Vec<String> = (0..20).map(|i| format!("{i}@a.example")).collect();
    let ok = ["https://a.example/cb"];
    let refused = [
        (json!({"redirect_uris": twenty_long_uris}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ten_long_uris}), "invalid_redirect_uri"),
        (json!({"redirect_uris": eleven_uris}), "invalid_redirect_uri"),
        (json!({"redirect_uris": ok, "contacts": contacts}), "invalid_client_metadata"),
        (json!({"redirect_uris": ok, "client_name": "n".repeat(201)}), "invalid_client_metadata"),
        (json!({"redirect_uris": ok, "software_version": "v".repeat(2000)}), "invalid_client_metadata"),
        (
            json!({"redirect_uris": ok, "tos_uri": format!("https://a.example/{}", "t".repeat(1000))}),
            "invalid_client_metadata",
        ),
    ];
    for (metadata, error) in refused {
        let before = app.kv_records();
        let response = app.register(&metadata);
        assert_eq!((response.status, response.json()["error"].as_str()), (400, Some(error)), "{}", response.text());
        assert!(response.json()["error_description"].as_str().unwrap().len() < 300, "{}", response.text());
        assert_eq!(app.kv_records(), before);
    }
    let largest = app.register(&json!({
        "redirect_uris": (0..10).map(|i| format!("https://a.example/{i}/{}", "x".repeat(400))).collect::<Vec<_>>(),
        "client_name": "n".repeat(200),
        "contacts": (0..5).map(|i| format!("{i}@a.example")).collect::<Vec<_>>(),
    }));
    assert_eq!(largest.status, 201, "{}", largest.text());
    let stored: usize = app.kv_snapshot().values().map(Vec::len).sum();
    assert!(stored < 10 * 1024, "one registration stored {stored} bytes");
}

// Finding 3: refresh-token rotation (the grace window is in main; this is the client's view).

/// Refreshes `refresh_token` as a client does: a 503 is retried after its `Retry-After`.
fn refresh_retrying(app: &TestApp, client: &e2e::Client, refresh_token: &str) -> Response {
    loop {
        let response = app.refresh(client, refresh_token);
        if response.status != 503 {
            return response;
        }
        let wait = response.header("retry-after").and_then(|s| s.parse().ok()).unwrap_or(1);
        std::thread::sleep(std::time::Duration::from_secs(wait));
    }
}

#[test]
fn sixteen_concurrent_refreshes_leave_a_usable_token_whichever_answer_is_kept_and_r0_later_revokes() {
    let app = std::sync::Arc::new(TestApp::builder().variable("refresh_grace_seconds", "3").start());
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, "admin@example.com");
    let r0 =
        app.exchange_code(&client, &auth.code, &auth.verifier).json()["refresh_token"].as_str().unwrap().to_owned();
    let answers = e2e::flow::race(16, {
        let (app, client, r0) = (app.clone(), client.clone(), r0.clone());
        move || refresh_retrying(&app, &client, &r0)
    });
    let mut kept = Vec::new();
    for answer in &answers {
        assert_eq!(answer.status, 200, "every concurrent refresh ends with tokens: {}", answer.text());
        let pair = answer.json();
        assert_eq!(app.mcp_initialize(pair["access_token"].as_str().unwrap()).status, 200);
        kept.push(pair["refresh_token"].as_str().unwrap().to_owned());
    }
    kept.dedup();
    assert_eq!(kept.len(), 1, "one rotation, the same answer to all: {kept:?}");
    let r1 = &kept[0];
    let r2 = app.refresh(&client, r1);
    assert_eq!(r2.status, 200, "the kept token is usable: {}", r2.text());
    let r2 = r2.json();

    std::thread::sleep(std::time::Duration::from_millis(4100)); // past the 3 s window, in whole seconds
    let replay = app.refresh(&client, &r0);
    assert_eq!((replay.status, replay.json()["error"].as_str()), (400, Some("invalid_grant")));
    assert_eq!(app.mcp_initialize(r2["access_token"].as_str().unwrap()).status, 401, "the grant is revoked");
    assert_eq!(app.refresh(&client, r2["refresh_token"].as_str().unwrap()).json()["error"], "invalid_grant");
}

// Finding 4: the Host header decided the issuer when public_base_url was unset.

/// A foreign `Host` without `public_base_url` is a 421 Misdirected Request naming the variable:
/// a deployment that lacks it, or a DNS-rebinding page against a local server (the MCP
/// conformance suite asks for a 4xx there).
#[test]
fn without_public_base_url_a_foreign_host_is_refused_naming_the_variable() {
    let app = TestApp::start();
    let evil = ("host", "evil.example:3223");
    let metadata = send("GET", &app.url("/.well-known/oauth-authorization-server"), &[evil], b"");
    assert_eq!((metadata.status, metadata.json()["error"].as_str()), (421, Some("invalid_request")));
    let description = metadata.json()["error_description"].as_str().unwrap().to_owned();
    assert!(description.contains("public_base_url") && !description.contains("evil.example"), "{description}");
    assert_ne!(metadata.header("cache-control"), Some("public, max-age=300"));

    let initialize = br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#;
    let mcp_headers = [
        evil,
        ("origin", "http://evil.example:3223"),
        ("content-type", "application/json"),
        ("accept", "application/json, text/event-stream"),
    ];
    let mcp = send("POST", &app.url("/mcp"), &mcp_headers, initialize);
    assert_eq!(mcp.status, 421, "{}", mcp.text());
    assert!(mcp.text().contains("public_base_url"), "{}", mcp.text());

    let client = app.register_client(false);
    let authorize = app.authorize_url(&client, &Pkce::new(), "st");
    let page = send("GET", &authorize, &[evil], b"");
    assert_page_without_redirect(&page, 421);
    assert!(page.text().contains("public_base_url"), "{}", page.text());
}

#[test]
fn discovery_taken_from_a_loopback_request_is_not_publicly_cacheable() {
    let app = TestApp::start();
    let metadata = send("GET", &app.url("/.well-known/oauth-authorization-server"), &[], b"");
    assert_eq!(metadata.status, 200, "{}", metadata.text());
    assert_eq!(metadata.json()["issuer"], app.base_url());
    assert_eq!(metadata.header("cache-control"), Some("private, no-cache"));
    let resource = send("GET", &app.url("/.well-known/oauth-protected-resource/mcp"), &[], b"");
    assert_eq!(resource.header("cache-control"), Some("private, no-cache"));
}

#[test]
fn with_public_base_url_the_host_header_changes_nothing() {
    let app = TestApp::builder().variable("public_base_url", "https://mcp.example.com").start();
    let evil = ("host", "evil.example:3223");
    let metadata = send("GET", &app.url("/.well-known/oauth-authorization-server"), &[evil], b"");
    assert_eq!(metadata.status, 200, "{}", metadata.text());
    assert_eq!(metadata.json()["issuer"], "https://mcp.example.com");
    assert_eq!(metadata.header("cache-control"), Some("public, max-age=300"));
    let mcp_headers = [evil, ("origin", "http://evil.example:3223"), ("content-type", "application/json")];
    let mcp = send("POST", &app.url("/mcp"), &mcp_headers, b"{}");
    assert_eq!(mcp.status, 403, "a foreign Origin: {}", mcp.text());
}

// Finding 5: bidi spoofing on the consent page.

#[test]
fn names_and_links_with_bidi_or_invisible_characters_are_refused_at_registration() {
    let app = TestApp::start();
    let ok = ["https://a.example/cb"];
    for metadata in [
        json!({"redirect_uris": ok, "client_name": "Claude Desktop \u{202e}(lanoicifo)"}),
        json!({"redirect_uris": ok, "client_name": "Claude\u{200b} Desktop"}),
        json!({"redirect_uris": ok, "client_name": "Claude Desktop \u{2067}x"}),
        json!({"redirect_uris": ok, "tos_uri": "https://a.example/\u{202e}terms"}),
    ] {
        let before = app.kv_records();
        let response = app.register(&metadata);
        assert_eq!(response.status, 400, "{metadata}: {}", response.text());
        assert_eq!(response.json()["error"], "invalid_client_metadata");
        assert!(response.json()["error_description"].as_str().unwrap().contains("bidirectional"));
        assert_eq!(app.kv_records(), before);
    }
    let refused = app.register(&json!({"redirect_uris": ["https://a.example/cb\u{202e}"]}));
    assert_eq!((refused.status, refused.json()["error"].as_str()), (400, Some("invalid_redirect_uri")));
}

#[test]
fn the_consent_page_isolates_the_names_it_shows() {
    let app = TestApp::start();
    let client = app.register_client_with(&json!({
        "client_name": "עורך (official)",
        "redirect_uris": ["https://client.example/cb"],
        "token_endpoint_auth_method": "none",
    }));
    let page = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), "st"));
    assert_eq!(page.status, 200, "{}", page.text());
    assert!(page.text().contains(r#"“<bdi class="client">עורך (official)</bdi>” wants to use"#), "{}", page.text());
    assert!(page.text().contains("<bdi>client.example</bdi>"), "{}", page.text());
}

// Finding 6: internal details in error descriptions.

/// Fails if `description` tells an outsider where the server's dependencies are or how it is built.
fn assert_generic(description: &str) {
    for internal in ["127.0.0.1", "localhost", "ErrorCode", "onnection", "/v1/", "Backend API", "re-read", "redis"] {
        assert!(!description.contains(internal), "`{internal}` in {description:?}");
    }
}

#[test]
fn a_refresh_while_clerk_is_down_gets_a_generic_description() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let auth = app.authorize_as(&mut Browser::new(), &client, "admin@example.com");
    let tokens = app.exchange_code(&client, &auth.code, &auth.verifier).json();
    let refresh = tokens["refresh_token"].as_str().unwrap();
    for fault in [Fault::Refused, Fault::Down, Fault::Malformed] {
        app.clerk().set_fault(fault);
        let response = app.refresh(&client, refresh);
        assert_eq!((response.status, response.json()["error"].as_str()), (503, Some("temporarily_unavailable")));
        assert_generic(response.json()["error_description"].as_str().unwrap());
    }
    app.clerk().set_fault(Fault::None);
    assert_eq!(app.refresh(&client, refresh).status, 200, "the token survived the outage");
}

// Finding 7: upstream sign-in secrets stored in clear.

#[test]
fn the_upstream_sign_in_record_holds_neither_its_state_nor_its_nonce_in_clear() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let page = browser.get(&app.authorize_url(&client, &Pkce::new(), "client-state"));
    let to_clerk = app.submit_consent(&mut browser, &page, "approve");
    let clerk_query = to_clerk.location_query();
    let (state, nonce) = (clerk_query["state"].clone(), clerk_query["nonce"].clone());
    let records: Vec<(String, Vec<u8>)> = app
        .kv_snapshot()
        .into_iter()
        .filter(|(key, _)| key.starts_with("signin:upstream:") && !key.contains('#'))
        .collect();
    assert_eq!(records.len(), 1, "{records:?}");
    let (key, value) = &records[0];
    let value = String::from_utf8_lossy(value);
    for secret in [&state, &nonce, &"client-state".to_owned(), &client.client_id] {
        assert!(!key.contains(secret.as_str()) && !value.contains(secret.as_str()), "{secret} in {key} = {value}");
    }
    assert!(value.contains("\"sealed\""), "{value}");

    let back = browser.get(to_clerk.location().unwrap());
    let to_client = browser.get(back.location().unwrap());
    assert_eq!(to_client.status, 302, "{}", to_client.text());
    assert!(to_client.location_query().contains_key("code"), "the sealed record still completes the sign-in");
}

// Finding 8: clerk_frontend_api over plain http.

#[test]
fn clerk_urls_over_plain_http_are_refused_outside_loopback() {
    for variable in ["clerk_frontend_api", "clerk_api_url"] {
        let app = TestApp::builder().variable(variable, "http://clerk.example.com").start();
        let client = app.register_client(false);
        let response = Browser::new().get(&app.authorize_url(&client, &Pkce::new(), "s"));
        assert_page_without_redirect(&response, 500);
        assert!(response.text().contains(variable), "{}", response.text());
        assert!(response.text().contains("must be https"), "{}", response.text());
    }
}

#[test]
fn the_development_setup_on_loopback_keeps_working_over_http() {
    let app = TestApp::start();
    assert!(app.clerk().base_url().starts_with("http://127.0.0.1"));
    let tokens = app.tokens_for("admin@example.com");
    assert!(tokens["access_token"].is_string());
}
