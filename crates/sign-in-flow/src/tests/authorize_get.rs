use platform::Clock;

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
    assert!(html.contains("Use the basic tools") && html.contains("(<code>mcp:basic</code>)"), "scopes shown: {html}");
    assert!(html.contains("Generate images") && html.contains("(<code>mcp:images</code>)"), "{html}");
    assert!(
        html.contains("Only for accounts whose role is admin, premium, image_generation; left out for others."),
        "before sign-in the role is unknown: the page says who gets the image scope"
    );
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
fn a_consent_page_stores_nothing_its_form_is_sealed_into_the_page() {
    let mut f = fixture_with(r#""client_name":"Visible Name""#);
    let before = f.records();
    let query = f.authorize_query(&[]).replace("client-state", &"s".repeat(1024));
    let html = body(&f.send("GET", &format!("/authorize?{query}"), None));
    assert_eq!(f.records(), before, "a consent page writes nothing, however long its state");
    let handle = hidden(&html, "handle");
    assert!(!handle.contains("Visible") && !handle.contains("127.0.0.1"), "the form is sealed: {handle}");
    let key = crate::config::cookie_key(&f.env.vars).unwrap();
    let form = crate::consent::ConsentForm::open(&key, &handle, f.env.clock.now_unix()).unwrap();
    assert_eq!(
        (form.validated.client_id.as_str(), form.validated.state.as_ref().map(String::len)),
        (f.client_id.as_str(), Some(1024))
    );
    assert!(form.has_token(&hidden(&html, "csrf_token")));
    let browser = &f.cookies[crate::cookies::BROWSER_COOKIE];
    assert_eq!(form.browser_hash, crate::cookies::browser_hash(browser), "bound to this browser");
    assert_eq!(form.expires_at, f.env.clock.now_unix() + crate::consent::CONSENT_TTL);
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

/// A request to the fixture's client that is refused after its redirect URI matched.
fn plain_pkce_query(f: &Fixture) -> String {
    f.authorize_query(&[]).replace("code_challenge_method=S256", "code_challenge_method=plain")
}

#[test]
fn errors_for_a_redirect_uri_this_browser_never_approved_are_a_page_not_a_redirect() {
    let mut f = fixture();
    for q in [
        plain_pkce_query(&f),
        f.authorize_query(&[]).replace("response_type=code&", ""),
        f.authorize_query(&[("scope", "admin")]),
        f.authorize_query(&[("resource", "https://other.example/mcp")]),
    ] {
        let response = f.send("GET", &format!("/authorize?{q}"), None);
        assert_eq!(response.status(), 400, "{q}: {}", body(&response));
        assert!(response.headers().get("location").is_none(), "{q}");
        assert!(body(&response).contains("cannot accept"), "{}", body(&response));
    }
}

#[test]
fn errors_for_an_approved_redirect_uri_go_back_with_state_and_iss() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let response = f.send("GET", &format!("/authorize?{}", plain_pkce_query(&f)), None);
    let loc = location(&response);
    assert!(loc.starts_with(REDIRECT));
    let q = query_of(&loc);
    assert_eq!(q["error"], "invalid_request");
    assert_eq!(q["state"], "client-state");
    assert_eq!(q["iss"], BASE);
}

#[test]
fn an_approval_for_another_client_or_redirect_uri_does_not_allow_error_redirects() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
    f.client_id = register(&f.env, &body).client.client_id;
    let response = f.send("GET", &format!("/authorize?{}", plain_pkce_query(&f)), None);
    assert_eq!(response.status(), 400, "another client, same redirect URI");
}

#[test]
fn malformed_cookie_key_is_a_page_naming_the_variable() {
    let mut f = fixture();
    f.env.vars = variables().with("cookie_encryption_key", "too-short");
    let response = f.get_authorize(&[]);
    assert_eq!(response.status(), 500);
    assert!(response.headers().get("location").is_none());
    assert!(body(&response).contains("cookie_encryption_key"), "{}", body(&response));
}

#[test]
fn broken_clerk_configuration_after_approval_goes_back_to_the_client() {
    let mut f = fixture();
    f.approve_and_sign_in();
    f.env.vars = variables().with("clerk_frontend_api", "http://clerk.example.com");
    let q = query_of(&location(&f.get_authorize(&[])));
    assert_eq!(q["error"], "server_error");
    assert_eq!(q["error_description"], "the server is misconfigured", "the variable is named in the log only");
    assert_eq!(q["state"], "client-state");
}

#[test]
fn broken_clerk_configuration_before_approval_is_a_page_naming_the_variable() {
    let mut f = fixture();
    f.env.vars = variables().with("clerk_frontend_api", "http://clerk.example.com");
    let response = f.get_authorize(&[]);
    assert_eq!(response.status(), 500);
    assert!(body(&response).contains("clerk_frontend_api"), "{}", body(&response));
}

#[test]
fn a_private_use_redirect_scheme_removed_from_the_allow_list_is_a_page() {
    let mut f = fixture_with_redirect("cursor://anysphere.cursor-mcp/oauth/callback");
    assert_eq!(f.get_authorize(&[]).status(), 200, "allowed while cursor is listed");
    f.env.vars = variables().with("native_redirect_schemes", "vscode");
    let response = f.get_authorize(&[]);
    assert_eq!(response.status(), 400, "{}", body(&response));
    assert!(body(&response).contains("native_redirect_schemes"), "{}", body(&response));
}

#[test]
fn a_malformed_scheme_allow_list_is_a_page_naming_the_variable() {
    let mut f = fixture();
    f.env.vars = variables().with("native_redirect_schemes", "cursor,javascript");
    let response = f.get_authorize(&[]);
    assert_eq!(response.status(), 500);
    assert!(body(&response).contains("native_redirect_schemes"));
}

#[test]
fn remembered_approval_skips_the_consent_page() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let response = f.get_authorize(&[]);
    assert!(location(&response).starts_with("https://demo.clerk.accounts.dev/oauth/authorize?"));
}

#[test]
fn tampered_approval_cookie_shows_the_consent_page_again() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let approved = f.cookies["__Host-mcp-approved"].clone();
    f.cookies.insert("__Host-mcp-approved".into(), format!("0{approved}"));
    assert_eq!(f.get_authorize(&[]).status(), 200);
}

#[test]
fn approval_does_not_carry_over_to_another_client() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let body = format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#);
    let other = register(&f.env, &body);
    f.client_id = other.client.client_id;
    assert_eq!(f.get_authorize(&[]).status(), 200);
}

#[test]
fn clerk_down_with_remembered_approval_redirects_temporarily_unavailable() {
    let mut f = fixture();
    f.approve_and_sign_in();
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
