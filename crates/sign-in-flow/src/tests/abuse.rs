//! The sign-in rate limit, the cap on sign-ins in progress and the audit trail of the flow.

use platform::{Clock, Event};

use super::*;

/// The limit or cap `variable` set to `value`, requests from one address.
fn from_one_address_with(f: &mut Fixture, variable: &str, value: &str) {
    f.env.vars = variables().with(variable, value);
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
}

fn limited_to(f: &mut Fixture, per_minute: &str) {
    from_one_address_with(f, "rate_limit_sign_in_per_minute", per_minute);
}

#[test]
fn sign_in_requests_per_address_pass_up_to_the_limit_then_get_a_429_page_until_the_minute_ends() {
    let mut f = fixture();
    limited_to(&mut f, "3");
    let into_minute = f.env.clock.now_unix() % 60;
    let clerk_url = f.approve_to_clerk(); // GET and POST /authorize: 2 of 3
    assert_eq!(f.get_authorize(&[]).status(), 200, "at the limit");
    let refused = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(refused.status(), 429);
    assert_eq!(refused.headers()["retry-after"], (60 - into_minute).to_string().as_str());
    assert!(body(&refused).contains("Too many sign-in attempts"), "{}", body(&refused));
    assert_eq!(refused.headers()["content-type"], "text/html; charset=utf-8");
    let limited = f.env.audit.of(Event::RateLimited);
    assert_eq!(
        (limited[0]["limit"].as_str(), limited[0]["client_addr"].as_str()),
        (Some("sign_in"), Some("192.0.2.7"))
    );

    f.addr = Some("198.51.100.1:5555".parse().unwrap());
    assert_eq!(f.get_authorize(&[]).status(), 200, "another address has its own count");
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
    f.env.clock.advance(60 - into_minute);
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert!(query_of(&loc).contains_key("code"), "the refused callback used nothing up: {loc}");
}

#[test]
fn a_malformed_limit_is_a_500_page_naming_the_variable() {
    let mut f = fixture();
    limited_to(&mut f, "lots");
    let response = f.get_authorize(&[]);
    assert_eq!(response.status(), 500);
    assert!(body(&response).contains("rate_limit_sign_in_per_minute"));
}

#[test]
fn a_limit_of_zero_is_off() {
    let mut f = fixture();
    limited_to(&mut f, "0");
    for _ in 0..5 {
        assert_eq!(f.get_authorize(&[]).status(), 200);
    }
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("ratelimit:")));
}

fn capped_to(f: &mut Fixture, max: &str) {
    from_one_address_with(f, "sign_in_max_pending_per_address", max);
}

#[test]
fn sign_ins_in_progress_per_address_are_capped_and_a_refusal_stores_nothing() {
    let mut f = fixture();
    capped_to(&mut f, "2");
    let window_left = 600 - f.env.clock.now_unix() % 600;
    f.approve_to_clerk();
    f.approve_to_clerk();
    let page = f.get_authorize(&[]);
    assert_eq!(page.status(), 200, "showing a consent page stores nothing, so it is not capped");
    let html = body(&page);
    let before = f.records();
    let form = [("handle", hidden(&html, "handle")), ("csrf_token", hidden(&html, "csrf_token"))];
    let post = |f: &mut Fixture, decision: &str| {
        let mut pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        pairs.push(("decision", decision));
        f.send("POST", "/authorize", Some(&pairs))
    };
    let refused = post(&mut f, "approve");
    assert_eq!(refused.status(), 429, "{}", body(&refused));
    assert!(body(&refused).contains("Too many sign-ins in progress"), "{}", body(&refused));
    assert_eq!(refused.headers()["retry-after"], (window_left + 600).to_string().as_str());
    assert_eq!(post(&mut f, "deny").status(), 429, "a denial stores its used form too");
    assert_eq!(f.records(), before, "a refusal stores nothing");
    let limited = f.env.audit.of(Event::RateLimited);
    assert_eq!(
        (limited[0]["limit"].as_str(), limited[0]["client_addr"].as_str()),
        (Some("sign_in_pending"), Some("192.0.2.7"))
    );

    f.addr = Some("198.51.100.1:5555".parse().unwrap());
    f.approve_to_clerk(); // another address has its own cap
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
    f.env.clock.advance(window_left);
    assert_eq!(post(&mut f, "approve").status(), 429, "the first two may still be alive");
    f.env.clock.advance(600);
    assert_eq!(post(&mut f, "approve").status(), 400, "room again (this page is older than 10 minutes)");
    assert_eq!(f.consent("approve").status(), 302);
}

#[test]
fn a_remembered_approval_and_the_apps_sign_in_count_against_the_same_cap() {
    let mut f = fixture();
    f.approve_and_sign_in();
    capped_to(&mut f, "1");
    assert_eq!(f.get_authorize(&[]).status(), 302, "a trip to Clerk for a remembered approval");
    let page = body(&f.send("GET", "/apps", None));
    let token = hidden(&page, "csrf_token");
    let before = f.records();
    let refused = f.get_authorize(&[]);
    assert_eq!(refused.status(), 429);
    assert!(refused.headers().get("location").is_none());
    assert_eq!(f.send("POST", "/apps/sign-in", Some(&[("csrf_token", &token)])).status(), 429);
    assert_eq!(f.records(), before, "refusals store nothing");
}

#[test]
fn a_malformed_cap_is_a_500_page_naming_the_variable_and_zero_is_off() {
    let mut f = fixture();
    capped_to(&mut f, "many");
    let html = body(&f.get_authorize(&[]));
    let form = [("handle", hidden(&html, "handle")), ("csrf_token", hidden(&html, "csrf_token"))];
    let pairs = [("handle", form[0].1.as_str()), ("csrf_token", form[1].1.as_str()), ("decision", "approve")];
    let response = f.send("POST", "/authorize", Some(&pairs));
    assert_eq!(response.status(), 500);
    assert!(body(&response).contains("sign_in_max_pending_per_address"));
    capped_to(&mut f, "0");
    for _ in 0..5 {
        f.approve_to_clerk();
    }
    assert!(f.env.store.keys().iter().all(|k| !k.starts_with("ratelimit:sign_in_pending:")));
}

#[test]
fn consent_decisions_and_the_end_of_every_sign_in_are_recorded_without_secrets() {
    let mut f = fixture();
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
    let denied = f.consent("deny");
    assert_eq!(denied.status(), 200, "our own page");
    let clerk_url = f.approve_to_clerk();
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    let replay = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(replay.status(), 400);
    let remembered = f.get_authorize(&[]);
    let cancelled_url = f.prime_nonce(&location(&remembered));
    f.callback(&cancelled_url, &[("error", "access_denied"), ("error_description", "User cancelled")]);
    let remembered_url = location(&f.get_authorize(&[]));
    f.prime_nonce(&remembered_url);
    location(&f.callback(&remembered_url, &[("code", "clerk-code")]));

    let kinds: Vec<&str> = f.env.audit.events().iter().map(|e| e.event().name()).collect();
    assert_eq!(
        kinds,
        [
            "consent.denied",
            "consent.approved",
            "sign_in.completed",
            "sign_in.failed",
            "sign_in.failed",
            "consent.approved",
            "sign_in.completed"
        ]
    );
    let approved = f.env.audit.of(Event::ConsentApproved);
    assert_eq!(
        (approved[0]["detail"].as_str(), approved[1]["detail"].as_str()),
        (Some("on the consent page"), Some("remembered approval"))
    );
    assert_eq!(approved[1]["user_id"], "user_admin", "checked for the user Clerk signed in");
    let completed = &f.env.audit.of(Event::SignInCompleted)[0];
    assert_eq!(completed["client_id"], f.client_id);
    assert_eq!(completed["client_addr"], "192.0.2.7");
    assert!(completed["user_id"].as_str().is_some_and(|id| !id.is_empty()), "{completed}");
    let failed = f.env.audit.of(Event::SignInFailed);
    assert_eq!((failed[0]["error"].as_str(), failed[0].get("client_id")), (Some("state_reused"), None));
    assert_eq!(
        (failed[1]["error"].as_str(), failed[1]["client_id"].as_str()),
        (Some("access_denied"), Some(f.client_id.as_str()))
    );
    assert_eq!(failed[1]["detail"], "the user cancelled the sign-in at Clerk");
    assert_eq!(failed[1]["caller_text"], "error=access_denied error_description=User cancelled");

    let lines: String = f.env.audit.events().iter().map(|e| e.to_line("clerk-callback", 0)).collect();
    let state = query_of(&clerk_url)["state"].clone();
    let code = query_of(&loc)["code"].clone();
    for secret in f.cookies.values().chain([&state, &code, &"clerk-code".to_owned()]) {
        assert!(!lines.contains(secret.as_str()), "an audit line holds a secret: {secret}\n{lines}");
    }
}

#[test]
fn a_failed_exchange_with_clerk_is_recorded_with_clerk_s_error() {
    let mut f = fixture();
    let clerk_url = f.approve_to_clerk();
    f.env.http.respond("/oauth/token", 400, r#"{"error":"invalid_grant","error_description":"expired"}"#);
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    assert_eq!(query_of(&loc)["error"], "server_error");
    let failed = &f.env.audit.of(Event::SignInFailed)[0];
    assert_eq!(failed["error"], "invalid_grant");
    assert_eq!(failed["detail"], "Clerk refused the authorization code: invalid_grant");
}
