//! The endpoints' rate limits: under the limit, at it, past it (429), and after the window.

use http::StatusCode;
use platform::rate_limit::{REFRESHES, REGISTER, TOKEN_FAILURES};

use super::*;
use platform::{Clock, Event};

const HOME: &str = "192.0.2.7";
const ELSEWHERE: &str = "198.51.100.9";

fn limits(register: u64, token_failures: u64) -> Limits {
    Limits {
        register: REGISTER.with_max(register),
        token_failures: TOKEN_FAILURES.with_max(token_failures),
        refreshes: REFRESHES.with_max(REFRESHES.default_max),
    }
}

fn registration() -> String {
    format!(r#"{{"redirect_uris":["{REDIRECT}"],"token_endpoint_auth_method":"none"}}"#)
}

/// Asserts a 429 with the OAuth error, the limit named, and `Retry-After` (returned).
fn assert_limited(response: &Response, limit: &str) -> u64 {
    assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS, "{}", text(response));
    let body = json(response);
    assert_eq!(body["error"], "temporarily_unavailable");
    assert!(body["error_description"].as_str().unwrap().contains(&format!("`{limit}`")), "{body}");
    header(response, "retry-after").unwrap().parse().unwrap()
}

#[test]
fn registrations_per_address_pass_up_to_the_limit_then_get_429_until_the_hour_ends() {
    let e = env_with(limits(2, 30));
    let into_hour = e.clock.now_unix() % 3600;
    for _ in 0..2 {
        assert_eq!(e.call(from(HOME, json_post("/register", &registration()))).status(), StatusCode::CREATED);
    }
    let clients_before = e.records().len();
    let refused = e.call(from(HOME, json_post("/register", &registration())));
    assert_eq!(assert_limited(&refused, "register"), 3600 - into_hour);
    assert_eq!(e.records().len(), clients_before, "no client was stored");
    assert_eq!(e.call(from(ELSEWHERE, json_post("/register", &registration()))).status(), StatusCode::CREATED);
    assert_eq!(events(&e.audit, Event::RateLimited).len(), 1);
    assert_eq!(events(&e.audit, Event::RateLimited)[0]["limit"], "register");
    assert_eq!(events(&e.audit, Event::RateLimited)[0]["client_addr"], HOME);
    e.clock.advance(3600 - into_hour);
    assert_eq!(e.call(from(HOME, json_post("/register", &registration()))).status(), StatusCode::CREATED, "reset");
}

#[test]
fn invalid_registrations_count_too() {
    let e = env_with(limits(1, 30));
    e.refused(from(HOME, json_post("/register", "{")), StatusCode::BAD_REQUEST, "invalid_client_metadata");
    assert_limited(&e.call(from(HOME, json_post("/register", &registration()))), "register");
}

#[test]
fn a_registration_limit_of_zero_is_off() {
    let e = env_with(limits(0, 30));
    for _ in 0..5 {
        assert_eq!(e.call(from(HOME, json_post("/register", &registration()))).status(), StatusCode::CREATED);
    }
    assert!(e.store.keys().iter().all(|k| !k.starts_with("ratelimit:register:")));
}

fn bad_code(client_id: &str) -> Request {
    from(HOME, form_post("/token", &[("grant_type", "authorization_code"), ("client_id", client_id), ("code", "x")]))
}

fn good_code(e: &Env, client_id: &str) -> Request {
    from(ELSEWHERE, e.code_exchange(client_id))
}

#[test]
fn token_failures_of_a_client_at_an_address_pass_up_to_the_limit_then_its_requests_there_get_429() {
    let e = env_with(limits(100, 2));
    let into_minute = e.clock.now_unix() % 60;
    let (client, other) = (e.public_client(), e.public_client());
    for _ in 0..2 {
        assert_eq!(e.call(bad_code(&client)).status(), StatusCode::BAD_REQUEST, "under and at the limit");
    }
    let good_here = from(HOME, e.code_exchange(&client));
    let before = e.records();
    assert_eq!(assert_limited(&e.call(good_here), "token_failures"), 60 - into_minute, "even a good request");
    assert_eq!(e.records(), before, "refused before any work: the code is unused");
    assert_eq!(e.call(from(HOME, e.code_exchange(&other))).status(), StatusCode::OK, "other clients are not affected");
    e.clock.advance(60 - into_minute);
    assert_eq!(e.call(from(HOME, e.code_exchange(&client))).status(), StatusCode::OK, "a new window");
}

#[test]
fn token_failures_from_one_address_do_not_lock_the_client_out_elsewhere() {
    let e = env_with(limits(100, 2));
    let client = e.public_client();
    for _ in 0..3 {
        e.call(bad_code(&client));
    }
    assert_limited(&e.call(bad_code(&client)), "token_failures");
    assert_eq!(e.call(good_code(&e, &client)).status(), StatusCode::OK, "the client's users elsewhere");
    for _ in 0..3 {
        let refused = e.call(from(ELSEWHERE, form_post("/token", &[("client_id", &client), ("code", "x")])));
        assert_ne!(refused.status(), StatusCode::OK);
    }
    assert_limited(&e.call(good_code(&e, &client)), "token_failures");
}

#[test]
fn successful_token_requests_do_not_count() {
    let e = env_with(limits(100, 1));
    let client = e.public_client();
    for _ in 0..3 {
        assert_eq!(e.call(good_code(&e, &client)).status(), StatusCode::OK);
    }
    assert_eq!(e.call(bad_code(&client)).status(), StatusCode::BAD_REQUEST, "the first failure");
    assert_limited(&e.call(from(HOME, e.code_exchange(&client))), "token_failures");
}

#[test]
fn token_failures_naming_no_registered_client_count_per_address() {
    let e = env_with(limits(100, 2));
    let client = e.public_client();
    for made_up in ["made-up-1", "made-up-2"] {
        e.refused(bad_code(made_up), StatusCode::UNAUTHORIZED, "invalid_client");
    }
    assert_limited(&e.call(bad_code("made-up-3")), "token_failures");
    let unreadable = from(HOME, json_post("/token", "{}"));
    assert_limited(&e.call(unreadable), "token_failures");
    assert_eq!(e.call(good_code(&e, &client)).status(), StatusCode::OK, "a registered client, from another address");
    let limited = events(&e.audit, Event::RateLimited);
    assert_eq!(limited.len(), 2);
    assert_eq!(
        (limited[0]["client_id"].as_str(), limited[0]["limit"].as_str()),
        (Some("made-up-3"), Some("token_failures"))
    );
}

#[test]
fn failure_counts_are_kept_in_expiring_counters_the_sweep_removes() {
    let e = env_with(limits(100, 5));
    let client = e.public_client();
    e.call(bad_code(&client));
    let is_counter = |k: &String| k.starts_with("ratelimit:");
    let counters: Vec<String> = e.store.keys().into_iter().filter(is_counter).collect();
    assert_eq!(counters.len(), 2, "one registration, one token failure: {counters:?}");
    assert!(counters.iter().all(|k| platform::record::counter_expiry(k).is_some()));
    e.clock.advance(3600 + 120);
    assert_eq!(e.call(good_code(&e, &client)).status(), StatusCode::OK, "a success sweeps its share");
    assert!(!e.store.keys().iter().any(is_counter), "{:?}", e.store.keys());
}

fn refresh_from(address: &str, client_id: &str, refresh_token: &str) -> Request {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)];
    from(address, form_post("/token", &pairs))
}

#[test]
fn successful_refreshes_of_a_grant_pass_up_to_the_limit_then_get_429_with_the_token_unused() {
    let e = env_with(Limits { refreshes: REFRESHES.with_max(2), ..limits(100, 30) });
    let into_hour = e.clock.now_unix() % 3600;
    let client = e.public_client();
    let str_of = |value: Value, name: &str| value[name].as_str().unwrap().to_owned();
    let mut refresh_token = str_of(e.exchange(&client), "refresh_token");
    let mut previous = refresh_token.clone();
    for _ in 0..2 {
        previous = refresh_token;
        refresh_token = str_of(json(&e.call(refresh_from(HOME, &client, &previous))), "refresh_token");
    }
    let retried = e.call(refresh_from(HOME, &client, &previous));
    assert_eq!(retried.status(), StatusCode::OK, "a retry within the grace window is not a rotation");
    let other_grant = str_of(e.exchange(&client), "refresh_token");
    assert_eq!(e.call(refresh_from(HOME, &client, &other_grant)).status(), StatusCode::OK, "grants count apart");

    let before = e.records();
    let refused = e.call(refresh_from(ELSEWHERE, &client, &refresh_token));
    assert_eq!(assert_limited(&refused, "refreshes"), 3600 - into_hour);
    assert_eq!(e.records(), before, "the refresh token is unused");
    let limited = events(&e.audit, Event::RateLimited);
    assert_eq!((limited.len(), limited[0]["limit"].as_str()), (1, Some("refreshes")));
    assert!(limited[0]["grant_id"].is_string());
    assert!(events(&e.audit, Event::TokenFailed).is_empty(), "a limit's refusal is not a failure");
    e.clock.advance(3600 - into_hour);
    assert_eq!(e.call(refresh_from(HOME, &client, &refresh_token)).status(), StatusCode::OK, "a new window");
}
