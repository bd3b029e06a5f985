//! The one place that names sign-in-flow's key-value records (prefix `signin:`). Handles, states
//! and user ids are secrets or personal, so only their SHA-256 appears in keys.

use platform::secret::hash_hex;

/// The tombstone of a used consent form, behind the form's one-time `csrf_token` (the form itself
/// is sealed and stored nowhere; see `crate::consent`).
pub(crate) fn used_consent(csrf_token: &str) -> String {
    format!("{CONSENT}v2:{}", hash_hex(csrf_token))
}

/// An upstream state (POST /authorize -> Clerk -> GET /callback).
pub(crate) fn upstream(state: &str) -> String {
    format!("{UPSTREAM}v1:{}", hash_hex(state))
}

/// A connected-apps page session (`/apps`), behind the session cookie's value.
pub(crate) fn apps_session(token: &str) -> String {
    format!("{APPS_SESSION}{}", hash_hex(token))
}

/// A user's approvals of one client (`crate::approvals`).
pub(crate) fn approval(user_id: &str, client_id: &str) -> String {
    format!("{APPROVAL}{}", hash_hex(&format!("{user_id}\n{client_id}")))
}

const CONSENT: &str = "signin:consent:";
const UPSTREAM: &str = "signin:upstream:";
const APPS_SESSION: &str = "signin:apps-session:v1:";
const APPROVAL: &str = "signin:approval:v1:";
