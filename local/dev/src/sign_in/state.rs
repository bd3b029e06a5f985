//! The provider's mutable state: users, issued codes and tokens, and the signing key.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use super::signing::Signer;
use super::users::{self, User};

/// An authorization code waiting for `/oauth/token`.
#[derive(Debug, Clone)]
pub(crate) struct IssuedCode {
    pub user_id: String,
    pub redirect_uri: String,
    pub code_challenge: String,
    pub nonce: Option<String>,
    pub scope: String,
    pub expires_at: u64,
}

#[derive(Default)]
struct Inner {
    users: Vec<User>,
    codes: HashMap<String, IssuedCode>,
    access_tokens: HashMap<String, (String, String)>,
    next_user: Option<String>,
}

pub(crate) struct State {
    pub issuer: String,
    pub page: bool,
    pub signer: Signer,
    inner: Mutex<Inner>,
}

impl State {
    pub fn new(issuer: String, page: bool) -> anyhow::Result<Self> {
        let inner = Inner { users: users::defaults(), ..Inner::default() };
        Ok(Self { issuer, page, signer: Signer::generate()?, inner: Mutex::new(inner) })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_next_user(&self, email: &str) {
        self.lock().next_user = Some(email.to_owned());
    }

    pub fn user_by_email(&self, email: &str) -> Option<User> {
        self.lock().users.iter().find(|u| u.email.eq_ignore_ascii_case(email)).cloned()
    }
    pub fn user_by_id(&self, id: &str) -> Option<User> {
        self.lock().users.iter().find(|u| u.id == id).cloned()
    }
    pub fn upsert_user(&self, user: User) -> User {
        let mut inner = self.lock();
        inner.users.retain(|u| u.id != user.id && !u.email.eq_ignore_ascii_case(&user.email));
        inner.users.push(user.clone());
        user
    }
    pub fn set_role(&self, email: &str, role: Option<&str>) {
        if let Some(user) = self.lock().users.iter_mut().find(|u| u.email.eq_ignore_ascii_case(email)) {
            user.role = role.map(str::to_owned);
        }
    }
    pub fn delete_user(&self, email: &str) {
        self.lock().users.retain(|u| !u.email.eq_ignore_ascii_case(email));
    }

    /// The user `/oauth/authorize` signs in: `login_hint`, else the chosen next user, else admin.
    pub fn pick_user(&self, login_hint: Option<&str>) -> Option<User> {
        let hinted = login_hint.and_then(|email| self.user_by_email(email));
        let next = self.lock().next_user.clone();
        hinted
            .or_else(|| next.and_then(|email| self.user_by_email(&email)))
            .or_else(|| self.user_by_email(users::ADMIN))
    }

    pub fn store_code(&self, code: String, issued: IssuedCode) {
        self.lock().codes.insert(code, issued);
    }
    /// Single use: the code is gone after this.
    pub fn take_code(&self, code: &str) -> Option<IssuedCode> {
        self.lock().codes.remove(code)
    }
    pub fn store_access_token(&self, token: String, user_id: String, scope: String) {
        self.lock().access_tokens.insert(token, (user_id, scope));
    }
    pub fn access_token(&self, token: &str) -> Option<(String, String)> {
        self.lock().access_tokens.get(token).cloned()
    }
}
