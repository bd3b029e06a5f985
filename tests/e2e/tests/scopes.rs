//! Per-tool scopes through the real components: the scope table in both metadata documents and
//! the 401 challenge, what a sign-in grants (no scope or `mcp`: everything the role allows), the
//! `403 insufficient_scope` step-up on `/mcp` and `/sse/message` and the re-authorization with
//! the union, refresh narrowing, `invalid_scope`, and tokens of earlier releases.

use e2e::flow::Client;
use e2e::{Browser, TestApp};
use serde_json::{Value, json};

use crate::mcp_support::{
    ADD, PNG_B64, SseStream, TOOLS_LIST, app_with_images, initialize, mcp, mcp_with, sse_post, tool_names,
};

const ADMIN: &str = "admin@example.com";
const PLAIN: &str = "user@example.com";
const DRAW: &str = r#"{"jsonrpc":"2.0","id":6,"method":"tools/call","params":{"name":"generateImage","arguments":{"prompt":"a cat"}}}"#;

/// `email` signs `client` in with `browser`, asking for `scope`: the token answer.
fn tokens(app: &TestApp, browser: &mut Browser, client: &Client, email: &str, scope: Option<&str>) -> Value {
    let auth = app.authorize_for_scope(browser, client, email, scope);
    let response = app.exchange_code(client, &auth.code, &auth.verifier);
    assert_eq!(response.status, 200, "token: {}", response.text());
    response.json()
}

fn access(tokens: &Value) -> &str {
    tokens["access_token"].as_str().unwrap_or_default()
}

fn challenge(response: &e2e::http::Response) -> String {
    response.header("www-authenticate").unwrap_or_default().to_owned()
}

#[test]
fn both_metadata_documents_and_the_401_challenge_name_the_scope_table() {
    let app = TestApp::start();
    let expected = json!(["mcp:basic", "mcp:images"]);
    let server = e2e::http::get(&app.url("/.well-known/oauth-authorization-server")).json();
    assert_eq!(server["scopes_supported"], expected);
    for path in ["/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource/sse"] {
        assert_eq!(e2e::http::get(&app.url(path)).json()["scopes_supported"], expected, "{path}");
    }
    let unauthenticated = mcp(&app, "", &initialize("2025-11-25"));
    assert_eq!(unauthenticated.status, 401);
    assert!(challenge(&unauthenticated).contains(r#"scope="mcp:basic mcp:images""#), "{}", challenge(&unauthenticated));
}

#[test]
fn a_basic_token_is_challenged_for_the_image_tool_and_the_union_reauthorization_succeeds() {
    let app = app_with_images();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let narrow = tokens(&app, &mut browser, &client, ADMIN, Some("mcp:basic"));
    assert_eq!(narrow["scope"], "mcp:basic");
    let listed = mcp(&app, access(&narrow), TOOLS_LIST);
    assert_eq!(tool_names(&listed), ["add", "generateImage", "userInfo"], "the role allows it: listed, marked");
    assert!(listed.text().contains("Needs the `mcp:images` scope"), "{}", listed.text());

    let before = app.kv_without_housekeeping();
    let refused = mcp(&app, access(&narrow), DRAW);
    assert_eq!(refused.status, 403, "{}", refused.text());
    let metadata = app.url("/.well-known/oauth-protected-resource/mcp");
    let expected =
        format!(r#"Bearer error="insufficient_scope", scope="mcp:basic mcp:images", resource_metadata="{metadata}""#);
    assert!(challenge(&refused).starts_with(&expected), "{}", challenge(&refused));
    assert_eq!(refused.json()["error"], "insufficient_scope");
    assert_eq!(app.kv_without_housekeeping(), before, "a challenge changes nothing");
    assert_eq!(mcp(&app, access(&narrow), ADD).json()["result"]["content"][0]["text"], "42");

    // Step-up: the same browser (it remembers approving this client) asks for the union; the
    // server holds an approval of the basic scope only, so a consent page after sign-in asks
    // about the image scope alone.
    let pkce = e2e::flow::Pkce::new();
    let to_clerk = browser.get(&app.authorize_url_for_scope(&client, &pkce, "s2", Some("mcp:basic mcp:images")));
    let page = app.through_clerk(&mut browser, &to_clerk, ADMIN);
    assert_eq!(page.status, 200, "a consent page after sign-in: {}", page.text());
    let html = page.text();
    let (asked, before) = html.split_once("You already allowed it to").unwrap_or_default();
    assert!(asked.contains("mcp:images") && !asked.contains("mcp:basic"), "only what is new: {html}");
    assert!(before.contains("mcp:basic"), "{html}");
    let redirect = app.submit_consent(&mut browser, &page, "approve");
    let code = redirect.location_query().get("code").cloned().unwrap_or_default();
    let wide = app.exchange_code(&client, &code, &pkce.verifier).json();
    assert_eq!(wide["scope"], "mcp:basic mcp:images");
    let image = mcp(&app, access(&wide), DRAW).json();
    assert_eq!(image["result"]["content"][0]["data"], PNG_B64, "{image}");

    // The narrower grant is left alone: its token and refresh token still work, as narrow as before.
    assert_eq!(mcp(&app, access(&narrow), DRAW).status, 403);
    let refreshed = app.refresh(&client, narrow["refresh_token"].as_str().unwrap_or_default()).json();
    assert_eq!(refreshed["scope"], "mcp:basic", "{refreshed}");
}

#[test]
fn clients_that_ask_for_no_scope_or_mcp_get_every_scope_their_role_allows() {
    let app = app_with_images();
    for scope in [None, Some("mcp"), Some("mcp:basic mcp:images"), Some("openid mcp offline_access")] {
        let client = app.register_client(false);
        let admin = tokens(&app, &mut Browser::new(), &client, ADMIN, scope);
        assert_eq!(admin["scope"], "mcp:basic mcp:images", "{scope:?}");
        assert_eq!(mcp(&app, access(&admin), DRAW).json()["result"]["content"][0]["type"], "image");
        let plain = tokens(&app, &mut Browser::new(), &client, PLAIN, scope);
        assert_eq!(plain["scope"], "mcp:basic", "{scope:?}: the image scope is left out, not an error");
        assert_eq!(tool_names(&mcp(&app, access(&plain), TOOLS_LIST)), ["add", "userInfo"]);
        let never = mcp(&app, access(&plain), DRAW);
        assert_eq!(never.status, 200, "no challenge for a tool the role can never have: {}", never.text());
        assert_eq!(never.json()["error"]["message"], "Unknown tool: generateImage");
    }
}

#[test]
fn a_refresh_may_narrow_the_scope_but_never_widen_it_and_unknown_scopes_are_invalid_scope() {
    let app = app_with_images();
    let client = app.register_client(false);
    let wide = tokens(&app, &mut Browser::new(), &client, ADMIN, None);
    let refresh = wide["refresh_token"].as_str().unwrap_or_default();
    let before = app.kv_records();
    for (scope, why) in [("mcp:basic mcp:admin", "unknown"), ("mcp:everything", "unknown")] {
        let refused = app.refresh_for_scope(&client, refresh, scope);
        assert_eq!((refused.status, refused.json()["error"].as_str()), (400, Some("invalid_scope")), "{why}");
    }
    assert_eq!(app.kv_records(), before, "refused refreshes change nothing");
    let narrowed = app.refresh_for_scope(&client, refresh, "mcp:basic").json();
    assert_eq!(narrowed["scope"], "mcp:basic", "{narrowed}");
    assert_eq!(mcp(&app, access(&narrowed), DRAW).status, 403, "the narrowed token lacks the image scope");

    let basic_client = app.register_client(false);
    let basic = tokens(&app, &mut Browser::new(), &basic_client, ADMIN, Some("mcp:basic"));
    let basic_refresh = basic["refresh_token"].as_str().unwrap_or_default();
    let before = app.kv_records();
    let widened = app.refresh_for_scope(&basic_client, basic_refresh, "mcp:basic mcp:images");
    assert_eq!((widened.status, widened.json()["error"].as_str()), (400, Some("invalid_scope")), "{}", widened.text());
    assert_eq!(app.kv_records(), before, "nothing changed, the refresh token stays usable");
    assert_eq!(app.refresh(&basic_client, basic_refresh).json()["scope"], "mcp:basic");
}

#[test]
fn an_unknown_scope_at_authorize_is_a_page_until_the_redirect_uri_is_trusted_then_invalid_scope() {
    let app = TestApp::start();
    let client = app.register_client(false);
    let mut browser = Browser::new();
    let pkce = e2e::flow::Pkce::new();
    let unknown = app.authorize_url_for_scope(&client, &pkce, "s", Some("mcp:basic mcp:admin"));
    let page = browser.get(&unknown);
    assert_eq!(page.status, 400, "never a redirect to a URI this browser did not approve");
    assert!(page.text().contains("mcp:admin"), "{}", page.text());
    app.authorize_as(&mut browser, &client, ADMIN);
    let redirect = browser.get(&unknown);
    assert_eq!(redirect.status, 302, "{}", redirect.text());
    assert_eq!(redirect.location_query().get("error").map(String::as_str), Some("invalid_scope"));
}

#[test]
fn the_mcp_name_header_gets_the_challenge_before_the_body_is_read_and_a_contradicting_body_is_refused() {
    let app = app_with_images();
    let client = app.register_client(false);
    let narrow = tokens(&app, &mut Browser::new(), &client, ADMIN, Some("mcp:basic"));
    let headers = [("mcp-method", "tools/call"), ("mcp-name", "generateImage")];
    let refused = mcp_with(&app, access(&narrow), "{ this is not read", &headers);
    assert_eq!(refused.status, 403, "{}", refused.text());
    assert!(challenge(&refused).contains(r#"scope="mcp:basic mcp:images""#));
    let contradicted = mcp_with(&app, access(&narrow), DRAW, &[("mcp-method", "tools/call"), ("mcp-name", "add")]);
    assert_eq!((contradicted.status, contradicted.json()["error"]["code"].as_i64()), (400, Some(-32020)));
}

#[test]
fn the_sse_message_post_answers_the_step_up_challenge_itself() {
    let app = app_with_images();
    let client = app.register_client(false);
    let narrow = tokens(&app, &mut Browser::new(), &client, ADMIN, Some("mcp:basic"));
    let mut stream = SseStream::open(&app, access(&narrow));
    let endpoint = stream.endpoint();
    let refused = sse_post(&app, access(&narrow), &endpoint, DRAW);
    assert_eq!(refused.status, 403, "{}", refused.text());
    let metadata = app.url("/.well-known/oauth-protected-resource/sse");
    assert!(challenge(&refused).contains(&format!(r#"resource_metadata="{metadata}""#)), "{}", challenge(&refused));
    assert!(challenge(&refused).contains(r#"error="insufficient_scope", scope="mcp:basic mcp:images""#));
    assert_eq!(sse_post(&app, access(&narrow), &endpoint, ADD).status, 202);
    assert_eq!(stream.next_message()["result"]["content"][0]["text"], "42", "only add's answer is on the stream");
}

#[test]
fn tokens_and_grants_of_an_earlier_release_carrying_mcp_keep_working() {
    let app = app_with_images();
    let client = app.register_client(false);
    let issued = tokens(&app, &mut Browser::new(), &client, ADMIN, Some("mcp:basic"));
    // Rewrite the records as the previous release wrote them: scope `mcp`, no token scope.
    let key = oauth_core::keys::access_token(access(&issued));
    let mut token: Value = serde_json::from_slice(&app.kv_snapshot()[&key]).unwrap_or_default();
    token["scope"] = json!(["mcp"]);
    app.kv_write(&key, Some(&serde_json::to_vec(&token).unwrap_or_default()));
    let grant_key = oauth_core::keys::grant(token["grant_id"].as_str().unwrap_or_default()).unwrap_or_default();
    let mut grant: Value = serde_json::from_slice(&app.kv_snapshot()[&grant_key]).unwrap_or_default();
    grant["scope"] = json!(["mcp"]);
    grant.as_object_mut().map(|g| g.remove("token_scope"));
    app.kv_write(&grant_key, Some(&serde_json::to_vec(&grant).unwrap_or_default()));

    assert_eq!(tool_names(&mcp(&app, access(&issued), TOOLS_LIST)), ["add", "generateImage", "userInfo"]);
    let image = mcp(&app, access(&issued), DRAW).json();
    assert_eq!(image["result"]["content"][0]["type"], "image", "the old token holds every scope: {image}");
    let refreshed = app.refresh(&client, issued["refresh_token"].as_str().unwrap_or_default()).json();
    assert_eq!(refreshed["scope"], "mcp:basic mcp:images", "an old grant refreshes to every scope the role allows");
}
