//! An in-memory Clerk behind the [`HttpClient`] port, for unit tests. Like a runtime configured
//! with `block_networks = ["private"]`, it refuses every IP-literal host (nothing it serves has
//! one) as prohibited, without recording a call: the private-network probes before a client
//! metadata document is fetched (`oauth_core::cimd::network_guard`) see blocked networks.

// Compiled for other crates' tests too (feature `test-support`), where `cfg(test)` is not set.
#![allow(clippy::unwrap_used, reason = "a test fake: a poisoned lock fails the test")]

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use platform::outbound::{Request, Response, Sending};
use platform::{HttpClient, OutboundError};
use serde_json::json;

pub const ISSUER: &str = "https://demo.clerk.accounts.dev";
pub const API: &str = "https://api.clerk.test";

/// One recorded request: path, `Authorization` header, body.
type Call = (String, Option<String>, Vec<u8>);

#[derive(Default)]
pub struct FakeClerk {
    overrides: Mutex<HashMap<String, (u16, String)>>,
    failure: Mutex<Option<OutboundError>>,
    /// Claims of the ID token `/oauth/token` returns.
    pub id_claims: Mutex<serde_json::Value>,
    calls: Mutex<Vec<Call>>,
}

impl FakeClerk {
    pub fn new() -> Self {
        let fake = Self::default();
        *fake.id_claims.lock().unwrap() = json!({
            "iss": ISSUER, "sub": "user_admin", "aud": "cid", "exp": 4_000_000_000u64, "sid": "sess_1",
            "email": "token@example.com", "public_metadata": {"role": "premium"}
        });
        fake
    }
    pub fn respond(&self, path: &str, status: u16, body: &str) {
        self.overrides.lock().unwrap().insert(path.to_owned(), (status, body.to_owned()));
    }
    pub fn fail_with(&self, error: OutboundError) {
        *self.failure.lock().unwrap() = Some(error);
    }
    pub fn calls_to(&self, path: &str) -> usize {
        self.calls.lock().unwrap().iter().filter(|(p, _, _)| p == path).count()
    }
    pub fn total_calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }
    pub fn last_authorization(&self, path: &str) -> Option<String> {
        let calls = self.calls.lock().unwrap();
        calls.iter().rev().find(|(p, _, _)| p == path).and_then(|(_, auth, _)| auth.clone())
    }
    pub fn last_body(&self, path: &str) -> Option<String> {
        let calls = self.calls.lock().unwrap();
        calls.iter().rev().find(|(p, _, _)| p == path).map(|(_, _, b)| String::from_utf8_lossy(b).into_owned())
    }

    fn answer(&self, path: &str) -> (u16, String) {
        if let Some(canned) = self.overrides.lock().unwrap().get(path) {
            return canned.clone();
        }
        match path {
            "/.well-known/openid-configuration" => (200, discovery()),
            "/oauth/token" => (200, self.tokens()),
            "/oauth/userinfo" => {
                (200, json!({"sub":"user_admin","email":"info@example.com","given_name":"Info"}).to_string())
            }
            "/v1/users/user_admin" => (200, user("user_admin", "admin", false)),
            "/v1/users/user_plain" => (200, user("user_plain", "", false)),
            "/v1/users/user_banned" => (200, user("user_banned", "", true)),
            _ => (
                404,
                json!({"errors":[{"message":"not found","long_message":"not found","code":"resource_not_found"}]})
                    .to_string(),
            ),
        }
    }

    fn tokens(&self) -> String {
        let claims = self.id_claims.lock().unwrap().clone();
        let id_token = unsigned_jwt(&claims);
        json!({"access_token":"oat_x","token_type":"Bearer","expires_in":86400,"scope":"openid email profile public_metadata","id_token":id_token}).to_string()
    }
}

/// A compact JWT with these claims and a dummy signature (the client never checks it).
pub fn unsigned_jwt(claims: &serde_json::Value) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let header = b64.encode(br#"{"alg":"RS256","typ":"JWT","kid":"ins_test"}"#);
    let payload = b64.encode(serde_json::to_vec(claims).unwrap_or_default());
    format!("{header}.{payload}.c2ln")
}

fn discovery() -> String {
    json!({
        "issuer": ISSUER,
        "authorization_endpoint": format!("{ISSUER}/oauth/authorize"),
        "token_endpoint": format!("{ISSUER}/oauth/token"),
        "userinfo_endpoint": format!("{ISSUER}/oauth/userinfo"),
        "jwks_uri": format!("{ISSUER}/.well-known/jwks.json"),
    })
    .to_string()
}

fn user(id: &str, role: &str, banned: bool) -> String {
    let metadata = if role.is_empty() { json!({}) } else { json!({"role": role}) };
    json!({
        "id": id, "object": "user", "first_name": "Ada", "last_name": "Lovelace", "image_url": "https://img.example/a.png",
        "primary_email_address_id": "idn_2",
        "email_addresses": [{"id":"idn_1","email_address":"old@example.com"},{"id":"idn_2","email_address":format!("{}@example.com", id.trim_start_matches("user_"))}],
        "public_metadata": metadata, "banned": banned, "locked": false
    })
    .to_string()
}

impl HttpClient for FakeClerk {
    fn send(&self, request: Request, _timeout: Duration) -> Sending<'_> {
        Box::pin(std::future::ready(self.answer_request(request)))
    }
}

impl FakeClerk {
    fn answer_request(&self, request: Request) -> Result<Response, OutboundError> {
        let host = request.uri().host().unwrap_or_default();
        if host.trim_start_matches('[').trim_end_matches(']').parse::<std::net::IpAddr>().is_ok() {
            return Err(OutboundError::Prohibited { host: host.to_owned() });
        }
        let path = request.uri().path().to_owned();
        let auth = request.headers().get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned);
        self.calls.lock().unwrap().push((path.clone(), auth, request.body().clone()));
        if let Some(error) = self.failure.lock().unwrap().clone() {
            return Err(error);
        }
        let (status, body) = self.answer(&path);
        Ok(http::Response::builder()
            .status(status)
            .header("content-type", "application/json")
            .body(body.into_bytes())
            .unwrap())
    }
}
