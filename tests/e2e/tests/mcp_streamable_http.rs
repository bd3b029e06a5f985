//! `/mcp` end to end (mcp-handler on spin-local with real tokens from the OAuth flow through the
//! mock Clerk): every protocol version, tools by role, every error status, expired and revoked
//! tokens, and a read-only hot path.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test code: a failed step fails the test")]

use crate::mcp_support::*;
use e2e::TestApp;
use e2e::http;
use serde_json::{Value, json};

#[test]
fn every_protocol_version_initializes_and_calls_tools() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    for version in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let response = mcp(&app, &token, &initialize(version));
        assert_eq!(response.status, 200, "{version}: {}", response.text());
        assert_eq!(response.header("content-type"), Some("application/json"));
        assert_eq!(response.json()["result"]["protocolVersion"], version);
        let call = mcp_with(&app, &token, ADD, &[("mcp-protocol-version", version)]);
        assert_eq!(call.json()["result"]["content"][0]["text"], "42", "{version}");
        assert!(call.json()["result"].get("resultType").is_none(), "no resultType for {version}");
    }
    let unknown = mcp(&app, &token, &initialize("2031-01-01"));
    assert_eq!(unknown.json()["result"]["protocolVersion"], "2025-11-25");
}

#[test]
fn stateless_2026_07_28_discover_and_call_with_meta() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let meta = json!({"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "server/discover")];
    let discover = json!({"jsonrpc": "2.0", "id": "d", "method": "server/discover", "params": {"_meta": meta}});
    let response = mcp_with(&app, &token, &discover.to_string(), &headers);
    assert_eq!(response.status, 200, "{}", response.text());
    let result = &response.json()["result"];
    assert_eq!(result["resultType"], "complete");
    assert!(result["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")));

    let call = json!({"jsonrpc": "2.0", "id": 5, "method": "tools/call",
        "params": {"name": "add", "arguments": {"a": 1, "b": 2}, "_meta": meta}});
    let headers = [("mcp-protocol-version", "2026-07-28"), ("mcp-method", "tools/call"), ("mcp-name", "add")];
    let response = mcp_with(&app, &token, &call.to_string(), &headers);
    assert_eq!(response.json()["result"]["resultType"], "complete");
    assert_eq!(response.json()["result"]["content"][0]["text"], "3");

    let bare = mcp_with(&app, &token, TOOLS_LIST, &[("mcp-protocol-version", "2026-07-28")]);
    assert_eq!((bare.status, bare.json()["error"]["code"].as_i64()), (400, Some(-32602)), "2026 needs _meta");
}

#[test]
fn tools_list_and_generate_image_depend_on_role() {
    let app = app_with_images();
    let admin = token_for(&app, "admin@example.com");
    let user = token_for(&app, "user@example.com");
    assert_eq!(tool_names(&mcp(&app, &admin, TOOLS_LIST)), ["add", "generateImage", "userInfo"]);
    assert_eq!(tool_names(&mcp(&app, &user, TOOLS_LIST)), ["add", "userInfo"]);

    let draw = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"a cat","steps":4}}}"#;
    let image = mcp(&app, &admin, draw).json();
    assert_eq!(image["result"]["content"][0]["type"], "image", "{image}");
    assert_eq!(image["result"]["content"][0]["mimeType"], "image/png");
    assert_eq!(image["result"]["content"][0]["data"], PNG_B64);
    let refused = mcp(&app, &user, draw).json();
    assert_eq!(refused["error"]["code"], -32602);
    assert_eq!(refused["error"]["message"], "Unknown tool: generateImage");
    let steps = r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"x","steps":12}}}"#;
    let out_of_range = mcp(&app, &admin, steps).json();
    assert_eq!(out_of_range["error"]["message"], "argument `steps` must be between 4 and 8");
}

#[test]
fn user_info_returns_the_signed_in_user() {
    let app = TestApp::start();
    let token = token_for(&app, "premium@example.com");
    let response = mcp(&app, &token, USER_INFO).json();
    let text = response["result"]["content"][0]["text"].as_str().expect("text");
    let info: Value = serde_json::from_str(text).expect("json");
    assert_eq!(info["email"], "premium@example.com");
    assert_eq!(info["role"], "premium");
    assert!(info["userId"].as_str().is_some_and(|id| !id.is_empty()));
}

#[test]
fn unauthenticated_and_bad_tokens_get_401_challenges() {
    let app = TestApp::start();
    let response = http::send(
        "POST",
        &app.url("/mcp"),
        &[("content-type", "application/json")],
        initialize("2025-06-18").as_bytes(),
    );
    assert_eq!(response.status, 401);
    let challenge = response.header("www-authenticate").expect("challenge").to_owned();
    let metadata = format!(r#"resource_metadata="{}/.well-known/oauth-protected-resource/mcp""#, app.base_url());
    assert!(
        challenge.starts_with("Bearer ")
            && challenge.contains(&metadata)
            && challenge.contains(r#"scope="mcp:basic mcp:images""#)
    );
    assert!(!challenge.contains("error="));

    let forged = mcp(&app, "not-a-real-token", TOOLS_LIST);
    assert_eq!(forged.status, 401);
    assert!(forged.header("www-authenticate").unwrap_or("").contains(r#"error="invalid_token""#));
}

#[test]
fn revoked_and_expired_tokens_are_refused() {
    let app = TestApp::start();
    let (client, access, _) = signed_in_client(&app, "user@example.com");
    assert_eq!(mcp(&app, &access, TOOLS_LIST).status, 200);
    assert_eq!(app.revoke(&client, &access).status, 200);
    let revoked = mcp(&app, &access, TOOLS_LIST);
    assert_eq!(revoked.status, 401);
    assert!(revoked.header("www-authenticate").unwrap_or("").contains("invalid_token"));

    // Expire a live token by rewriting its record's expiry in the store.
    let live = token_for(&app, "user@example.com");
    expire_access_token(&app, &live);
    let expired = mcp(&app, &live, TOOLS_LIST);
    assert_eq!(expired.status, 401, "{}", expired.text());
    assert!(expired.header("www-authenticate").unwrap_or("").contains("invalid_token"));
}

/// Sets `expires_at` of the token's record to the past, straight in the SQLite store.
fn expire_access_token(app: &TestApp, token: &str) {
    let key = format!("oauth:access:{}", platform::secret::hash_hex(token));
    let mut record: Value = serde_json::from_slice(app.kv_snapshot().get(&key).expect("token record")).unwrap();
    record["expires_at"] = json!(1);
    let db = app.state_dir().join("sqlite_key_value.db");
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.execute(
        "UPDATE spin_key_value SET value = ?1 WHERE store = 'default' AND key = ?2",
        rusqlite::params![serde_json::to_vec(&record).unwrap(), key],
    )
    .unwrap();
}

#[test]
fn transport_errors_have_the_right_status() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let auth = format!("Bearer {token}");
    let url = app.url("/mcp");

    let foreign = mcp_with(&app, &token, TOOLS_LIST, &[("origin", "https://evil.example")]);
    assert_eq!(foreign.status, 403);
    let own = mcp_with(&app, &token, TOOLS_LIST, &[("origin", app.base_url())]);
    assert_eq!(own.status, 200);

    assert_eq!(mcp_with(&app, &token, TOOLS_LIST, &[("mcp-protocol-version", "1999-01-01")]).status, 400);

    let plain = http::send("POST", &url, &[("authorization", &auth), ("content-type", "text/plain")], ADD.as_bytes());
    assert_eq!(plain.status, 415);
    let html_only = http::send(
        "POST",
        &url,
        &[("authorization", &auth), ("content-type", "application/json"), ("accept", "text/html")],
        ADD.as_bytes(),
    );
    assert_eq!(html_only.status, 406);
    let no_accept =
        http::send("POST", &url, &[("authorization", &auth), ("content-type", "application/json")], ADD.as_bytes());
    assert_eq!(no_accept.status, 200, "clients that omit Accept are served");

    let big = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(1024 * 1024));
    let json_headers = [("authorization", auth.as_str()), ("content-type", "application/json")];
    assert_eq!(post_raw(&app, "/mcp", &json_headers, big.as_bytes(), false), 413);
    assert_eq!(post_raw(&app, "/mcp", &json_headers, big.as_bytes(), true), 413, "chunked bodies are counted too");

    for method in ["GET", "DELETE"] {
        let response = http::send(method, &url, &[("authorization", &auth)], b"");
        assert_eq!((response.status, response.header("allow")), (405, Some("POST")), "{method}");
    }

    let preflight =
        http::send("OPTIONS", &url, &[("origin", app.base_url()), ("access-control-request-method", "POST")], b"");
    assert_eq!(preflight.status, 204);
    assert!(preflight.header("access-control-expose-headers").unwrap_or("").contains("WWW-Authenticate"));
}

#[test]
fn json_rpc_errors_and_notifications() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let notification = mcp(&app, &token, r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#);
    assert_eq!((notification.status, notification.body.len()), (202, 0));

    let cases: [(&str, u16, i64); 5] = [
        ("{oops", 400, -32700),
        (r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#, 400, -32600),
        (r#"{"jsonrpc":"2.0","id":1,"method":"resources/list"}"#, 200, -32601),
        (
            r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":"x","b":1}}}"#,
            200,
            -32602,
        ),
        (r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"nope","arguments":{}}}"#, 200, -32602),
    ];
    for (body, status, code) in cases {
        let response = mcp(&app, &token, body);
        assert_eq!((response.status, response.json()["error"]["code"].as_i64()), (status, Some(code)), "{body}");
    }
    let wrong_type = mcp(&app, &token, cases[3].0).json();
    assert_eq!(wrong_type["error"]["message"], "argument `a` must be a number");
}

#[test]
fn the_hot_path_writes_nothing() {
    let app = TestApp::start();
    let token = token_for(&app, "user@example.com");
    let before = app.kv_without_housekeeping();
    for _ in 0..5 {
        assert_eq!(mcp(&app, &token, ADD).status, 200);
    }
    assert_eq!(app.kv_without_housekeeping(), before);
}
