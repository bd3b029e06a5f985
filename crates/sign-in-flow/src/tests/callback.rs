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

/// The one log channel: what Clerk's failure was goes with the response, for the component to
/// write to its log; the client's redirect says only that the sign-in service is unavailable.
#[test]
fn a_clerk_failure_s_details_go_to_the_log_with_the_response_not_to_the_client() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "clerk.internal.example".into() });
    let response = f.callback(&clerk_url, &[("code", "c")]);
    let loc = location(&response);
    assert!(!loc.contains("clerk.internal.example"), "{loc}");
    let logged = platform::diagnostic::of(&response).expect("a line for the log");
    assert!(logged.starts_with("signing in with Clerk failed: "), "{logged}");
    assert!(logged.contains("clerk.internal.example"), "{logged}");
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
    let signin_records =
        |f: &Fixture| f.env.store.keys().into_iter().filter(|k| k.starts_with("signin:")).collect::<Vec<_>>();
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    let first = signin_records(&f);
    assert_eq!(first.len(), 5, "the consent and upstream tombstones with their claim counters, and the approval");
    f.env.clock.advance(crate::consent::CONSENT_TTL + 120);
    f.cookies.remove(crate::cookies::APPROVAL_COOKIE); // see the consent page again
    f.approve_to_clerk(); // a new sign-in stores its state: it sweeps its share
    let left = signin_records(&f);
    let expired: Vec<&String> = first.iter().filter(|k| !k.starts_with("signin:approval:")).collect();
    assert!(expired.iter().all(|k| !left.contains(k)), "expired sign-in records are gone: {left:?}");
    assert!(first.iter().any(|k| k.starts_with("signin:approval:") && left.contains(k)), "the approval stays");
}

/// A sign-in whose approval this browser remembers, back from Clerk as `sub`: the callback's
/// answer (the client's redirect, or a consent page).
fn remembered_sign_in_as(f: &mut Fixture, sub: &str) -> platform::web::Response {
    let clerk_url = location(&f.get_authorize(&[]));
    f.prime_nonce(&clerk_url);
    f.env.http.id_claims.lock().unwrap()["sub"] = serde_json::json!(sub);
    f.callback(&clerk_url, &[("code", "clerk-code")])
}

/// Submits a consent page shown after sign-in.
fn decide(f: &mut Fixture, page: &platform::web::Response, decision: &str) -> platform::web::Response {
    let html = body(page);
    let (handle, csrf) = (hidden(&html, "handle"), hidden(&html, "csrf_token"));
    f.send("POST", "/authorize", Some(&[("handle", &handle), ("csrf_token", &csrf), ("decision", decision)]))
}

#[test]
fn a_remembered_approval_the_server_holds_for_this_user_completes_without_a_page() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let loc = location(&remembered_sign_in_as(&mut f, "user_admin"));
    assert!(query_of(&loc)["code"].len() >= 43, "{loc}");
}

#[test]
fn another_user_on_the_same_browser_gets_a_consent_page_naming_them_after_sign_in() {
    let mut f = fixture();
    f.approve_and_sign_in(); // the admin approved in this browser
    let before = f.records();
    let page = remembered_sign_in_as(&mut f, "user_plain");
    assert_eq!(page.status(), 200, "{}", body(&page));
    let html = body(&page);
    assert!(html.contains("You are signed in as <strong><bdi>plain@example.com</bdi></strong>"), "{html}");
    assert!(html.contains(r#"action="/authorize""#) && html.contains("Test client"));
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("oauth:code:") || before.contains_key(k)), "no code yet");
    let tokens_before = f.env.http.calls_to("/oauth/token");
    let loc = location(&decide(&mut f, &page, "approve"));
    assert!(loc.starts_with(REDIRECT) && query_of(&loc)["code"].len() >= 43, "{loc}");
    assert_eq!(f.env.http.calls_to("/oauth/token"), tokens_before, "no second trip to Clerk");
    let approved = |user: &str| crate::approvals::is_approved(&f.env.store, &f.env.clock, user, &f.client_id, REDIRECT);
    assert!(approved("user_plain").unwrap() && approved("user_admin").unwrap());
    let grant = f
        .env
        .store
        .snapshot()
        .into_iter()
        .filter(|(k, _)| k.starts_with("oauth:grant:"))
        .map(|(_, v)| String::from_utf8(v).unwrap());
    assert!(
        grant.into_iter().any(|g| g.contains("user_plain") && g.contains("plain@example.com")),
        "the grant is the second user's"
    );
}

#[test]
fn the_consent_page_after_sign_in_is_single_use_bound_to_the_browser_and_deny_is_our_page() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let page = remembered_sign_in_as(&mut f, "user_plain");
    let browser = f.cookies.remove(crate::cookies::BROWSER_COOKIE).unwrap();
    assert_eq!(decide(&mut f, &page, "approve").status(), 403, "another browser");
    f.cookies.insert(crate::cookies::BROWSER_COOKIE.into(), browser);
    let denied = decide(&mut f, &page, "deny");
    assert_eq!(denied.status(), 200, "this user never approved the client: our page, {}", body(&denied));
    assert!(denied.headers().get("location").is_none());
    assert_eq!(decide(&mut f, &page, "approve").status(), 400, "used");
    assert!(!crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_plain", &f.client_id, REDIRECT).unwrap());
}

#[test]
fn an_approval_older_than_thirty_days_is_asked_again_after_sign_in() {
    let mut f = fixture();
    f.approve_and_sign_in();
    // The client redeemed its code, as a real one does, so its registration outlives the 30 days
    // (an unused one lives a day).
    oauth_core::clients::touch_client(&f.env.store, &f.env.clock, &f.client_id).unwrap();
    f.env.clock.advance(crate::approvals::APPROVAL_TTL - 60);
    assert_eq!(remembered_sign_in_as(&mut f, "user_admin").status(), 302, "still approved");
    f.env.clock.advance(60);
    let page = remembered_sign_in_as(&mut f, "user_admin");
    assert_eq!(page.status(), 200, "the server's 30 days are over, whatever the cookie says");
    assert!(body(&page).contains("admin@example.com"));
}

#[test]
fn clerk_down_when_approving_after_sign_in_goes_back_to_the_client_and_records_nothing() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let page = remembered_sign_in_as(&mut f, "user_plain");
    f.env.http.fail_with(platform::OutboundError::Timeout { host: "api".into() });
    let q = query_of(&location(&decide(&mut f, &page, "approve")));
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("temporarily_unavailable", "client-state"));
    assert!(!crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_plain", &f.client_id, REDIRECT).unwrap());
}

#[test]
fn an_unreadable_approval_record_counts_as_no_approval() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let key = crate::keys::approval("user_admin", &f.client_id);
    platform::KeyValueStore::set(&f.env.store, &key, b"{}").unwrap(); // unreadable: absent, not an error
    assert_eq!(remembered_sign_in_as(&mut f, "user_admin").status(), 200, "an unreadable approval is none");
}

fn codes_and_grants(f: &Fixture) -> usize {
    f.env.store.keys().iter().filter(|k| k.starts_with("oauth:code:") || k.starts_with("oauth:grant:")).count()
}

#[test]
fn a_store_that_cannot_read_the_approval_after_sign_in_sends_temporarily_unavailable_and_no_code() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let clerk_url = location(&f.get_authorize(&[]));
    f.prime_nonce(&clerk_url);
    let before = codes_and_grants(&f);
    f.env.store.break_keys("signin:approval:");
    let q = query_of(&location(&f.callback(&clerk_url, &[("code", "clerk-code")])));
    assert_eq!((q["error"].as_str(), q["state"].as_str()), ("temporarily_unavailable", "client-state"));
    assert_eq!(codes_and_grants(&f), before, "no code, no grant");
    let failed = f.env.audit.of(platform::Event::SignInFailed);
    assert_eq!(failed.last().unwrap()["error"], "store_unavailable");
}

#[test]
fn a_store_that_cannot_record_the_approval_sends_temporarily_unavailable_and_no_code() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.store.break_keys("signin:approval:");
    let response = f.callback(&clerk_url, &[("code", "clerk-code")]);
    let q = query_of(&location(&response));
    assert_eq!(q["error"], "temporarily_unavailable");
    assert_eq!(codes_and_grants(&f), 0, "no code, no grant");
    assert!(response.headers().get("set-cookie").is_none(), "no approval remembered in the browser either");
    f.env.store.repair();
    assert!(!crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_admin", &f.client_id, REDIRECT).unwrap());
}

#[test]
fn a_step_up_after_a_narrower_approval_asks_only_about_the_new_scope_after_sign_in() {
    let mut f = fixture();
    let page = f.get_authorize(&[("scope", "mcp:basic")]);
    let html = body(&page);
    assert!(html.contains("mcp:basic") && !html.contains("mcp:images"), "{html}");
    let approved = decide(&mut f, &page, "approve");
    let clerk_url = f.prime_nonce(&location(&approved));
    assert!(query_of(&location(&f.callback(&clerk_url, &[("code", "clerk-code")])))["code"].len() >= 43);
    let approved_scopes = |f: &Fixture| {
        crate::approvals::approved_scopes(&f.env.store, &f.env.clock, "user_admin", &f.client_id, REDIRECT).unwrap()
    };
    assert_eq!(approved_scopes(&f), Some(vec!["mcp:basic".to_owned()]));

    // The client steps up: the browser remembers an approval, but not of the image scope.
    let to_clerk = location(&f.get_authorize(&[("scope", "mcp:basic mcp:images")]));
    let clerk_url = f.prime_nonce(&to_clerk);
    let page = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(page.status(), 200, "a consent page after sign-in: {}", body(&page));
    let html = body(&page);
    assert!(html.contains("You approved this app before; it now asks"), "{html}");
    let (asked, before) = html.split_once("You already allowed it to").unwrap();
    assert!(asked.contains("mcp:images") && !asked.contains("mcp:basic"), "only the new scope is asked: {asked}");
    assert!(before.contains("mcp:basic"), "{before}");
    let loc = location(&decide(&mut f, &page, "approve"));
    assert!(query_of(&loc)["code"].len() >= 43, "{loc}");
    assert_eq!(approved_scopes(&f), Some(vec!["mcp:basic".to_owned(), "mcp:images".into()]));

    // Approved now: the same request completes without a page.
    let to_clerk = location(&f.get_authorize(&[("scope", "mcp:basic mcp:images")]));
    let clerk_url = f.prime_nonce(&to_clerk);
    assert!(query_of(&location(&f.callback(&clerk_url, &[("code", "clerk-code")])))["code"].len() >= 43);
}

#[test]
fn after_sign_in_a_scope_the_role_cannot_have_is_marked_left_out() {
    let mut f = fixture();
    f.approve_and_sign_in();
    let page = remembered_sign_in_as(&mut f, "user_plain");
    let html = body(&page);
    assert!(html.contains("Not for your account's role: it will be left out."), "{html}");
    assert_eq!(html.matches("it will be left out").count(), 1, "only the image scope: {html}");
}

#[test]
fn a_request_only_for_scopes_the_role_cannot_have_goes_back_as_invalid_scope_and_stores_nothing() {
    let mut f = fixture();
    f.env.http.id_claims.lock().unwrap()["sub"] = serde_json::json!("user_plain");
    let page = f.get_authorize(&[("scope", "mcp:images")]);
    let approved = decide(&mut f, &page, "approve");
    let clerk_url = f.prime_nonce(&location(&approved));
    f.env.http.id_claims.lock().unwrap()["sub"] = serde_json::json!("user_plain");
    let before = codes_and_grants(&f);
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert_eq!(query_of(&loc)["error"], "invalid_scope", "{loc}");
    assert_eq!(codes_and_grants(&f), before, "no grant, no code");
    assert!(!crate::approvals::is_approved(&f.env.store, &f.env.clock, "user_plain", &f.client_id, REDIRECT).unwrap());
}
