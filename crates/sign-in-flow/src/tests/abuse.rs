//! The sign-in rate limit and the audit trail of the flow.

use platform::{Clock, Event};

use super::*;

fn limited_to(f: &mut Fixture, per_minute: &str) {
    f.env.vars = variables().with("rate_limit_sign_in_per_minute", per_minute);
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
}

#[test]
fn sign_in_requests_per_address_pass_up_to_the_limit_then_get_a_429_page_until_the_minute_ends() {
    let mut f = fixture();
    limited_to(&mut f, "3");
    let into_minute = f.env.clock.now_unix() % 60;
    let clerk_url = f.approve_to_clerk(); // GET and POST /authorize: 2 of 3
    assert_eq!(f.get_authorize(&[]).status(), 302, "at the limit (the approval is remembered)");
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
    assert_eq!(f.get_authorize(&[]).status(), 302, "another address has its own count");
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

#[test]
fn consent_decisions_and_the_end_of_every_sign_in_are_recorded_without_secrets() {
    let mut f = fixture();
    f.addr = Some("192.0.2.7:5555".parse().unwrap());
    let denied = f.consent("deny");
    assert_eq!(query_of(&location(&denied))["error"], "access_denied");
    let clerk_url = f.approve_to_clerk();
    let loc = location(&f.callback(&clerk_url, &[("code", "clerk-code")]));
    let replay = f.callback(&clerk_url, &[("code", "clerk-code")]);
    assert_eq!(replay.status(), 400);
    let remembered = f.get_authorize(&[]);
    let cancelled_url = f.prime_nonce(&location(&remembered));
    f.callback(&cancelled_url, &[("error", "access_denied"), ("error_description", "User cancelled")]);

    let kinds: Vec<&str> = f.env.audit.events().iter().map(|e| e.event().name()).collect();
    assert_eq!(
        kinds,
        [
            "consent.denied",
            "consent.approved",
            "sign_in.completed",
            "sign_in.failed",
            "consent.approved",
            "sign_in.failed"
        ]
    );
    let approved = f.env.audit.of(Event::ConsentApproved);
    assert_eq!(
        (approved[0]["detail"].as_str(), approved[1]["detail"].as_str()),
        (Some("on the consent page"), Some("remembered approval"))
    );
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
