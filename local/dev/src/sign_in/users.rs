//! Mock Clerk users and their JSON shapes (Backend API `User`, userinfo, ID-token claims).

use serde_json::{Value, json};

pub const ADMIN: &str = "admin@example.com";
pub const PREMIUM: &str = "premium@example.com";
pub const PLAIN: &str = "user@example.com";
pub const BANNED: &str = "banned@example.com";

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// `user_` + 27 characters, like Clerk's.
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub role: Option<String>,
    pub banned: bool,
}

impl User {
    /// A user whose id is derived from the email (stable across restarts).
    pub fn new(email: &str, first_name: &str, last_name: &str, role: Option<&str>) -> Self {
        let digest = platform::secret::hash_hex(&email.to_ascii_lowercase());
        Self {
            id: format!("user_{}", &digest[..27]),
            email: email.to_owned(),
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            role: role.map(str::to_owned),
            banned: false,
        }
    }

    pub fn public_metadata(&self) -> Value {
        match &self.role {
            Some(role) => json!({ "role": role }),
            None => json!({}),
        }
    }

    fn image_url(&self) -> String {
        format!("https://img.clerk.com/mock/{}.png", self.id)
    }

    /// The Backend API `User` object.
    pub fn to_backend_json(&self) -> Value {
        let email_id = format!("idn_{}", &self.id[5..]);
        json!({
            "id": self.id, "object": "user", "username": null,
            "first_name": self.first_name, "last_name": self.last_name,
            "image_url": self.image_url(), "has_image": false, "profile_image_url": self.image_url(),
            "primary_email_address_id": email_id,
            "email_addresses": [{
                "id": email_id, "object": "email_address", "email_address": self.email,
                "verification": {"status": "verified", "strategy": "email_code"},
                "linked_to": [], "reserved": false, "matches_sso_connection": false,
                "created_at": 1_700_000_000_000u64, "updated_at": 1_700_000_000_000u64
            }],
            "public_metadata": self.public_metadata(), "private_metadata": {}, "unsafe_metadata": {},
            "external_id": null, "banned": self.banned, "locked": false,
            "password_enabled": true, "two_factor_enabled": false,
            "created_at": 1_700_000_000_000u64, "updated_at": 1_700_000_000_000u64,
            "last_sign_in_at": 1_700_000_000_000u64, "last_active_at": 1_700_000_000_000u64
        })
    }

    /// Profile claims as userinfo and the ID token carry them, by scope.
    pub fn claims(&self, scope: &str) -> serde_json::Map<String, Value> {
        let has = |s: &str| scope.split(' ').any(|x| x == s);
        let mut claims = serde_json::Map::new();
        claims.insert("sub".into(), json!(self.id));
        if has("email") {
            claims.insert("email".into(), json!(self.email));
            claims.insert("email_verified".into(), json!(true));
        }
        if has("profile") {
            claims.insert("given_name".into(), json!(self.first_name));
            claims.insert("family_name".into(), json!(self.last_name));
            claims.insert("name".into(), json!(format!("{} {}", self.first_name, self.last_name)));
            claims.insert("picture".into(), json!(self.image_url()));
            claims.insert("preferred_username".into(), json!(self.email.split('@').next()));
        }
        if has("public_metadata") {
            claims.insert("public_metadata".into(), self.public_metadata());
        }
        claims
    }
}

/// The built-in users.
pub fn defaults() -> Vec<User> {
    let mut banned = User::new(BANNED, "Barry", "Banned", None);
    banned.banned = true;
    vec![
        User::new(ADMIN, "Ada", "Admin", Some("admin")),
        User::new(PREMIUM, "Pat", "Premium", Some("premium")),
        User::new(PLAIN, "Uma", "User", None),
        banned,
    ]
}
