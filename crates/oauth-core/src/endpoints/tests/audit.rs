//! The audit trail of the endpoints: which events, with which fields, and never a secret.

use http::StatusCode;
use platform::Event;

use super::*;

const HOME: &str = "192.0.2.7";

fn refresh_request(client_id: &str, refresh_token: &str) -> Request {
    from(
        HOME,
        form_post(
            "/token",
            &[("grant_type", "refresh_token"), ("refresh_token", refresh_token), ("client_id", client_id)],
        ),
    )
}

#[test]
fn registration_issue_refresh_and_revocation_are_recorded_with_who_and_what() {
    let e = env();
    let registered =
        json(&e.call(from(HOME, json_post("/register", &format!(r#"{{"redirect_uris":["{REDIRECT}"]}}"#)))));
    let (client, secret) = (registered["client_id"].as_str().unwrap(), registered["client_secret"].as_str().unwrap());
    let code = e.code(client);
    let token_pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ];
    let issued = json(&e.call(from(HOME, basic_post("/token", client, secret, &token_pairs))));
    let refresh = issued["refresh_token"].as_str().unwrap();
    let refresh_pairs = [("grant_type", "refresh_token"), ("refresh_token", refresh)];
    let rotated = json(&e.call(from(HOME, basic_post("/token", client, secret, &refresh_pairs))));
    let again = json(&e.call(from(HOME, basic_post("/token", client, secret, &refresh_pairs))));
    assert_eq!(again["refresh_token"], rotated["refresh_token"], "within the grace window");
    let revoke_pairs = [("token", rotated["refresh_token"].as_str().unwrap())];
    assert_eq!(e.call(from(HOME, basic_post("/revoke", client, secret, &revoke_pairs))).status(), StatusCode::OK);

    let kinds: Vec<&str> = e.audit.events().iter().map(|event| event.event().name()).collect();
    assert_eq!(kinds, ["client.registered", "token.issued", "token.refreshed", "token.refreshed", "token.revoked"]);
    let registered = &events(&e.audit, Event::ClientRegistered)[0];
    assert_eq!((registered["client_id"].as_str(), registered["client_addr"].as_str()), (Some(client), Some(HOME)));
    assert_eq!(registered["detail"], "token_endpoint_auth_method client_secret_basic");
    let issued_event = &events(&e.audit, Event::TokenIssued)[0];
    assert_eq!(issued_event["user_id"], props().user_id);
    assert_eq!(issued_event["client_id"], client);
    let grant_id = issued_event["grant_id"].as_str().unwrap();
    let refreshed = events(&e.audit, Event::TokenRefreshed);
    assert_eq!(
        (refreshed[0]["grant_id"].as_str(), refreshed[0]["user_id"].as_str()),
        (Some(grant_id), Some(props().user_id.as_str()))
    );
    assert!(refreshed[1]["detail"].as_str().unwrap().contains("grace window"), "{}", refreshed[1]);
    let revoked = &events(&e.audit, Event::TokenRevoked)[0];
    assert_eq!(
        (revoked["grant_id"].as_str(), revoked["detail"].as_str()),
        (Some(grant_id), Some("a refresh token and its grant"))
    );

    let lines = audit_lines(&e.audit);
    for secret in [secret, &code, VERIFIER, refresh].into_iter().chain(
        [&issued, &rotated]
            .iter()
            .flat_map(|t| [t["access_token"].as_str().unwrap(), t["refresh_token"].as_str().unwrap()]),
    ) {
        assert!(!lines.contains(secret), "an audit line holds a secret: {secret}\n{lines}");
    }
}

#[test]
fn refused_token_requests_are_recorded_with_the_oauth_error() {
    let e = env();
    let client = e.public_client();
    e.refused(from(HOME, refresh_request(&client, "not-a-token")), StatusCode::BAD_REQUEST, "invalid_grant");
    e.refused(from(HOME, refresh_request("nobody", "x")), StatusCode::UNAUTHORIZED, "invalid_client");
    let failed = events(&e.audit, Event::TokenFailed);
    assert_eq!(failed.len(), 2);
    assert_eq!(
        (failed[0]["error"].as_str(), failed[0]["client_id"].as_str()),
        (Some("invalid_grant"), Some(client.as_str()))
    );
    assert_eq!(failed[0]["detail"], "unknown or expired refresh token");
    assert_eq!(
        (failed[1]["error"].as_str(), failed[1]["client_id"].as_str()),
        (Some("invalid_client"), Some("nobody"))
    );
    assert_eq!(failed[1]["outcome"], "failure");
    assert!(!audit_lines(&e.audit).contains("not-a-token"), "a presented token is never logged");
}

#[test]
fn caller_text_in_a_refusal_is_kept_apart_from_our_words_and_escaped() {
    let e = env();
    let client = e.public_client();
    let grant_type = "pass\u{2028}{\"event\":\"forged\"}\u{202e}drow";
    let pairs = [("grant_type", grant_type), ("client_id", client.as_str())];
    let refused = e.refused(from(HOME, form_post("/token", &pairs)), StatusCode::BAD_REQUEST, "unsupported_grant_type");
    assert!(json(&refused)["error_description"].as_str().unwrap().ends_with(&format!(": `{grant_type}`")));
    let repeated = [("grant_type", "refresh_token"), ("grant_type", "refresh_token"), ("client_id", client.as_str())];
    e.refused(from(HOME, form_post("/token", &repeated)), StatusCode::BAD_REQUEST, "invalid_request");

    let failed = events(&e.audit, Event::TokenFailed);
    assert_eq!(
        (failed[0]["detail"].as_str(), failed[0]["caller_text"].as_str()),
        (Some("this grant_type is not supported"), Some(r#"pass\u{2028}{"event":"forged"}\u{202e}drow"#))
    );
    assert_eq!(
        (failed[1]["detail"].as_str(), failed[1]["caller_text"].as_str()),
        (Some("a parameter is repeated"), Some("grant_type"))
    );
    let lines = audit_lines(&e.audit);
    assert!(!lines.contains('\u{2028}') && !lines.contains('\u{202e}'), "{lines:?}");
}

#[test]
fn a_reused_code_is_recorded_with_the_grant_it_revoked() {
    let e = env();
    let client = e.public_client();
    let code = e.code(&client);
    let pairs = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
        ("client_id", client.as_str()),
    ];
    assert_eq!(e.call(from(HOME, form_post("/token", &pairs))).status(), StatusCode::OK);
    assert_eq!(e.call(from(HOME, form_post("/token", &pairs))).status(), StatusCode::BAD_REQUEST);
    let grant_id = events(&e.audit, Event::TokenIssued)[0]["grant_id"].clone();
    let reused = events(&e.audit, Event::CodeReused);
    assert_eq!(reused.len(), 1);
    assert_eq!((&reused[0]["grant_id"], reused[0]["error"].as_str()), (&grant_id, Some("invalid_grant")));
    assert!(events(&e.audit, Event::TokenFailed).is_empty(), "recorded as a reuse, not a plain failure");
    assert!(!audit_lines(&e.audit).contains(&code));
}

#[test]
fn a_refresh_token_reused_after_its_grace_window_is_recorded_with_the_grant_it_revoked() {
    let e = env();
    let client = e.public_client();
    let tokens = e.exchange(&client);
    let first = tokens["refresh_token"].as_str().unwrap();
    assert_eq!(e.call(refresh_request(&client, first)).status(), StatusCode::OK);
    e.clock.advance(crate::tokens::Rotation::DEFAULT_GRACE_SECS);
    assert_eq!(e.call(refresh_request(&client, first)).status(), StatusCode::BAD_REQUEST);
    let reused = events(&e.audit, Event::RefreshTokenReused);
    assert_eq!(reused.len(), 1, "{:?}", e.audit.events());
    assert_eq!(reused[0]["grant_id"], events(&e.audit, Event::TokenIssued)[0]["grant_id"]);
    assert_eq!(
        (reused[0]["client_id"].as_str(), reused[0]["client_addr"].as_str()),
        (Some(client.as_str()), Some(HOME))
    );
}
