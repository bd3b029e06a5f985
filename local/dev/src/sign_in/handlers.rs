//! Clerk's endpoints, as the development provider answers them.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::state::{IssuedCode, State};
use super::users::User;
use super::{CLIENT_ID, CLIENT_SECRET, Request, Response, SECRET_KEY};

mod sign_in_page;

const SCOPES: [&str; 6] = ["openid", "email", "profile", "public_metadata", "private_metadata", "offline_access"];

pub(super) fn route(state: &State, request: &Request) -> Response {
    let path = request.uri().path();
    match (request.method().as_str(), path) {
        ("GET", "/.well-known/openid-configuration") => json_response(200, &discovery(&state.issuer)),
        ("GET", "/.well-known/jwks.json") => json_response(200, &state.signer.jwks()),
        ("GET", "/oauth/authorize") => authorize(state, &query(request)),
        ("POST", "/oauth/authorize/sign-in") => dev_sign_in(state, &form(request)),
        ("POST", "/oauth/token") => token(state, request),
        ("GET" | "POST", "/oauth/userinfo") => userinfo(state, request),
        ("GET", p) if p.starts_with("/v1/users/") => backend_user(state, request, &p["/v1/users/".len()..]),
        _ => clerk_error(404, "resource_not_found", "Not Found"),
    }
}

fn discovery(issuer: &str) -> Value {
    json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/oauth/authorize"),
        "token_endpoint": format!("{issuer}/oauth/token"),
        "revocation_endpoint": format!("{issuer}/oauth/token/revoke"),
        "introspection_endpoint": format!("{issuer}/oauth/token_info"),
        "userinfo_endpoint": format!("{issuer}/oauth/userinfo"),
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "scopes_supported": SCOPES,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "form_post"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256", "ES256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "email", "email_verified", "given_name", "family_name", "name", "picture", "public_metadata"],
        "code_challenge_methods_supported": ["S256"],
        "backchannel_logout_supported": false,
        "frontchannel_logout_supported": false
    })
}

/// `GET /oauth/authorize`: validates like Clerk, then shows the sign-in page, or signs the chosen
/// user in without one.
fn authorize(state: &State, q: &[(String, String)]) -> Response {
    let get = |name: &str| param(q, name);
    if let Err(message) = check_authorize(q) {
        return text(400, "text/plain; charset=utf-8", message);
    }
    if state.page {
        return html(200, &sign_in_page::render(q));
    }
    match state.pick_user(get("login_hint")) {
        Some(user) => issue_code(state, &user, q),
        None => text(400, "text/plain; charset=utf-8", "no such user"),
    }
}

fn check_authorize(q: &[(String, String)]) -> Result<(), &'static str> {
    let get = |name: &str| param(q, name);
    let redirect_ok = get("redirect_uri").is_some_and(|r| r.starts_with("http://") || r.starts_with("https://"));
    match () {
        _ if get("response_type") != Some("code") => Err("response_type must be code"),
        _ if get("client_id") != Some(CLIENT_ID) => Err("unknown client_id"),
        _ if !redirect_ok => Err("invalid redirect_uri"),
        _ if get("state").is_none_or(|s| s.len() < 8) => Err("state must be at least 8 characters"),
        _ if get("code_challenge").is_none() || get("code_challenge_method") != Some("S256") => {
            Err("PKCE S256 required")
        }
        _ => Ok(()),
    }
}

/// Stores a code for `user` and redirects back to the callback with it.
fn issue_code(state: &State, user: &User, q: &[(String, String)]) -> Response {
    let get = |name: &str| param(q, name);
    let code = random();
    let issued = IssuedCode {
        user_id: user.id.clone(),
        redirect_uri: get("redirect_uri").unwrap_or_default().to_owned(),
        code_challenge: get("code_challenge").unwrap_or_default().to_owned(),
        nonce: get("nonce").map(str::to_owned),
        scope: get("scope").unwrap_or("profile email").to_owned(),
        expires_at: now() + 600,
    };
    let location = with_query(&issued.redirect_uri, &[("code", &code), ("state", get("state").unwrap_or_default())]);
    state.store_code(code, issued);
    redirect(&location)
}

/// The development sign-in form: creates (or updates) the chosen user and continues.
fn dev_sign_in(state: &State, f: &[(String, String)]) -> Response {
    let get = |name: &str| param(f, name);
    let email = get("email").unwrap_or_default().trim();
    if !state.page || email.is_empty() || !email.contains('@') {
        return text(400, "text/plain; charset=utf-8", "an email address is required");
    }
    if let Err(message) = check_authorize(f) {
        return text(400, "text/plain; charset=utf-8", message);
    }
    let role = get("role").map(str::trim).filter(|r| !r.is_empty());
    let name = email.split('@').next().unwrap_or("dev");
    let user = state.upsert_user(User::new(email, name, "(dev)", role));
    issue_code(state, &user, f)
}

/// `POST /oauth/token`: the authorization-code grant with client authentication and PKCE.
fn token(state: &State, request: &Request) -> Response {
    let f = form(request);
    let get = |name: &str| param(&f, name);
    let (client_id, client_secret) = client_credentials(request, get("client_id"), get("client_secret"));
    if client_id.as_deref() != Some(CLIENT_ID) || client_secret.as_deref() != Some(CLIENT_SECRET) {
        return oauth_error(401, "invalid_client", "client authentication failed");
    }
    if get("grant_type") != Some("authorization_code") {
        return oauth_error(400, "unsupported_grant_type", "only authorization_code is supported here");
    }
    let Some(issued) = get("code").and_then(|c| state.take_code(c)) else {
        return oauth_error(400, "invalid_grant", "unknown or used code");
    };
    let verifier_ok =
        get("code_verifier").is_some_and(|v| platform::secret::sha256_base64url(v.as_bytes()) == issued.code_challenge);
    if issued.expires_at < now() || get("redirect_uri") != Some(issued.redirect_uri.as_str()) || !verifier_ok {
        return oauth_error(400, "invalid_grant", "code expired, or redirect_uri/code_verifier mismatch");
    }
    match state.user_by_id(&issued.user_id) {
        Some(user) => token_response(state, &user, &issued),
        None => oauth_error(400, "invalid_grant", "user no longer exists"),
    }
}

fn token_response(state: &State, user: &User, issued: &IssuedCode) -> Response {
    let access_token = format!("oat_{}", &platform::secret::hash_hex(&random())[..32]);
    state.store_access_token(access_token.clone(), user.id.clone(), issued.scope.clone());
    let mut body = json!({
        "access_token": access_token, "token_type": "Bearer", "expires_in": 86400,
        "refresh_token": random(), "scope": issued.scope
    });
    if issued.scope.split(' ').any(|s| s == "openid") {
        match state.signer.sign(&id_token_claims(state, user, issued)) {
            Ok(id_token) => body["id_token"] = json!(id_token),
            Err(_) => return oauth_error(500, "server_error", "signing failed"),
        }
    }
    json_response(200, &body)
}

fn id_token_claims(state: &State, user: &User, issued: &IssuedCode) -> Value {
    let mut claims = user.claims(&issued.scope);
    let now = now();
    for (k, v) in [
        ("iss", json!(state.issuer)),
        ("aud", json!(CLIENT_ID)),
        ("azp", json!(CLIENT_ID)),
        ("iat", json!(now)),
        ("exp", json!(now + 86400)),
        ("sid", json!(format!("sess_{}", &platform::secret::hash_hex(&random())[..27]))),
    ] {
        claims.insert(k.into(), v);
    }
    if let Some(nonce) = &issued.nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    Value::Object(claims)
}

/// Basic credentials win over form fields (Clerk treats both the same).
fn client_credentials(
    request: &Request,
    form_id: Option<&str>,
    form_secret: Option<&str>,
) -> (Option<String>, Option<String>) {
    let basic = header(request, "authorization")
        .and_then(|h| h.strip_prefix("Basic "))
        .and_then(|b| STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    if let Some((id, secret)) = basic.as_deref().and_then(|b| b.split_once(':')) {
        let decode = |s: &str| form_urlencoded::parse(format!("x={s}").as_bytes()).next().map(|(_, v)| v.into_owned());
        return (decode(id), decode(secret));
    }
    (form_id.map(str::to_owned), form_secret.map(str::to_owned))
}

fn userinfo(state: &State, request: &Request) -> Response {
    let token = header(request, "authorization").and_then(|h| h.strip_prefix("Bearer "));
    let Some((user_id, scope)) = token.and_then(|t| state.access_token(t)) else {
        return clerk_error(401, "authentication_invalid", "Invalid access token");
    };
    let Some(user) = state.user_by_id(&user_id) else {
        return clerk_error(401, "authentication_invalid", "User not found");
    };
    let mut claims = user.claims(&scope);
    claims.insert("object".into(), json!("oauth_user_info"));
    claims.insert("instance_id".into(), json!("ins_mock"));
    claims.insert("user_id".into(), json!(user.id));
    json_response(200, &Value::Object(claims))
}

fn backend_user(state: &State, request: &Request, user_id: &str) -> Response {
    if header(request, "authorization") != Some(&format!("Bearer {SECRET_KEY}")) {
        return clerk_error(401, "authentication_invalid", "Unauthorized request");
    }
    match state.user_by_id(user_id) {
        Some(user) => json_response(200, &user.to_backend_json()),
        None => clerk_error(404, "resource_not_found", "Resource not found"),
    }
}

// --- small helpers -----------------------------------------------------------------------------

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers().get(name).and_then(|v| v.to_str().ok())
}

fn query(request: &Request) -> Vec<(String, String)> {
    platform::web::decode_pairs(request.uri().query().unwrap_or("").as_bytes())
}

fn form(request: &Request) -> Vec<(String, String)> {
    platform::web::decode_pairs(request.body())
}

fn with_query(base: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if base.contains('?') { '&' } else { '?' };
    format!("{base}{separator}{}", platform::web::encode_pairs(pairs.iter().copied()))
}

fn random() -> String {
    platform::secret::random_token().unwrap_or_else(|_| format!("{}", now()))
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

pub(super) fn text(status: u16, content_type: &str, body: &str) -> Response {
    http::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body.as_bytes().to_vec())
        .unwrap_or_default()
}

fn html(status: u16, body: &str) -> Response {
    text(status, "text/html; charset=utf-8", body)
}

fn json_response(status: u16, body: &Value) -> Response {
    let mut response = text(status, "application/json", &body.to_string());
    response.headers_mut().insert("cache-control", http::HeaderValue::from_static("no-store"));
    response
}

fn redirect(location: &str) -> Response {
    http::Response::builder().status(302).header("location", location).body(Vec::new()).unwrap_or_default()
}

/// RFC 6749 `{error, error_description}`.
fn oauth_error(status: u16, error: &str, description: &str) -> Response {
    json_response(status, &json!({"error": error, "error_description": description}))
}

/// Clerk's `ClerkErrors` envelope.
fn clerk_error(status: u16, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({"errors": [{"message": message, "long_message": message, "code": code, "meta": {}}], "clerk_trace_id": "mock"}),
    )
}
