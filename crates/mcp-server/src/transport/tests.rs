use super::*;
use crate::routes::{Route, route, route_path};
use crate::test_support::{BASE, NOW, World, issue_token, props};
use futures::executor::block_on;
use serde_json::Value;
use std::sync::atomic::Ordering;

const TOKEN: &str = "good-token";
const INIT: &str = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}"#;
const ADD: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"add","arguments":{"a":2,"b":40}}}"#;

fn world() -> World {
    let config = Settings { allowed_origins: vec!["https://inspector.example".into()], ..Settings::default() };
    World::new(config, &[(TOKEN, "user_1")])
}

trait McpWorld {
    fn send(&self, request: Request) -> Response;
}

impl McpWorld for World {
    fn send(&self, request: Request) -> Response {
        block_on(handle_mcp(&self.configured(&request), &self.services()))
    }
}

fn post(body: &str) -> http::request::Builder {
    let _ = body;
    http::Request::post("/mcp")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
}

fn build(builder: http::request::Builder, body: &str) -> Request {
    builder.body(body.as_bytes().to_vec()).unwrap()
}

/// `builder`'s request as it arrives over a connection from `peer` (`ip:port`, as the host reports it).
fn from_peer(builder: http::request::Builder, body: &str, peer: &str) -> Request {
    build(builder.extension(platform::web::ClientAddr(peer.parse().unwrap())), body)
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

fn json(response: &Response) -> Value {
    serde_json::from_slice(response.body()).unwrap_or(Value::Null)
}

#[test]
fn authenticated_tools_call_answers_json() {
    let response = world().send(build(post(ADD), ADD));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "application/json");
    assert_eq!(json(&response)["result"]["content"][0]["text"], "42");
}

#[test]
fn hot_path_is_one_kv_read_and_no_write() {
    let world = world();
    let before = world.store.reads.load(Ordering::SeqCst);
    let writes_before = world.store.writes.load(Ordering::SeqCst);
    assert_eq!(world.send(build(post(ADD), ADD)).status(), StatusCode::OK);
    assert_eq!(world.store.reads.load(Ordering::SeqCst) - before, 1);
    assert_eq!(world.store.writes.load(Ordering::SeqCst), writes_before);
}

#[test]
fn initialize_answers_json_without_session_id() {
    let response = world().send(build(post(INIT), INIT));
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(json(&response)["result"]["protocolVersion"], "2025-06-18");
    assert!(response.headers().get("mcp-session-id").is_none());
}

#[test]
fn missing_token_gets_401_with_resource_metadata_and_scope() {
    let request = build(http::Request::post("/mcp").header("content-type", "application/json"), INIT);
    let response = world().send(request);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        header(&response, "www-authenticate"),
        r#"Bearer resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", scope="mcp:basic mcp:images""#
    );
}

#[test]
fn non_bearer_authorization_is_treated_as_missing() {
    let request = build(post(INIT).header("authorization", "Basic dXNlcjpwYXNz"), INIT);
    let mut request = request;
    request.headers_mut().insert("authorization", "Basic dXNlcjpwYXNz".parse().unwrap());
    let response = world().send(request);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(!header(&response, "www-authenticate").contains("error="));
}

fn with_token(token: &str) -> Request {
    let mut request = build(post(ADD), ADD);
    request.headers_mut().insert("authorization", format!("Bearer {token}").parse().unwrap());
    request
}

fn assert_invalid_token(response: &Response) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = header(response, "www-authenticate");
    assert!(challenge.contains(r#"error="invalid_token""#), "{challenge}");
    assert!(challenge.contains("resource_metadata=") && challenge.contains(r#"scope="mcp:basic mcp:images""#));
    assert_eq!(json(response)["error"], "invalid_token");
}

#[test]
fn unknown_token_gets_401_invalid_token() {
    assert_invalid_token(&world().send(with_token("forged")));
}

#[test]
fn expired_token_gets_401_invalid_token() {
    let world = world();
    world.clock.advance(3600);
    assert_invalid_token(&world.send(with_token(TOKEN)));
}

#[test]
fn token_for_another_resource_gets_401_invalid_token() {
    let world = world();
    issue_token(&world.store.inner, "other", "https://elsewhere.example/mcp", &["mcp"], NOW + 60, props("u", None));
    assert_invalid_token(&world.send(with_token("other")));
}

const IMAGE: &str =
    r#"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"cat"}}}"#;

/// A world with an image backend where `narrow` is an admin's token with only `mcp:basic`.
fn narrow_world() -> World {
    let tools = crate::tools::ToolSettings {
        image_backend: Some(crate::tools::image::tests::cloudflare()),
        ..crate::tools::ToolSettings::default()
    };
    let world = World::new(crate::Settings { tools, ..crate::Settings::default() }, &[]);
    let admin = oauth_core::UserProps { role: Some("admin".into()), ..props("u", None) };
    issue_token(&world.store.inner, "narrow", &format!("{BASE}/mcp"), &["mcp:basic"], NOW + 60, admin);
    world
}

#[test]
fn a_call_whose_scope_the_token_lacks_gets_403_insufficient_scope_naming_every_scope_it_needs() {
    let world = narrow_world();
    let (reads, writes) = (world.store.reads.load(Ordering::SeqCst), world.store.writes.load(Ordering::SeqCst));
    let mut request = build(post(IMAGE), IMAGE);
    request.headers_mut().insert("authorization", "Bearer narrow".parse().unwrap());
    let response = world.send(request);
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    let challenge = header(&response, "www-authenticate");
    assert!(
        challenge.starts_with(r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:images", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp""#),
        "{challenge}"
    );
    assert_eq!(json(&response)["error"], "insufficient_scope");
    assert_eq!(world.store.reads.load(Ordering::SeqCst) - reads, 1, "still one read");
    assert_eq!(world.store.writes.load(Ordering::SeqCst), writes, "and no write");
    let calls = world.audit.of(platform::Event::ToolCalled);
    assert_eq!((calls.len(), calls[0]["error"].as_str()), (1, Some("insufficient_scope")), "audited: {calls:?}");
    let mut request = build(post(ADD), ADD);
    request.headers_mut().insert("authorization", "Bearer narrow".parse().unwrap());
    assert_eq!(json(&world.send(request))["result"]["content"][0]["text"], "42", "the basic tools still work");
}

#[test]
fn the_mcp_name_header_gets_the_challenge_without_the_body_being_parsed() {
    let world = narrow_world();
    let narrow = |tool: &str, body: &str| {
        let mut request = build(post(body).header("mcp-method", "tools/call").header("mcp-name", tool), body);
        request.headers_mut().insert("authorization", "Bearer narrow".parse().unwrap());
        request
    };
    let response = world.send(narrow("generateImage", "{ not json"));
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert!(header(&response, "www-authenticate").contains(r#"scope="mcp:basic mcp:images""#));
    let response = world.send(narrow("add", IMAGE));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST, "a header that passes, contradicted by the body");
    assert_eq!(json(&response)["error"]["code"], -32020);
}

#[test]
fn store_failure_is_503_not_500() {
    let world = world();
    world.store.broken.store(true, Ordering::SeqCst);
    assert_eq!(world.send(build(post(ADD), ADD)).status(), StatusCode::SERVICE_UNAVAILABLE);
}

#[test]
fn a_store_failure_is_described_generically_with_the_detail_for_the_log() {
    let world = world();
    world.store.broken.store(true, Ordering::SeqCst);
    let response = world.send(with_token("any"));
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(header(&response, "retry-after"), "1");
    assert!(!String::from_utf8_lossy(response.body()).contains("disk on fire"), "no store detail in the body");
    assert!(platform::diagnostic::of(&response).is_some_and(|line| line.contains("disk on fire")));
}

#[test]
fn foreign_origin_gets_403_even_with_token() {
    let response = world().send(build(post(ADD).header("origin", "https://evil.example"), ADD));
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
}

#[test]
fn without_public_base_url_a_foreign_host_is_a_421_naming_the_variable_not_its_own_origin() {
    let mut world = world();
    world.vars = platform::StaticVariables::default();
    let evil = build(post(ADD).uri("http://evil.example:3223/mcp").header("origin", "http://evil.example:3223"), ADD);
    let response = world.send(evil);
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST);
    assert!(String::from_utf8_lossy(response.body()).contains("public_base_url"));
    let loopback = post(ADD).uri("http://127.0.0.1:3000/mcp").header("origin", "http://127.0.0.1:3000");
    let loopback = from_peer(loopback, ADD, "127.0.0.1:50000");
    assert_eq!(world.send(loopback).status(), StatusCode::UNAUTHORIZED, "on loopback the request's origin is ours");
}

#[test]
fn without_public_base_url_a_loopback_host_from_a_remote_connection_is_a_421() {
    let mut world = world();
    world.vars = platform::StaticVariables::default();
    let remote = post(ADD).uri("http://localhost:3000/mcp").header("origin", "http://localhost:3000");
    let response = world.send(from_peer(remote, ADD, "192.0.2.7:5555"));
    assert_eq!(response.status(), StatusCode::MISDIRECTED_REQUEST, "Host: localhost from another machine");
    assert!(String::from_utf8_lossy(response.body()).contains("public_base_url"));
}

#[test]
fn own_and_configured_origins_pass_and_get_cors_headers() {
    for origin in [BASE, "https://inspector.example"] {
        let response = world().send(build(post(ADD).header("origin", origin), ADD));
        assert_eq!(response.status(), StatusCode::OK, "{origin}");
        assert_eq!(header(&response, "access-control-allow-origin"), "*");
        assert!(header(&response, "access-control-expose-headers").contains("WWW-Authenticate"));
    }
}

#[test]
fn preflight_allows_auth_and_exposes_headers() {
    let request = http::Request::builder()
        .method("OPTIONS")
        .uri("/mcp")
        .header("origin", "https://inspector.example")
        .body(Vec::new())
        .unwrap();
    let response = world().send(request);
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    assert!(header(&response, "access-control-allow-headers").contains("Authorization"));
    assert!(header(&response, "access-control-expose-headers").contains("Mcp-Session-Id"));
}

#[test]
fn get_and_delete_are_405_with_allow_post() {
    for method in ["GET", "DELETE", "PUT"] {
        let request = http::Request::builder().method(method).uri("/mcp").body(Vec::new()).unwrap();
        let response = world().send(request);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED, "{method}");
        assert_eq!(header(&response, "allow"), "POST");
    }
}

#[test]
fn unsupported_protocol_version_header_is_400() {
    let response = world().send(build(post(ADD).header("mcp-protocol-version", "2024-01-01"), ADD));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(json(&response)["error"]["message"].as_str().unwrap().contains("2024-01-01"));
}

#[test]
fn supported_protocol_version_headers_pass() {
    for version in ["2025-03-26", "2025-06-18", "2025-11-25"] {
        let response = world().send(build(post(ADD).header("mcp-protocol-version", version), ADD));
        assert_eq!(response.status(), StatusCode::OK, "{version}");
    }
}

#[test]
fn wrong_content_type_is_415() {
    let mut request = build(post(ADD), ADD);
    request.headers_mut().insert("content-type", "text/plain".parse().unwrap());
    assert_eq!(world().send(request).status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[test]
fn accept_excluding_json_is_406_and_missing_accept_is_fine() {
    let mut request = build(post(ADD), ADD);
    request.headers_mut().insert("accept", "text/event-stream".parse().unwrap());
    assert_eq!(world().send(request).status(), StatusCode::NOT_ACCEPTABLE);
    let mut request = build(post(ADD), ADD);
    request.headers_mut().remove("accept");
    assert_eq!(world().send(request).status(), StatusCode::OK);
}

#[test]
fn oversized_body_is_413() {
    let big =
        format!(r#"{{"jsonrpc":"2.0","id":1,"method":"ping","params":{{"pad":"{}"}}}}"#, "x".repeat(MAX_BODY_BYTES));
    assert_eq!(world().send(build(post(&big), &big)).status(), StatusCode::PAYLOAD_TOO_LARGE);
}

#[test]
fn notification_is_202_with_empty_body() {
    let body = r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#;
    let response = world().send(build(post(body), body));
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(response.body().is_empty());
}

#[test]
fn parse_error_is_400_json_rpc() {
    let response = world().send(build(post("{"), "{"));
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(&response)["error"]["code"], -32700);
}

#[test]
fn batch_is_400_invalid_request() {
    let body = format!("[{ADD}]");
    let response = world().send(build(post(&body), &body));
    assert_eq!((response.status(), json(&response)["error"]["code"].as_i64()), (StatusCode::BAD_REQUEST, Some(-32600)));
}

#[test]
fn unknown_method_is_200_with_32601() {
    let body = r#"{"jsonrpc":"2.0","id":3,"method":"prompts/list"}"#;
    let response = world().send(build(post(body), body));
    assert_eq!((response.status(), json(&response)["error"]["code"].as_i64()), (StatusCode::OK, Some(-32601)));
}

#[test]
fn base_url_from_request_when_not_configured() {
    let mut world = world();
    world.vars = platform::StaticVariables::default();
    let request = from_peer(post(INIT).uri("http://127.0.0.1:3000/mcp"), INIT, "127.0.0.1:50000");
    let response = world.send(request);
    // The token was issued for https://mcp.example/mcp, so this host's resource does not match.
    assert_invalid_token(&response);
    assert!(
        header(&response, "www-authenticate")
            .contains("http://127.0.0.1:3000/.well-known/oauth-protected-resource/mcp")
    );
}

#[test]
fn routes_by_path() {
    let at = |path: &str| route(&http::Request::get(path).body(Vec::new()).unwrap());
    assert_eq!(at("/mcp"), Route::Mcp);
    assert_eq!(at("/sse"), Route::SseStream);
    assert_eq!(at("/sse/message?sessionId=x"), Route::SseMessage);
    assert_eq!(at("/sse/other"), Route::NotFound);
    assert_eq!(route_path("/sse?x=1"), Route::SseStream);
    assert_eq!(route_path("/mcp/"), Route::Mcp);
}

fn limited_world(per_minute: u64) -> World {
    let config = Settings { tool_calls: platform::rate_limit::TOOL_CALLS.with_max(per_minute), ..Settings::default() };
    World::new(config, &[(TOKEN, "user_1"), ("other-token", "user_2")])
}

fn add_as(world: &World, token: &str) -> Response {
    let request = http::Request::post("/mcp")
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/json")
        .header("accept", "application/json, text/event-stream")
        .body(ADD.as_bytes().to_vec())
        .unwrap();
    world.send(request)
}

#[test]
fn tool_calls_are_recorded_with_tool_user_client_outcome_and_duration_but_not_arguments() {
    let world = world();
    assert_eq!(world.send(build(post(ADD), ADD)).status(), StatusCode::OK);
    let unknown =
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"nope","arguments":{"secret":"s3cr3t"}}}"#;
    world.send(build(post(unknown), unknown));
    assert_eq!(world.send(build(post(INIT), INIT)).status(), StatusCode::OK, "not a tool call");
    let calls = world.audit.of(platform::Event::ToolCalled);
    assert_eq!(calls.len(), 2);
    assert_eq!(
        (
            calls[0]["tool"].as_str(),
            calls[0]["user_id"].as_str(),
            calls[0]["client_id"].as_str(),
            calls[0]["outcome"].as_str()
        ),
        (Some("add"), Some("user_1"), Some("client_1"), Some("success"))
    );
    assert!(calls[0]["duration_ms"].is_u64());
    assert_eq!((calls[1]["outcome"].as_str(), calls[1]["error"].as_str()), (Some("failure"), Some("unknown_tool")));
    let lines: String = world.audit.events().iter().map(|e| e.to_line("mcp-handler", NOW)).collect();
    assert!(!lines.contains("s3cr3t") && !lines.contains(TOKEN), "{lines}");
}

#[test]
fn with_the_tool_call_limit_on_calls_past_it_get_429_and_a_json_rpc_error_until_the_minute_ends() {
    let world = limited_world(2);
    let into_minute = platform::Clock::now_unix(&world.clock) % 60;
    for _ in 0..2 {
        assert_eq!(add_as(&world, TOKEN).status(), StatusCode::OK, "under and at the limit");
    }
    let refused = add_as(&world, TOKEN);
    assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(header(&refused, "retry-after"), (60 - into_minute).to_string());
    let body = json(&refused);
    assert_eq!((body["id"].as_i64(), body["error"]["code"].as_i64()), (Some(2), Some(-32000)));
    assert!(
        body["error"]["message"].as_str().unwrap().contains("rate limit `tool_calls` exceeded (at most 2 per minute)")
    );
    assert_eq!(body["error"]["data"]["retryAfter"], 60 - into_minute);
    assert_eq!(add_as(&world, "other-token").status(), StatusCode::OK, "another user has their own count");
    let ping = r#"{"jsonrpc":"2.0","id":4,"method":"ping"}"#;
    assert_eq!(world.send(build(post(ping), ping)).status(), StatusCode::OK, "only tool calls count");
    world.clock.advance(60 - into_minute);
    assert_eq!(add_as(&world, TOKEN).status(), StatusCode::OK, "a new minute");
    let limited = world.audit.of(platform::Event::RateLimited);
    assert_eq!(
        (limited.len(), limited[0]["tool"].as_str(), limited[0]["user_id"].as_str()),
        (1, Some("add"), Some("user_1"))
    );
}

#[test]
fn with_the_tool_call_limit_on_a_tool_call_costs_one_write() {
    let world = limited_world(100);
    let writes_before = world.store.writes.load(Ordering::SeqCst);
    let reads_before = world.store.reads.load(Ordering::SeqCst);
    assert_eq!(add_as(&world, TOKEN).status(), StatusCode::OK);
    assert_eq!(world.store.reads.load(Ordering::SeqCst) - reads_before, 1, "the token");
    // The first call of a minute also registers its counter for the sweep (two writes, and here,
    // in a fresh store, two more marking the counter's hour and day as having entries) and
    // deletes the last minute's counter.
    assert_eq!(world.store.writes.load(Ordering::SeqCst) - writes_before, 1 + 2 + 2 + 1);
    let writes_before = world.store.writes.load(Ordering::SeqCst);
    assert_eq!(add_as(&world, TOKEN).status(), StatusCode::OK);
    assert_eq!(world.store.writes.load(Ordering::SeqCst) - writes_before, 1, "the counter's increment");
}
