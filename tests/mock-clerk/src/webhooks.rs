//! TEST ONLY: Clerk's webhook deliveries, signed as Svix signs them, for the tests of
//! `POST /webhooks/clerk`.
//!
//! Svix (which sends Clerk's webhooks) signs `<svix-id>.<svix-timestamp>.<body>` with
//! HMAC-SHA256 under the base64-decoded secret after `whsec_`, and sends `svix-id`,
//! `svix-timestamp` (Unix seconds) and `svix-signature` (`v1,<base64>`, space-separated when
//! it signs with several secrets). This signer is written apart from the server's verifier
//! (on `ring`), and checked against Svix's published test vector, so a test that passes shows
//! the server accepts what Svix sends.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::users::User;

/// The signing secret the mock's endpoint "has" in its dashboard: configure the server's
/// `clerk_webhook_secret` with it.
pub const WEBHOOK_SECRET: &str = "whsec_bW9jay1jbGVyay13ZWJob29rLXNpZ25pbmcta2V5ISE=";

/// One delivery: what Svix sends to the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub id: String,
    pub timestamp: u64,
    pub body: String,
    /// The `svix-signature` header.
    pub signature: String,
}

impl Delivery {
    /// The request headers, as Svix sends them.
    pub fn headers(&self) -> Vec<(&'static str, String)> {
        vec![
            ("content-type", "application/json".to_owned()),
            ("svix-id", self.id.clone()),
            ("svix-timestamp", self.timestamp.to_string()),
            ("svix-signature", self.signature.clone()),
        ]
    }

    /// The same message signed anew at `timestamp` (as Svix signs each retry).
    pub fn resigned_at(&self, secret: &str, timestamp: u64) -> Delivery {
        let signature = signature(secret, &self.id, timestamp, self.body.as_bytes());
        Delivery { timestamp, signature, ..self.clone() }
    }
}

/// `v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` under `secret` (`whsec_<base64>`).
pub fn signature(secret: &str, id: &str, timestamp: u64, body: &[u8]) -> String {
    let key_bytes = STANDARD.decode(secret.trim_start_matches("whsec_")).unwrap_or_default();
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);
    let mut content = format!("{id}.{timestamp}.").into_bytes();
    content.extend_from_slice(body);
    format!("v1,{}", STANDARD.encode(ring::hmac::sign(&key, &content).as_ref()))
}

/// Message ids: `msg_` and a counter, unique within a test process.
fn next_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_nanos();
    format!("msg_mock{now:x}n{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn now_secs() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs()
}

/// Clerk's event envelope around `data`.
pub fn event(event_type: &str, data: Value) -> Value {
    json!({
        "data": data,
        "object": "event",
        "type": event_type,
        "timestamp": now_secs() * 1000,
        "instance_id": "ins_mock",
        "event_attributes": { "http_request": { "client_ip": "", "user_agent": "" } }
    })
}

/// `user.deleted` for `user`: Clerk's deleted-object shape.
pub fn user_deleted(user: &User) -> Value {
    event("user.deleted", json!({ "id": user.id, "object": "user", "deleted": true }))
}

/// `user.updated` with `user`'s current Backend API object (ban and role included).
pub fn user_updated(user: &User) -> Value {
    event("user.updated", user.to_backend_json())
}

/// `session.ended` (or `session.revoked`) of Clerk session `session_id` of `user`.
pub fn session_ended(event_type: &str, user: &User, session_id: &str) -> Value {
    let status = if event_type == "session.revoked" { "revoked" } else { "ended" };
    event(event_type, json!({ "id": session_id, "object": "session", "user_id": user.id, "status": status }))
}

/// `event` as a delivery signed with `secret` now, with a fresh message id.
pub fn sign(secret: &str, event: &Value) -> Delivery {
    let (id, timestamp, body) = (next_id(), now_secs(), event.to_string());
    let signature = signature(secret, &id, timestamp, body.as_bytes());
    Delivery { id, timestamp, body, signature }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_svix_test_vector() {
        let signature = signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn deliveries_have_unique_ids_and_sign_their_body() {
        let user = User::new("a@example.com", "A", "B", None);
        let (a, b) = (sign(WEBHOOK_SECRET, &user_deleted(&user)), sign(WEBHOOK_SECRET, &user_deleted(&user)));
        assert_ne!(a.id, b.id);
        assert_eq!(a.signature, signature(WEBHOOK_SECRET, &a.id, a.timestamp, a.body.as_bytes()));
        assert_eq!(serde_json::from_str::<Value>(&a.body).unwrap()["data"]["id"], user.id);
    }
}
