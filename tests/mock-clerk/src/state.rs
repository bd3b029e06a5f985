//! The mock's mutable state: users, issued codes and tokens, the signing key and the switches.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use crate::signing::Signer;
use crate::users::{self, User};

/// A failure mode for every endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Fault {
    #[default]
    None,
    /// Wait this long before answering.
    Slow(Duration),
    /// `503` with an HTML body, like a load balancer in front of a dead service.
    Down,
    /// Accept the connection and close it without answering; a request on a connection opened
    /// earlier (a pooled keep-alive connection) gets its connection closed without an answer too.
    Refused,
    /// `200` with a body that is not what the endpoint promises.
    Malformed,
}

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
    authorize_error: Option<String>,
    fault: Fault,
    hits: HashMap<String, usize>,
}

pub(crate) struct State {
    pub issuer: String,
    pub interactive: bool,
    pub signer: Signer,
    inner: Mutex<Inner>,
}

impl State {
    pub fn new(issuer: String, interactive: bool) -> anyhow::Result<Self> {
        let inner = Inner { users: users::defaults(), ..Inner::default() };
        Ok(Self { issuer, interactive, signer: Signer::generate()?, inner: Mutex::new(inner) })
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn record_hit(&self, path: &str) {
        *self.lock().hits.entry(path.to_owned()).or_default() += 1;
    }
    pub fn hits(&self, path: &str) -> usize {
        self.lock().hits.get(path).copied().unwrap_or(0)
    }
    pub fn fault(&self) -> Fault {
        self.lock().fault
    }
    pub fn set_fault(&self, fault: Fault) {
        self.lock().fault = fault;
    }
    pub fn set_next_user(&self, email: &str) {
        self.lock().next_user = Some(email.to_owned());
    }
    pub fn set_authorize_error(&self, error: Option<String>) {
        self.lock().authorize_error = error;
    }
    pub fn take_authorize_error(&self) -> Option<String> {
        self.lock().authorize_error.take()
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
