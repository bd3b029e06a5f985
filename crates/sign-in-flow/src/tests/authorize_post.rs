use super::*;

#[test]
fn approve_redirects_to_clerk_with_pkce_nonce_and_stored_state() {
    let mut f = fixture();
    let response = f.consent("approve");
    let url = location(&response);
    assert!(url.starts_with("https://demo.clerk.accounts.dev/oauth/authorize?"));
    let q = query_of(&url);
    assert_eq!(q["redirect_uri"], format!("{BASE}/callback"));
    assert_eq!(q["code_challenge_method"], "S256");
    assert!(q["nonce"].len() >= 43 && q["state"].len() >= 43);
    assert_eq!(f.env.store.keys().iter().filter(|k| k.starts_with("signin:upstream:")).count(), 1);
    assert!(response.headers().get("set-cookie").is_none(), "the approval is remembered when the sign-in completes");
}

#[test]
fn a_completed_sign_in_remembers_the_approval_in_the_browser_and_for_the_user() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let cookie = f.cookies.get(crate::cookies::APPROVAL_COOKIE).expect("the approval cookie");
    assert!(!cookie.contains("user_admin"), "{cookie}");
    let approved = crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_admin", &f.client_id, REDIRECT);
    assert!(approved.unwrap());
}

#[test]
fn deny_shows_our_own_page_not_a_redirect_to_a_uri_nobody_approved() {
    let mut f = fixture_with(r#""client_name":"Evil <b>Corp</b>""#);
    let denied = f.consent("deny");
    assert_eq!(denied.status(), 200, "{}", body(&denied));
    assert!(denied.headers().get("location").is_none());
    let html = body(&denied);
    assert!(
        html.contains("Access denied") && html.contains("“<bdi class=\"client\">Evil &lt;b&gt;Corp&lt;/b&gt;</bdi>”"),
        "{html}"
    );
    assert!(!html.contains("127.0.0.1:6274"), "no link to the redirect URI either");
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("signin:upstream:")), "no upstream state without consent");
}

#[test]
fn deny_goes_back_to_the_client_when_this_browser_already_approved_it() {
    let mut f = fixture();
    let page = f.get_authorize(&[]); // a consent page in one tab...
    f.approve_and_sign_in(); // ...approved in another
    let html = body(&page);
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    let denied =
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "deny")]));
    let q = query_of(&location(&denied));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "client-state");
    assert_eq!(q["iss"], BASE);
}

#[test]
fn a_consent_form_sealed_with_another_key_or_tampered_is_refused_and_stores_nothing() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    let before = f.records();
    let mut tampered = handle.clone().into_bytes();
    tampered[30] = if tampered[30] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    let response =
        f.send("POST", "/authorize", Some(&[("handle", &tampered), ("csrf_token", &csrf), ("decision", "approve")]));
    assert_eq!(response.status(), 400);
    f.env.vars = variables().with("cookie_encryption_key", &"ab".repeat(32));
    let response =
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "approve")]));
    assert_eq!(response.status(), 400, "a rotated cookie key ends open forms");
    assert!(body(&response).contains("expired"));
    assert_eq!(f.records(), before);
}

#[test]
fn consent_form_cannot_be_submitted_twice() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    let form = [
        ("handle", hidden(&html, "handle")),
        ("csrf_token", hidden(&html, "csrf_token")),
        ("decision", "approve".into()),
    ];
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(f.send("POST", "/authorize", Some(&pairs)).status(), 302);
    let again = f.send("POST", "/authorize", Some(&pairs));
    assert_eq!(again.status(), 400);
    assert!(body(&again).contains("already used"));
}

#[test]
fn wrong_csrf_token_is_refused_and_leaves_the_handle_usable() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    let handle = hidden(&html, "handle");
    let before = f.records();
    let refused =
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", "forged"), ("decision", "approve")]));
    assert_eq!(refused.status(), 403);
    assert_eq!(f.records(), before, "nothing stored");
    let csrf = hidden(&html, "csrf_token");
    assert_eq!(
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "approve")]))
            .status(),
        302
    );
}

#[test]
fn consent_posted_from_another_browser_is_refused() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    f.cookies.clear();
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    let before = f.records();
    let response =
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "approve")]));
    assert_eq!(response.status(), 403);
    assert_eq!(f.records(), before, "nothing stored");
}

#[test]
fn expired_consent_handle_is_refused() {
    let mut f = fixture();
    let html = body(&f.get_authorize(&[]));
    f.env.clock.advance(crate::consent::CONSENT_TTL);
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    let response =
        f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", "approve")]));
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("expired"));
}

#[test]
fn incomplete_or_odd_forms_are_400_pages() {
    let mut f = fixture();
    assert_eq!(f.send("POST", "/authorize", Some(&[("decision", "approve")])).status(), 400);
    assert_eq!(
        f.send("POST", "/authorize", Some(&[("handle", "h"), ("csrf_token", "c"), ("decision", "maybe")])).status(),
        400
    );
    assert_eq!(f.send("POST", "/authorize", None).status(), 400, "not a form");
}

#[test]
fn clerk_unreachable_at_approval_redirects_temporarily_unavailable() {
    let mut f = fixture();
    f.env.http.fail_with(platform::OutboundError::Unreachable { host: "demo".into(), reason: "refused".into() });
    let q = query_of(&location(&f.consent("approve")));
    assert_eq!(q["error"], "temporarily_unavailable");
}

#[test]
fn clerk_discovery_garbage_at_approval_redirects_server_error() {
    let mut f = fixture();
    f.env.http.respond("/.well-known/openid-configuration", 200, "garbage");
    let q = query_of(&location(&f.consent("approve")));
    assert_eq!(q["error"], "server_error");
}

#[test]
fn approving_on_a_foreign_host_without_public_base_url_is_a_421_page_not_a_redirect() {
    let mut f = fixture();
    let page = f.get_authorize(&[]);
    let html = body(&page);
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    f.env.vars = variables().with("public_base_url", "");
    let form = [("handle", handle.as_str()), ("csrf_token", csrf.as_str()), ("decision", "approve")];
    let response = f.send("POST", "/authorize", Some(&form));
    assert_eq!(response.status(), 421, "{}", body(&response));
    assert!(response.headers().get("location").is_none());
    assert!(body(&response).contains("public_base_url"));
    let again = f.get_authorize(&[]);
    assert_eq!(again.status(), 421, "the same at GET /authorize: {}", body(&again));
}
