use super::*;

#[test]
fn consent_page_names_client_redirect_host_and_scopes_with_security_headers() {
    let mut f = fixture();
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 200);
    let html = body(&page);
    assert!(html.contains("Test client"));
    assert!(html.contains("127.0.0.1"));
    assert!(html.contains("This address is on your own computer"), "loopback warning");
    assert!(html.contains("tools on your behalf"), "scope shown");
    assert!(html.contains(r#"href="https://client.example""#));
    let h = page.headers();
    let csp = h["content-security-policy"].to_str().unwrap();
    assert!(csp.contains("frame-ancestors 'none'") && csp.contains("default-src 'none'"), "{csp}");
    assert!(csp.contains("form-action 'self' https://demo.clerk.accounts.dev http://127.0.0.1:6274"), "{csp}");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
    assert_eq!(h["referrer-policy"], "no-referrer");
}

#[test]
fn consent_page_sets_the_browser_cookie_with_host_prefix() {
    let mut f = fixture();
    let page = f.get_authorize(&[]);
    let cookie = page.headers()["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with("__Host-mcp-browser="));
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attr), "{attr}");
    }
}

#[test]
fn consent_page_stores_the_request_behind_a_hashed_one_time_handle() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    let handle = hidden(&html, "handle");
    let keys = f.env.store.keys();
    let consent_keys: Vec<_> = keys.iter().filter(|k| k.starts_with("signin:consent:")).collect();
    assert_eq!(consent_keys.len(), 1);
    assert!(!consent_keys[0].contains(&handle));
}

#[test]
fn client_strings_are_escaped() {
    let mut f = fixture_with(r#""client_name":"<script>alert(1)</script>\"><img src=x onerror=alert(2)>""#);
    let html = body(&f.get_authorize(&[]));
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(!html.contains("<img src=x"), "{html}");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img"));
}

#[test]
fn unknown_client_gets_a_400_page_never_a_redirect() {
    let mut f = fixture();
    let response = f.send(
        "GET",
        "/authorize?response_type=code&client_id=nope&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        None,
    );
    assert_eq!(response.status(), 400);
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.headers()["x-frame-options"], "DENY");
}

#[test]
fn unregistered_redirect_uri_gets_a_400_page() {
    let mut f = fixture();
    let q = f.authorize_query(&[]).replace("127.0.0.1%3A6274", "evil.example");
    let response = f.send("GET", &format!("/authorize?{q}"), None);
    assert_eq!(response.status(), 400, "{}", body(&response));
    assert!(response.headers().get("location").is_none());
}

#[test]
fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss() {
    let mut f = fixture();
    let q = f.authorize_query(&[]).replace("code_challenge_method=S256", "code_challenge_method=plain");
    let response = f.send("GET", &format!("/authorize?{q}"), None);
    let loc = location(&response);
    assert!(loc.starts_with(REDIRECT));
    let q = query_of(&loc);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "client-state");
    assert_eq!(q["iss"], BASE);
}

#[test]
fn malformed_cookie_key_is_a_server_error_redirect_naming_the_variable() {
    let mut f = fixture();
    f.env.vars = variables().with("cookie_encryption_key", "too-short");
    let q = query_of(&location(&f.get_authorize(&[])));
    assert_eq!(q["error"], "server_error");
    assert!(q["error_description"].contains("cookie_encryption_key"));
}

#[test]
fn remembered_approval_skips_the_consent_page() {
    let mut f = fixture();
    f.approve_to_clerk();
    let response = f.get_authorize(&[]);
    assert!(location(&response).starts_with("https://demo.clerk.accounts.dev/oauth/authorize?"));
}

#[test]
fn tampered_approval_cookie_shows_the_consent_page_again() {
    let mut f = fixture();
    f.approve_to_clerk();
    let approved = f.cookies["__Host-mcp-approved"].clone();
    f.cookies.insert("__Host-mcp-approved".into(), format!("0{approved}"));
    assert_eq!(f.get_authorize(&[]).status(), 200);
}

#[test]
fn approval_does_not_carry_over_to_another_client() {
    let mut f = fixture();
    f.approve_to_clerk();
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
    let other = oauth_core::clients::register_client(&f.env.store, &f.env.clock, body.as_bytes()).unwrap();
    f.client_id = other.client.client_id;
    assert_eq!(f.get_authorize(&[]).status(), 200);
}

#[test]
fn clerk_down_with_remembered_approval_redirects_temporarily_unavailable() {
    let mut f = fixture();
    f.approve_to_clerk();
    f.env.store.keys().iter().filter(|k| k.starts_with("clerk:")).for_each(|k| {
        platform::KeyValueStore::delete(&f.env.store, k).unwrap();
    });
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "demo".into() });
    let q = query_of(&location(&f.get_authorize(&[])));
    assert_eq!(q["error"], "temporarily_unavailable");
    assert_eq!(q["state"], "client-state");
}

#[test]
fn other_methods_get_405() {
    let mut f = fixture();
    assert_eq!(f.send("PUT", "/authorize", None).status(), 405);
    assert_eq!(f.send("POST", "/callback", None).status(), 405);
}
