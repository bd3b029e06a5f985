//! Remembered approvals, kept by the server per (Clerk user, client): which redirect URIs the
//! user approved for the client, and when, and which scopes (the union of every approval; a
//! request for a scope beyond them shows the consent page again, asking about the new ones). This record, not the browser's approval cookie, decides
//! whether a sign-in may skip the consent page: the cookie only says which browser may skip the
//! page *before* Clerk, and once Clerk says who signed in, their approval must be here and
//! younger than [`APPROVAL_TTL`] for that exact redirect URI. Revoking the client at `/apps`
//! deletes the record, so the client asks again for every redirect URI (every loopback port) and
//! in every browser; another person signing in on the same browser has no record of their own.
//!
//! `signin:approval:v1:<sha256(user id, client id)>`: a few hundred bytes, at most
//! [`MAX_REDIRECT_URIS`] URIs (the oldest go), gone [`APPROVAL_TTL`] after its last approval.
//! Written only after a user signed in with Clerk and approved, at most once per sign-in.

use platform::record::{self, RecordError};
use platform::{Clock, KeyValueStore, impl_record};
use serde::{Deserialize, Serialize};

use oauth_core::rules::scope;

use crate::keys;

/// How long an approval lets a client skip the consent page.
pub const APPROVAL_TTL: u64 = 30 * 24 * 3600;
/// Most redirect URIs one (user, client) record keeps; a client that uses a new loopback port
/// every time pushes the oldest out.
pub const MAX_REDIRECT_URIS: usize = 10;

/// `signin:approval:v1:<sha256(user id \n client id)>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct ApprovalRecord {
    v: u32,
    /// The last approval's expiry (the record goes with it).
    expires_at: u64,
    /// Each approved redirect URI with when it was approved, oldest first.
    redirect_uris: Vec<Approved>,
    /// The scopes approved (`oauth_core::rules::scope`); absent on records of earlier releases,
    /// whose single `mcp` scope stood for every scope.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scopes: Option<Vec<String>>,
}
impl_record!(ApprovalRecord, "approval");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Approved {
    uri: String,
    at: u64,
}

/// Whether `user_id` approved `client_id` with exactly `redirect_uri` less than
/// [`APPROVAL_TTL`] ago (whatever the scopes).
pub fn is_approved(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<bool, RecordError> {
    Ok(approved_scopes(store, clock, user_id, client_id, redirect_uri)?.is_some())
}

/// The scopes `user_id` approved for `client_id`, if they approved it with exactly
/// `redirect_uri` less than [`APPROVAL_TTL`] ago.
pub fn approved_scopes(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    client_id: &str,
    redirect_uri: &str,
) -> Result<Option<Vec<String>>, RecordError> {
    let now = clock.now_unix();
    let record = record::load::<ApprovalRecord>(store, clock, &keys::approval(user_id, client_id))?;
    let approved =
        record.filter(|r| r.redirect_uris.iter().any(|a| a.uri == redirect_uri && now < a.at + APPROVAL_TTL));
    Ok(approved.map(|r| scope::expand(r.scopes.as_deref().unwrap_or(&[scope::ALL.to_owned()]))))
}

/// The scopes of `asked` not in `approved`: what a consent page must still ask about.
pub fn not_yet_approved(asked: &[String], approved: &[String]) -> Vec<String> {
    scope::expand(asked).into_iter().filter(|s| !approved.contains(s)).collect()
}

/// Records that `user_id` just approved `client_id` with `redirect_uri` and `scopes` (added to
/// those approved before).
pub fn remember(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    user_id: &str,
    client_id: &str,
    redirect_uri: &str,
    scopes: &[String],
) -> Result<(), RecordError> {
    let now = clock.now_unix();
    let key = keys::approval(user_id, client_id);
    let existing = record::load::<ApprovalRecord>(store, clock, &key)?;
    let mut approved =
        existing.as_ref().map_or_else(Vec::new, |r| r.scopes.clone().unwrap_or_else(|| vec![scope::ALL.into()]));
    approved.extend_from_slice(scopes);
    let mut uris = existing.map(|r| r.redirect_uris).unwrap_or_default();
    uris.retain(|a| a.uri != redirect_uri && now < a.at + APPROVAL_TTL);
    uris.push(Approved { uri: redirect_uri.to_owned(), at: now });
    let skip = uris.len().saturating_sub(MAX_REDIRECT_URIS);
    let record = ApprovalRecord {
        v: record::VERSION,
        expires_at: now + APPROVAL_TTL,
        redirect_uris: uris.split_off(skip),
        scopes: Some(scope::expand(&approved)),
    };
    record::save(store, &key, &record)
}

/// Forgets every approval of `client_id` by `user_id` (a revocation at `/apps`).
pub fn forget(store: &dyn KeyValueStore, user_id: &str, client_id: &str) -> Result<(), RecordError> {
    record::discard(store, &keys::approval(user_id, client_id))
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};

    const A: &str = "http://127.0.0.1:5000/cb";

    fn all() -> Vec<String> {
        scope::everything()
    }

    const B: &str = "http://127.0.0.1:5001/cb";

    #[test]
    fn an_approval_holds_for_that_user_client_and_exact_redirect_uri() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        remember(&store, &clock, "user_1", "c1", A, &all()).unwrap();
        assert!(is_approved(&store, &clock, "user_1", "c1", A).unwrap());
        assert!(!is_approved(&store, &clock, "user_1", "c1", B).unwrap(), "another port");
        assert!(!is_approved(&store, &clock, "user_2", "c1", A).unwrap(), "another user");
        assert!(!is_approved(&store, &clock, "user_1", "c2", A).unwrap(), "another client");
        let keys = store.record_keys();
        assert!(keys.len() == 1 && !keys[0].contains("user_1") && !keys[0].contains("c1"), "{keys:?}");
    }

    #[test]
    fn each_redirect_uri_expires_thirty_days_after_its_own_approval() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        remember(&store, &clock, "u", "c", A, &all()).unwrap();
        clock.advance(APPROVAL_TTL - 10);
        remember(&store, &clock, "u", "c", B, &all()).unwrap();
        assert!(is_approved(&store, &clock, "u", "c", A).unwrap());
        clock.advance(10);
        assert!(!is_approved(&store, &clock, "u", "c", A).unwrap(), "A's 30 days are over");
        assert!(is_approved(&store, &clock, "u", "c", B).unwrap());
        clock.advance(APPROVAL_TTL);
        assert!(!is_approved(&store, &clock, "u", "c", B).unwrap());
        assert!(store.record_keys().is_empty(), "the expired record is deleted when met");
    }

    #[test]
    fn forgetting_drops_every_redirect_uri_of_the_client_for_that_user_only() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        for uri in [A, B] {
            remember(&store, &clock, "u", "c", uri, &all()).unwrap();
        }
        remember(&store, &clock, "other", "c", A, &all()).unwrap();
        forget(&store, "u", "c").unwrap();
        assert!(
            !is_approved(&store, &clock, "u", "c", A).unwrap() && !is_approved(&store, &clock, "u", "c", B).unwrap()
        );
        assert!(is_approved(&store, &clock, "other", "c", A).unwrap());
    }

    #[test]
    fn a_record_keeps_the_most_recent_redirect_uris() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let uri = |n: usize| format!("http://127.0.0.1:{}/cb", 6000 + n);
        for n in 0..MAX_REDIRECT_URIS + 3 {
            remember(&store, &clock, "u", "c", &uri(n), &all()).unwrap();
            clock.advance(1);
        }
        assert!(!is_approved(&store, &clock, "u", "c", &uri(2)).unwrap());
        assert!(is_approved(&store, &clock, "u", "c", &uri(3)).unwrap());
        remember(&store, &clock, "u", "c", &uri(3), &all()).unwrap();
        assert!(is_approved(&store, &clock, "u", "c", &uri(4)).unwrap(), "approving again moves a URI, not adds it");
    }
    #[test]
    fn approved_scopes_accumulate_and_a_record_of_an_earlier_release_approved_every_scope() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(1_000));
        let uri = "http://127.0.0.1:5000/cb";
        remember(&store, &clock, "u", "c", uri, &[scope::BASIC.to_owned()]).unwrap();
        assert_eq!(approved_scopes(&store, &clock, "u", "c", uri).unwrap(), Some(vec![scope::BASIC.to_owned()]));
        let asked = scope::everything();
        assert_eq!(not_yet_approved(&asked, &[scope::BASIC.to_owned()]), [scope::IMAGES]);
        remember(&store, &clock, "u", "c", uri, &[scope::IMAGES.to_owned()]).unwrap();
        assert_eq!(approved_scopes(&store, &clock, "u", "c", uri).unwrap(), Some(scope::everything()));
        let old = r#"{"v":1,"expires_at":99999999,"redirect_uris":[{"uri":"http://127.0.0.1:5000/cb","at":1000}]}"#;
        store.set(&keys::approval("old", "c"), old.as_bytes()).unwrap();
        assert_eq!(approved_scopes(&store, &clock, "old", "c", uri).unwrap(), Some(scope::everything()));
    }
}
