//! The connected-apps page's sessions: a random token in a `__Host-` cookie (HttpOnly, Secure,
//! SameSite=Lax, 15 minutes), standing for a server-side record of who signed in. The record,
//! not the cookie, is the session: signing out deletes it, and an expired one is deleted when
//! met (or by the expiry index's sweep). Only `/apps` reads this cookie.
//!
//! Forms carry a CSRF token derived from the session (HMAC-SHA256 with the cookie key), so it
//! needs no storage and dies with the session.
//!
//! The record also carries a one-time notice for the page ("Access revoked."): set by the
//! request that revoked, shown and cleared by the next page of that session, so no link can
//! show it to anyone else.

use oauth_core::UserProps;
use platform::record::{self, RecordError};
use platform::secret::{RandomError, random_token};
use platform::web::Request;
use platform::{Clock, KeyValueStore, impl_record};
use serde::{Deserialize, Serialize};

use crate::{cookies, keys};

pub const SESSION_COOKIE: &str = "__Host-mcp-apps";
/// A session lasts this long from sign-in, however it is used.
pub const SESSION_TTL: u64 = 15 * 60;
/// Longest stored name or email (Clerk's are far shorter; this bounds the record).
const MAX_TEXT: usize = 256;
/// Domain separation for the CSRF MAC.
const CSRF_CONTEXT: &[u8] = b"mcp-clerk-oauth apps csrf v1\n";

/// `signin:apps-session:v1:<sha256(token)>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SessionRecord {
    v: u32,
    expires_at: u64,
    user_id: String,
    email: Option<String>,
    name: Option<String>,
    /// The user's Clerk role at sign-in (`public_metadata.role`): what the operator console
    /// checks against `admin_roles`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    role: Option<String>,
    /// The page's next view says "Access revoked." once.
    #[serde(default, skip_serializing_if = "is_false")]
    revoked_notice: bool,
}
impl_record!(SessionRecord, "connected-apps session");

fn is_false(value: &bool) -> bool {
    !value
}

/// A live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The cookie's value (only its hash is stored).
    token: String,
    pub user_id: String,
    pub email: Option<String>,
    pub name: Option<String>,
    /// The user's Clerk role when they signed in.
    pub role: Option<String>,
    pub expires_at: u64,
    /// A revocation of this session awaits its notice on the page.
    pub revoked_notice: bool,
}

impl Session {
    /// Who is signed in, as the page names them.
    pub fn display_name(&self) -> &str {
        self.email.as_deref().or(self.name.as_deref()).unwrap_or(&self.user_id)
    }

    /// `Set-Cookie` for this session.
    pub fn set_cookie(&self) -> String {
        cookies::set_cookie(SESSION_COOKIE, &self.token, SESSION_TTL)
    }

    /// The CSRF token this session's forms carry.
    pub fn csrf_token(&self, key: &[u8]) -> String {
        cookies::form_token(key, CSRF_CONTEXT, &self.token)
    }

    /// Whether `presented` is this session's CSRF token (compared in constant time).
    pub fn csrf_matches(&self, key: &[u8], presented: &str) -> bool {
        cookies::form_token_matches(key, CSRF_CONTEXT, &self.token, presented)
    }

    fn record(&self, revoked_notice: bool) -> SessionRecord {
        SessionRecord {
            v: record::VERSION,
            expires_at: self.expires_at,
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            revoked_notice,
        }
    }
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie() -> String {
    cookies::set_cookie(SESSION_COOKIE, "", 0)
}

/// Why a session could not be started.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Store(#[from] RecordError),
}

/// Starts a session for the user Clerk just signed in.
pub fn start(store: &dyn KeyValueStore, clock: &dyn Clock, props: &UserProps) -> Result<Session, StartError> {
    let token = random_token()?;
    let name = [props.first_name.as_deref(), props.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
    let record = SessionRecord {
        v: record::VERSION,
        expires_at: clock.now_unix() + SESSION_TTL,
        user_id: props.user_id.clone(),
        email: props.email.as_deref().map(capped),
        name: (!name.is_empty()).then(|| capped(&name.join(" "))),
        role: props.role.as_deref().map(capped),
        revoked_notice: false,
    };
    record::save(store, &keys::apps_session(&token), &record)?;
    Ok(from_record(token, record))
}

/// The live session the request's cookie names, if any.
pub fn current(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    request: &Request,
) -> Result<Option<Session>, RecordError> {
    let Some(token) = cookies::random_token_cookie(request, SESSION_COOKIE) else {
        return Ok(None);
    };
    let found = record::load::<SessionRecord>(store, clock, &keys::apps_session(&token))?;
    Ok(found.filter(|r| !r.user_id.is_empty()).map(|r| from_record(token, r)))
}

/// Sets or clears the session's one-time "Access revoked." notice (the session's record keeps
/// its expiry).
pub fn set_revoked_notice(store: &dyn KeyValueStore, session: &Session, on: bool) -> Result<(), RecordError> {
    record::save(store, &keys::apps_session(&session.token), &session.record(on))
}

/// Ends the session (sign out): its record is deleted, so the cookie is worthless everywhere.
pub fn end(store: &dyn KeyValueStore, session: &Session) -> Result<(), RecordError> {
    record::discard(store, &keys::apps_session(&session.token))
}

fn from_record(token: String, record: SessionRecord) -> Session {
    Session {
        token,
        user_id: record.user_id,
        email: record.email,
        name: record.name,
        role: record.role,
        expires_at: record.expires_at,
        revoked_notice: record.revoked_notice,
    }
}

fn capped(text: &str) -> String {
    text.chars().take(MAX_TEXT).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};

    const KEY: &[u8] = &[9u8; 32];

    fn request_with(set_cookie: &str) -> Request {
        let pair = set_cookie.split(';').next().unwrap();
        http::Request::builder().header("cookie", pair).body(Vec::new()).unwrap()
    }

    fn props() -> UserProps {
        UserProps {
            user_id: "user_1".into(),
            email: Some("a@example.com".into()),
            first_name: Some("Ada".into()),
            last_name: Some("L".repeat(1000)),
            ..UserProps::default()
        }
    }

    #[test]
    fn a_session_is_found_by_its_cookie_until_it_expires() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let session = start(&store, &clock, &props()).unwrap();
        let request = request_with(&session.set_cookie());
        assert_eq!(current(&store, &clock, &request).unwrap(), Some(session.clone()));
        assert_eq!(session.display_name(), "a@example.com");
        assert_eq!(session.name.as_ref().map(|n| n.chars().count()), Some(MAX_TEXT), "stored text is capped");
        assert!(store.keys().iter().all(|k| !k.contains(&session.token)), "only the hash is stored");
        clock.advance(SESSION_TTL);
        assert_eq!(current(&store, &clock, &request).unwrap(), None);
        assert!(store.record_keys().is_empty(), "the expired session is deleted when met");
    }

    #[test]
    fn a_session_ends_when_signed_out_and_unknown_cookies_are_no_session() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let session = start(&store, &clock, &props()).unwrap();
        end(&store, &session).unwrap();
        assert_eq!(current(&store, &clock, &request_with(&session.set_cookie())).unwrap(), None);
        let forged = format!("{SESSION_COOKIE}={}", "A".repeat(43));
        assert_eq!(current(&store, &clock, &request_with(&forged)).unwrap(), None);
        assert_eq!(current(&store, &clock, &request_with(&format!("{SESSION_COOKIE}=short"))).unwrap(), None);
    }

    #[test]
    fn the_session_cookie_is_host_only_secure_http_only_lax_and_short() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let set = start(&store, &clock, &props()).unwrap().set_cookie();
        assert!(set.starts_with("__Host-mcp-apps="));
        for attribute in ["Path=/", "Secure", "HttpOnly", "SameSite=Lax", "Max-Age=900"] {
            assert!(set.contains(attribute), "{attribute} in {set}");
        }
        assert!(!set.contains("Domain"));
        assert!(clear_cookie().contains("Max-Age=0"));
    }

    #[test]
    fn the_revoked_notice_is_kept_in_the_record_until_cleared() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let session = start(&store, &clock, &props()).unwrap();
        let request = request_with(&session.set_cookie());
        set_revoked_notice(&store, &session, true).unwrap();
        let found = current(&store, &clock, &request).unwrap().unwrap();
        assert!(found.revoked_notice);
        assert_eq!(found.expires_at, session.expires_at, "the session keeps its expiry");
        set_revoked_notice(&store, &found, false).unwrap();
        assert_eq!(current(&store, &clock, &request).unwrap(), Some(session));
    }

    #[test]
    fn csrf_tokens_belong_to_one_session_and_one_key() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let (a, b) = (start(&store, &clock, &props()).unwrap(), start(&store, &clock, &props()).unwrap());
        let token = a.csrf_token(KEY);
        assert!(a.csrf_matches(KEY, &token));
        assert!(!b.csrf_matches(KEY, &token), "another session");
        assert!(!a.csrf_matches(&[1u8; 32], &token), "another key");
        assert!(!a.csrf_matches(KEY, ""));
    }
}
