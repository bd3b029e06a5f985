//! The development sign-in page (`mcp_dev::sign_in`, what `cargo dev` runs; issue 4 item 4), without the app.

use base64::Engine;
use e2e::browser::form_inputs;
use e2e::{Pkce, http};
use mcp_dev::sign_in::{Options, Provider};
use mock_clerk::MockClerk;

#[test]
fn dev_sign_in_page_creates_the_chosen_user_with_the_chosen_role() {
    let clerk = Provider::start(Options { port: 0, page: true }).unwrap();
    let pkce = Pkce::new();
    let query = clerk_authorize_query(
        &pkce,
        "http://127.0.0.1:9/callback",
        "openid email profile public_metadata",
        &[("nonce", "n-1")],
    );
    let page = http::get(&format!("{}/oauth/authorize?{query}", clerk.base_url()));
    assert_eq!(page.status, 200);
    assert!(page.text().contains("DEVELOPMENT SIGN-IN, NOT FOR PRODUCTION"));

    let mut fields: Vec<(String, String)> =
        form_inputs(&page.text()).into_iter().filter(|(k, _)| k != "email").collect();
    fields.push(("email".into(), "dev@example.com".into()));
    fields.push(("role".into(), "premium".into()));
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = http::post_form(&format!("{}/oauth/authorize/sign-in", clerk.base_url()), &pairs, &[]);
    assert_eq!(back.status, 302, "{}", back.text());
    let q = back.location_query();
    assert_eq!(q["state"], "state-123456");

    let basic = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        mock_clerk::CLIENT_ID,
        mock_clerk::CLIENT_SECRET
    ));
    let tokens = http::post_form(
        &format!("{}/oauth/token", clerk.base_url()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &q["code"]),
            ("redirect_uri", "http://127.0.0.1:9/callback"),
            ("code_verifier", &pkce.verifier),
        ],
        &[("authorization", &format!("Basic {basic}"))],
    );
    assert_eq!(tokens.status, 200, "{}", tokens.text());
    let id_token = tokens.json()["id_token"].as_str().unwrap().to_owned();
    let payload = id_token.split('.').nth(1).unwrap();
    let claims: serde_json::Value =
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    assert_eq!(claims["email"], "dev@example.com");
    assert_eq!(claims["public_metadata"]["role"], "premium");
    assert_eq!(claims["nonce"], "n-1");
    assert_eq!(clerk.user("dev@example.com").unwrap().role.as_deref(), Some("premium"));
}

#[test]
fn mock_token_endpoint_checks_pkce_and_client_secret() {
    let clerk = MockClerk::start().unwrap();
    let pkce = Pkce::new();
    let query = clerk_authorize_query(&pkce, "http://127.0.0.1:9/cb", "openid email", &[]);
    let back = http::get(&format!("{}/oauth/authorize?{query}", clerk.base_url()));
    let code = back.location_query()["code"].clone();
    let token = |secret: &str, verifier: &str| {
        http::post_form(
            &format!("{}/oauth/token", clerk.base_url()),
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", "http://127.0.0.1:9/cb"),
                ("code_verifier", verifier),
                ("client_id", mock_clerk::CLIENT_ID),
                ("client_secret", secret),
            ],
            &[],
        )
    };
    assert_eq!(token("wrong", &pkce.verifier).status, 401);
    assert_eq!(token(mock_clerk::CLIENT_SECRET, "wrong-verifier").json()["error"], "invalid_grant");
}

/// The query of an authorization request to the mock Clerk, as our clerk-client sends it.
fn clerk_authorize_query(pkce: &Pkce, redirect_uri: &str, scope: &str, extra: &[(&str, &str)]) -> String {
    let mut pairs = vec![
        ("response_type", "code"),
        ("client_id", mock_clerk::CLIENT_ID),
        ("redirect_uri", redirect_uri),
        ("scope", scope),
        ("state", "state-123456"),
        ("code_challenge", pkce.challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    platform::web::encode_pairs(pairs)
}
