use super::*;

#[test]
fn callback_completes_the_grant_and_redirects_with_code_state_and_iss() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert!(loc.starts_with(REDIRECT));
    let q = query_of(&loc);
    assert!(q["code"].len() >= 43);
    assert_eq!(q["state"], "client-state");
    assert_eq!(q["iss"], BASE);
}

#[test]
fn callback_stores_the_role_read_from_the_backend_api() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    let snapshot = f.env.store.snapshot();
    let grant =
        snapshot.iter().find(|(k, _)| k.contains("grant")).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    let grant = grant.expect("a grant record");
    assert!(grant.contains("\"role\":\"admin\""), "{grant}");
    assert!(grant.contains("admin@example.com"), "{grant}");
}

#[test]
fn replayed_state_gets_a_clear_400_page() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    let replay = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(replay.status(), 400);
    assert!(body(&replay).contains("already used"));
}

#[test]
fn state_from_another_browser_gets_a_400_page() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.cookies.remove("__Host-mcp-browser");
    let response = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(response.status(), 400);
    assert!(body(&response).contains("another browser"));
}

#[test]
fn unknown_or_missing_state_gets_a_400_page() {
    let mut f = fixture();
    assert_eq!(f.send("GET", "/callback?code=x&state=unknown", None).status(), 400);
    assert_eq!(f.send("GET", "/callback?code=x", None).status(), 400);
}

#[test]
fn expired_state_gets_a_400_page() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.clock.advance(crate::records::UPSTREAM_TTL);
    assert_eq!(f.callback(&clerk_url, &[("code", "c")]).status(), 400);
}

#[test]
fn clerk_access_denied_is_propagated_to_the_client() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    let q = query_of(&location(&f.callback(&clerk_url, &[("error", "access_denied")])));
    assert_eq!(q["error"], "access_denied");
    assert_eq!(q["state"], "client-state");
}

#[test]
fn other_clerk_errors_become_server_error() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    let q = query_of(&location(&f.callback(&clerk_url, &[("error", "invalid_scope")])));
    assert_eq!(q["error"], "server_error");
}

#[test]
fn callback_without_code_is_server_error() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    assert_eq!(query_of(&location(&f.callback(&clerk_url, &[])))["error"], "server_error");
}

#[test]
fn clerk_down_at_the_code_exchange_is_temporarily_unavailable() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "demo".into() });
    let q = query_of(&location(&f.callback(&clerk_url, &[("code", "c")])));
    assert_eq!(q["error"], "temporarily_unavailable");
}

#[test]
fn clerk_garbage_at_the_code_exchange_is_server_error() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.respond("/oauth/token", 200, "<html>");
    assert_eq!(query_of(&location(&f.callback(&clerk_url, &[("code", "c")])))["error"], "server_error");
}

#[test]
fn id_token_with_wrong_nonce_is_server_error() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.id_claims.lock().unwrap()["nonce"] = serde_json::json!("other");
    assert_eq!(query_of(&location(&f.callback(&clerk_url, &[("code", "c")])))["error"], "server_error");
}

#[test]
fn banned_user_is_access_denied() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.id_claims.lock().unwrap()["sub"] = serde_json::json!("user_banned");
    assert_eq!(query_of(&location(&f.callback(&clerk_url, &[("code", "c")])))["error"], "access_denied");
}

#[test]
fn every_sign_in_s_records_are_swept_after_they_expired_with_their_claim_counters() {
    let signin_records = |f: &Fixture| f.env.store.keys().into_iter().filter(|k| k.starts_with("signin:")).count();
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert_eq!(signin_records(&f), 4, "the consent and upstream tombstones, with their claim counters");
    f.env.clock.advance(crate::records::CONSENT_TTL + 120);
    f.cookies.remove(crate::cookies::APPROVAL_COOKIE); // see the consent page again
    assert_eq!(f.get_authorize(&[]).status(), 200, "a new sign-in starts: it sweeps its share");
    assert_eq!(signin_records(&f), 1, "only the new consent record is left: {:?}", f.env.store.keys());
}
