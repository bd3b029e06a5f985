use super::*;
use crate::test_support::FakeHttp;
use crate::tools::ToolSettings;
use crate::tools::image::tests::{JPEG_B64, cloudflare};
use futures::executor::block_on;
use oauth_core::UserProps;

const META_2026: &str = r#""_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}"#;

fn toolbox(role: Option<&str>) -> Toolbox<'static> {
    let user = UserProps { user_id: "user_1".into(), role: role.map(str::to_owned), ..UserProps::default() };
    crate::test_support::toolbox_for(user, ToolSettings::default(), FakeHttp::unused())
}

/// A toolbox with an image backend, for a user with `role` holding a token with `scopes`.
fn imaging(role: &str, scopes: &[&str]) -> Toolbox<'static> {
    let settings = ToolSettings { image_backend: Some(cloudflare()), ..ToolSettings::default() };
    let user = UserProps { user_id: "u".into(), role: Some(role.into()), ..UserProps::default() };
    let scopes = scopes.iter().map(|s| (*s).to_owned()).collect();
    let http = FakeHttp::json(200, json!({"result": {"image": JPEG_B64}, "success": true}));
    crate::test_support::toolbox_with_scopes(user, scopes, settings, http)
}

fn run_with(toolbox: &Toolbox<'static>, body: &str, envelope: Envelope<'_>) -> (StatusCode, Value) {
    let (store, clock, audit) =
        (platform::MemoryStore::new(), platform::ManualClock::at(0), platform::MemoryAudit::new());
    let calls = ToolCalls {
        store: &store,
        clock: &clock,
        limit: crate::Settings::default().tool_calls,
        audit: &audit,
        user_id: "user_1",
        client_id: "client_1",
        client_addr: None,
    };
    match block_on(dispatch(toolbox, body.as_bytes(), envelope, &calls)) {
        Reply::Json { status, body, .. } => (status, serde_json::from_slice(&body).unwrap()),
        Reply::Accepted => (StatusCode::ACCEPTED, Value::Null),
        Reply::InsufficientScope { tool, scope } => (StatusCode::FORBIDDEN, json!({ "tool": tool, "scope": scope })),
    }
}

fn run(body: &str) -> (StatusCode, Value) {
    run_with(&toolbox(None), body, Envelope::default())
}

fn header(version: &str) -> Envelope<'_> {
    Envelope { protocol_version: Some(version), ..Envelope::default() }
}

fn error_code(answer: &(StatusCode, Value)) -> i64 {
    answer.1["error"]["code"].as_i64().unwrap_or_default()
}

#[test]
fn initialize_echoes_supported_versions() {
    for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
        let (status, json) = run(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{v}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
        ));
        assert_eq!(status, StatusCode::OK);
        assert_eq!(json["result"]["protocolVersion"], v);
        assert_eq!(json["result"]["serverInfo"]["name"], SERVER_NAME);
        assert!(json["result"]["capabilities"]["tools"].is_object());
        assert!(json["result"].get("resultType").is_none());
    }
}

#[test]
fn initialize_with_unknown_version_answers_latest_handshake_version() {
    for v in ["2099-01-01", "2026-07-28"] {
        let (_, json) = run(&format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{"protocolVersion":"{v}","capabilities":{{}},"clientInfo":{{"name":"t","version":"1"}}}}}}"#
        ));
        assert_eq!(json["result"]["protocolVersion"], "2025-11-25", "{v}");
    }
}

#[test]
fn initialized_notification_and_client_responses_are_accepted() {
    assert_eq!(run(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).0, StatusCode::ACCEPTED);
    assert_eq!(
        run(r#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#).0,
        StatusCode::ACCEPTED
    );
    assert_eq!(run(r#"{"jsonrpc":"2.0","id":9,"result":{}}"#).0, StatusCode::ACCEPTED);
}

#[test]
fn ping_answers_empty_result() {
    let (status, json) = run(r#"{"jsonrpc":"2.0","id":"p","method":"ping"}"#);
    assert_eq!((status, &json["id"], &json["result"]), (StatusCode::OK, &json!("p"), &json!({})));
}

#[test]
fn tools_list_for_legacy_peer_has_no_result_type() {
    let (_, json) = run_with(&toolbox(None), r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, header("2025-06-18"));
    assert!(json["result"].get("resultType").is_none());
    let names: Vec<&str> =
        json["result"]["tools"].as_array().unwrap().iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(names, ["add", "userInfo"]);
    assert!(json["result"]["tools"][0]["inputSchema"]["properties"]["a"].is_object());
}

#[test]
fn tools_list_for_2026_peer_has_result_type_and_cache_hints() {
    let body = format!(r#"{{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{{{META_2026}}}}}"#);
    let (status, json) = run_with(&toolbox(None), &body, header("2026-07-28"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["result"]["resultType"], "complete");
    assert_eq!(json["result"]["cacheScope"], "private");
}

#[test]
fn tools_list_differs_by_role() {
    let settings = ToolSettings { image_backend: Some(cloudflare()), ..ToolSettings::default() };
    let admin = crate::test_support::toolbox_for(
        UserProps { user_id: "u".into(), role: Some("admin".into()), ..UserProps::default() },
        settings,
        FakeHttp::unused(),
    );
    let (_, json) = run_with(&admin, r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#, Envelope::default());
    assert_eq!(json["result"]["tools"].as_array().unwrap().len(), 3);
    let (_, json) = run(r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#);
    assert_eq!(json["result"]["tools"].as_array().unwrap().len(), 2);
}

#[test]
fn tools_call_add_legacy_and_stateless() {
    let (_, json) =
        run(r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#);
    assert_eq!(json["result"]["content"][0]["text"], "3");
    assert_eq!(json["result"]["isError"], false);
    assert!(json["result"].get("resultType").is_none());
    let body = format!(
        r#"{{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{{"name":"add","arguments":{{"a":1,"b":2}},{META_2026}}}}}"#
    );
    let (_, json) = run_with(&toolbox(None), &body, header("2026-07-28"));
    assert_eq!(json["result"]["resultType"], "complete");
    assert_eq!(json["result"]["content"][0]["text"], "3");
}

#[test]
fn generate_image_call_returns_image_content() {
    let settings = ToolSettings { image_backend: Some(cloudflare()), ..ToolSettings::default() };
    let http = FakeHttp::json(200, json!({"result": {"image": JPEG_B64}, "success": true}));
    let admin = crate::test_support::toolbox_for(
        UserProps { user_id: "u".into(), role: Some("premium".into()), ..UserProps::default() },
        settings,
        http,
    );
    let (_, json) = run_with(
        &admin,
        r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"cat"}}}"#,
        Envelope::default(),
    );
    assert_eq!(json["result"]["content"][0]["type"], "image");
    assert_eq!(json["result"]["content"][0]["mimeType"], "image/jpeg");
}

#[test]
fn unknown_method_is_method_not_found() {
    let answer = run(r#"{"jsonrpc":"2.0","id":4,"method":"resources/list"}"#);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::OK, -32601));
    assert_eq!(answer.1["id"], 4);
}

#[test]
fn unknown_tool_is_invalid_params() {
    let answer = run(r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"nope","arguments":{}}}"#);
    assert_eq!(error_code(&answer), -32602);
    assert_eq!(answer.1["error"]["message"], "Unknown tool: nope");
}

#[test]
fn hidden_tool_is_unknown_for_unprivileged_user() {
    let answer = run(
        r#"{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"x"}}}"#,
    );
    assert_eq!(error_code(&answer), -32602);
    assert_eq!(answer.1["error"]["message"], "Unknown tool: generateImage");
}

#[test]
fn bad_tool_arguments_name_the_field() {
    let cases =
        [(r#"{"a":"1","b":2}"#, "argument `a` must be a number"), (r#"{"a":1}"#, "missing required argument `b`")];
    for (arguments, message) in cases {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{{"name":"add","arguments":{arguments}}}}}"#
        );
        let answer = run(&body);
        assert_eq!((error_code(&answer), answer.1["error"]["message"].as_str()), (-32602, Some(message)));
    }
}

#[test]
fn tools_call_without_name_is_invalid_params() {
    let answer = run(r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"arguments":{}}}"#);
    assert_eq!(error_code(&answer), -32602);
    assert!(answer.1["error"]["message"].as_str().unwrap().contains("name"));
}

#[test]
fn parse_error_and_batch_are_400() {
    let answer = run("{");
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32700));
    let answer = run(r#"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32600));
}

#[test]
fn discover_lists_versions_and_capabilities() {
    let body = format!(r#"{{"jsonrpc":"2.0","id":8,"method":"server/discover","params":{{{META_2026}}}}}"#);
    let (status, json) = run_with(&toolbox(None), &body, header("2026-07-28"));
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["result"]["resultType"], "complete");
    assert!(json["result"]["supportedVersions"].as_array().unwrap().contains(&json!("2026-07-28")));
    assert!(json["result"]["capabilities"]["tools"].is_object());
    assert_eq!(json["result"]["_meta"]["io.modelcontextprotocol/serverInfo"]["name"], SERVER_NAME);
}

#[test]
fn discover_without_meta_is_invalid_params_400() {
    let answer = run(r#"{"jsonrpc":"2.0","id":8,"method":"server/discover","params":{}}"#);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32602));
    assert!(answer.1["error"]["message"].as_str().unwrap().contains("clientCapabilities"));
}

#[test]
fn stateless_header_without_meta_is_invalid_params_400() {
    let answer = run_with(&toolbox(None), r#"{"jsonrpc":"2.0","id":9,"method":"tools/list"}"#, header("2026-07-28"));
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32602));
}

#[test]
fn meta_version_must_match_header() {
    let body = format!(r#"{{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{{{META_2026}}}}}"#);
    let answer = run_with(&toolbox(None), &body, header("2025-06-18"));
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32020));
}

#[test]
fn unsupported_meta_version_is_refused_with_supported_list() {
    let body = r#"{"jsonrpc":"2.0","id":9,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2030-01-01","io.modelcontextprotocol/clientCapabilities":{}}}}"#;
    let answer = run(body);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32022));
    assert!(answer.1["error"]["data"]["supported"].as_array().unwrap().contains(&json!("2025-11-25")));
}

#[test]
fn mcp_method_header_must_match_body() {
    let envelope = Envelope { mcp_method: Some("tools/call"), ..Envelope::default() };
    let answer = run_with(&toolbox(None), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#, envelope);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32020));
}

#[test]
fn mcp_name_header_must_match_tool() {
    let envelope = Envelope { mcp_method: Some("tools/call"), mcp_name: Some("userInfo"), ..Envelope::default() };
    let body = r#"{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":1}}}"#;
    let answer = run_with(&toolbox(None), body, envelope);
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::BAD_REQUEST, -32020));
    let envelope = Envelope { mcp_method: Some("tools/call"), mcp_name: Some("add"), ..Envelope::default() };
    assert_eq!(run_with(&toolbox(None), body, envelope).1["result"]["content"][0]["text"], "2");
}

const CALL_IMAGE: &str =
    r#"{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"cat"}}}"#;
const LIST: &str = r#"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#;

fn listed(json: &Value) -> Vec<(String, String)> {
    let tools = json["result"]["tools"].as_array().cloned().unwrap_or_default();
    tools
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_owned(), t["description"].as_str().unwrap().to_owned()))
        .collect()
}

#[test]
fn a_tool_whose_scope_the_token_lacks_gets_the_step_up_challenge_naming_both_scopes() {
    let (status, answer) = run_with(&imaging("admin", &["mcp:basic"]), CALL_IMAGE, Envelope::default());
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(answer, json!({ "tool": "generateImage", "scope": "mcp:basic mcp:images" }));
    let (status, answer) = run_with(&imaging("admin", &["mcp:basic", "mcp:images"]), CALL_IMAGE, Envelope::default());
    assert_eq!((status, &answer["result"]["content"][0]["type"]), (StatusCode::OK, &json!("image")));
}

#[test]
fn a_token_with_only_the_image_scope_is_challenged_for_the_basic_tools() {
    let (status, answer) = run_with(&imaging("admin", &["mcp:images"]), ADD_CALL, Envelope::default());
    assert_eq!((status, answer["scope"].as_str()), (StatusCode::FORBIDDEN, Some("mcp:basic mcp:images")));
}

const ADD_CALL: &str =
    r#"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"add","arguments":{"a":1,"b":2}}}"#;

#[test]
fn a_token_of_an_earlier_release_carrying_mcp_may_call_every_tool_its_role_allows() {
    let (status, answer) = run_with(&imaging("premium", &["mcp"]), CALL_IMAGE, Envelope::default());
    assert_eq!((status, &answer["result"]["content"][0]["type"]), (StatusCode::OK, &json!("image")));
    let (status, answer) = run_with(&imaging("member", &["mcp"]), CALL_IMAGE, Envelope::default());
    assert_eq!((status, error_code(&(status, answer))), (StatusCode::OK, -32602), "a member still may not");
}

#[test]
fn a_tool_the_role_can_never_have_is_neither_listed_nor_challenged_for() {
    let member = imaging("member", &["mcp:basic"]);
    let (_, json) = run_with(&member, LIST, Envelope::default());
    assert_eq!(listed(&json).iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["add", "userInfo"]);
    let answer = run_with(&member, CALL_IMAGE, Envelope::default());
    assert_eq!((answer.0, error_code(&answer)), (StatusCode::OK, -32602), "unknown tool, no step-up loop");
    let headers = Envelope { mcp_method: Some("tools/call"), mcp_name: Some("generateImage"), ..Envelope::default() };
    assert!(step_up_by_headers(&member, headers).is_none());
}

#[test]
fn tools_list_marks_the_tools_whose_scope_the_token_lacks() {
    let (_, json) = run_with(&imaging("admin", &["mcp:basic"]), LIST, Envelope::default());
    let tools = listed(&json);
    assert_eq!(tools.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>(), ["add", "generateImage", "userInfo"]);
    assert!(tools[1].1.contains("Needs the `mcp:images` scope"), "{}", tools[1].1);
    assert!(!tools[0].1.contains("Needs the"), "{}", tools[0].1);
    let (_, json) = run_with(&imaging("admin", &["mcp:basic", "mcp:images"]), LIST, Envelope::default());
    assert!(listed(&json).iter().all(|(_, d)| !d.contains("Needs the")));
}

#[test]
fn the_mcp_name_header_decides_the_step_up_before_the_body_is_read() {
    let narrow = imaging("admin", &["mcp:basic"]);
    let headers = Envelope { mcp_method: Some("tools/call"), mcp_name: Some("generateImage"), ..Envelope::default() };
    assert_eq!(
        step_up_by_headers(&narrow, headers),
        Some(Reply::InsufficientScope { tool: "generateImage".into(), scope: "mcp:basic mcp:images".into() })
    );
    for quiet in [
        Envelope { mcp_method: Some("tools/call"), mcp_name: Some("add"), ..Envelope::default() },
        Envelope { mcp_method: Some("prompts/get"), mcp_name: Some("generateImage"), ..Envelope::default() },
        Envelope { mcp_name: Some("generateImage"), ..Envelope::default() },
    ] {
        assert!(step_up_by_headers(&narrow, quiet).is_none(), "{quiet:?}");
    }
}
