//! The consent form, which stores nothing until it is submitted.
//!
//! A consent page carries what its form stands for in the form itself: the validated request
//! (and, for a consent page shown after sign-in, who signed in), the browser it was shown to, a
//! one-time token and its expiry, sealed (`platform::secret::seal`, ChaCha20-Poly1305) under a key
//! derived from `cookie_encryption_key`. So a `GET /authorize` writes nothing, however often it is
//! called; the page's `handle` field is the sealed form and its `csrf_token` field the one-time
//! token.
//!
//! The post is accepted only from the browser the page was shown to (its browser cookie's hash is
//! sealed inside), within [`CONSENT_TTL`], with the token whose hash is sealed inside, and once:
//! the first post claims the token ([`claim`]): it writes a small tombstone under the token's hash
//! and increments its claim counter (`platform::record::claim`, an atomic increment), so of
//! concurrent posts exactly one wins, on every store, and a replay is told "already used".

use oauth_core::ValidatedAuthorization;
use platform::record::{self, Claim, Helper};
use platform::secret::{self, hash_hex};
use platform::{Clock, KeyValueStore, impl_record};
use serde::{Deserialize, Serialize};

use crate::keys;
use crate::records::TakeError;

/// How long a consent page stays usable.
pub const CONSENT_TTL: u64 = 600;
/// Sealing context of the form (a key derived from the cookie key is used for nothing else).
const SEAL_CONTEXT: &str = "signin:consent-form v1";
/// Longest name of the signed-in user a form carries (Clerk's are far shorter).
const MAX_DISPLAY_NAME: usize = 256;

/// What a consent form stands for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsentForm {
    pub expires_at: u64,
    /// SHA-256 of the browser cookie of the browser that was shown the page.
    pub browser_hash: String,
    /// SHA-256 of the form's one-time `csrf_token`.
    pub csrf_hash: String,
    pub validated: ValidatedAuthorization,
    /// For a consent page shown after Clerk signed the user in (their remembered approval was
    /// not the server's): who that is. Approving then needs no second trip to Clerk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signed_in: Option<SignedInUser>,
}

/// Who Clerk signed in, as a consent form shown after sign-in carries them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedInUser {
    pub user_id: String,
    /// Clerk's session id of the sign-in, kept with the grant.
    pub session_id: Option<String>,
    /// How the page names them (email, else name, else id).
    pub display_name: String,
    /// Their Clerk role, which decides which scopes the page marks as left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The scopes they approved for this app before: the page asks only about the others.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approved_before: Vec<String>,
}

impl SignedInUser {
    pub fn new(props: &oauth_core::UserProps) -> Self {
        let name = [props.first_name.as_deref(), props.last_name.as_deref()].into_iter().flatten().collect::<Vec<_>>();
        let display = match (&props.email, name.is_empty()) {
            (Some(email), _) => email.clone(),
            (None, false) => name.join(" "),
            (None, true) => props.user_id.clone(),
        };
        Self {
            user_id: props.user_id.clone(),
            session_id: props.session_id.clone(),
            display_name: display.chars().take(MAX_DISPLAY_NAME).collect(),
            role: props.role.clone(),
            approved_before: Vec::new(),
        }
    }

    /// This user, who approved `scopes` for the app before.
    pub fn with_approved(self, scopes: Vec<String>) -> Self {
        Self { approved_before: scopes, ..self }
    }
}

impl ConsentForm {
    /// The form's sealed value (the page's `handle` field).
    pub fn seal(&self, cookie_key: &[u8]) -> Result<String, secret::SealError> {
        let json = serde_json::to_vec(self).map_err(|_| secret::SealError::TooLarge)?;
        secret::seal(SEAL_CONTEXT, &hex::encode(cookie_key), &json)
    }

    /// The form behind a sealed `handle`, unless it does not open with this key or has expired.
    pub fn open(cookie_key: &[u8], handle: &str, now: u64) -> Option<Self> {
        let json = secret::unseal(SEAL_CONTEXT, &hex::encode(cookie_key), handle)?;
        serde_json::from_slice::<Self>(&json).ok().filter(|form| now < form.expires_at)
    }

    /// Whether `csrf_token` is this form's one-time token (compared in constant time).
    pub fn has_token(&self, csrf_token: &str) -> bool {
        crate::cookies::same_secret(&hash_hex(csrf_token), &self.csrf_hash)
    }
}

/// The record left by a used consent form, so a replay within its life is refused.
#[derive(Serialize, Deserialize)]
struct Used {
    v: u32,
    expires_at: u64,
}
impl_record!(Used, "used consent form", [Helper::Claim]);

/// Uses up the form whose one-time token is `csrf_token`: `Ok` for exactly one caller, `Used`
/// for every other (concurrent or later), `Missing` once its life is over. The tombstone is
/// written before the claim, by every caller alike, so the claim counter never exists without it.
pub fn claim(
    store: &dyn KeyValueStore,
    clock: &dyn Clock,
    csrf_token: &str,
    form: &ConsentForm,
) -> Result<(), TakeError<()>> {
    let key = keys::used_consent(csrf_token);
    let used = Used { v: record::VERSION, expires_at: form.expires_at };
    record::save(store, &key, &used).map_err(TakeError::Store)?;
    match record::claim(store, clock, &key, &used).map_err(TakeError::Store)? {
        Claim::Won => Ok(()),
        Claim::Lost { .. } => Err(TakeError::Used),
        Claim::Expired => Err(TakeError::Missing),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::{ManualClock, MemoryStore};
    use std::sync::Arc;

    const KEY: &[u8] = &[3u8; 32];

    fn form(expires_at: u64) -> ConsentForm {
        ConsentForm {
            expires_at,
            browser_hash: "b".into(),
            csrf_hash: hash_hex("token"),
            validated: ValidatedAuthorization {
                client_id: "c".into(),
                client_name: Some("Secret <name>".into()),
                client_uri: None,
                logo_uri: None,
                tos_uri: None,
                policy_uri: None,
                redirect_uri: "https://a.example/cb".into(),
                redirect_uri_provided: true,
                state: Some("s".repeat(1024)),
                scope: vec!["mcp".into()],
                code_challenge: "x".into(),
                resource: "https://mcp.example/mcp".into(),
                issuer: "https://mcp.example".into(),
            },
            signed_in: None,
        }
    }

    #[test]
    fn a_sealed_form_opens_only_with_its_key_until_it_expires_and_hides_its_content() {
        let sealed = form(100).seal(KEY).unwrap();
        assert_eq!(ConsentForm::open(KEY, &sealed, 99), Some(form(100)));
        assert_eq!(ConsentForm::open(KEY, &sealed, 100), None, "expired");
        assert_eq!(ConsentForm::open(&[4u8; 32], &sealed, 99), None, "another key");
        let mut tampered = sealed.clone().into_bytes();
        tampered[20] = if tampered[20] == b'A' { b'B' } else { b'A' };
        assert_eq!(ConsentForm::open(KEY, &String::from_utf8(tampered).unwrap(), 99), None, "tampered");
        assert!(!sealed.contains("Secret") && !sealed.contains("a.example"));
        assert!(sealed.len() < 4 * 1024, "a form with the longest state fits easily in a post: {}", sealed.len());
    }

    #[test]
    fn the_one_time_token_is_checked_in_constant_time_against_its_hash() {
        assert!(form(100).has_token("token"));
        assert!(!form(100).has_token("forged"));
    }

    #[test]
    fn a_form_is_claimed_once_and_a_replay_is_used() {
        let (store, clock) = (MemoryStore::new(), ManualClock::at(10));
        assert!(claim(&store, &clock, "token", &form(100)).is_ok());
        assert!(matches!(claim(&store, &clock, "token", &form(100)), Err(TakeError::Used)));
        assert!(claim(&store, &clock, "another", &form(100)).is_ok());
        let keys = store.record_keys();
        assert!(keys.iter().all(|k| k.starts_with("signin:consent:v2:") && !k.contains("token")), "{keys:?}");
    }

    #[test]
    fn of_32_concurrent_claims_exactly_one_wins() {
        for round in 0..10 {
            let store = Arc::new(MemoryStore::new());
            let threads: Vec<_> = (0..32)
                .map(|_| {
                    let store = store.clone();
                    std::thread::spawn(move || claim(&*store, &ManualClock::at(1), "token", &form(100)).is_ok())
                })
                .collect();
            let winners = threads.into_iter().map(|t| t.join().unwrap()).filter(|won| *won).count();
            assert_eq!(winners, 1, "round {round}");
        }
    }

    #[test]
    fn the_signed_in_user_is_named_by_email_then_name_then_id() {
        let mut props = oauth_core::UserProps { user_id: "user_1".into(), ..Default::default() };
        assert_eq!(SignedInUser::new(&props).display_name, "user_1");
        props.first_name = Some("Ada".into());
        props.last_name = Some("Lovelace".into());
        assert_eq!(SignedInUser::new(&props).display_name, "Ada Lovelace");
        props.email = Some("ada@example.com".into());
        props.session_id = Some("sess_1".into());
        let user = SignedInUser::new(&props);
        assert_eq!((user.display_name.as_str(), user.session_id.as_deref()), ("ada@example.com", Some("sess_1")));
    }
}
