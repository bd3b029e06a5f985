//! The one place that names sign-in-flow's key-value records (prefix `signin:`). Handles and
//! states are secrets, so only their SHA-256 appears in keys.

use platform::secret::hash_hex;

/// A consent handle (GET /authorize -> POST /authorize).
pub(crate) fn consent(handle: &str) -> String {
    format!("signin:consent:v1:{}", hash_hex(handle))
}

/// An upstream state (POST /authorize -> Clerk -> GET /callback).
pub(crate) fn upstream(state: &str) -> String {
    format!("signin:upstream:v1:{}", hash_hex(state))
}

/// A connected-apps page session (`/apps`), behind the session cookie's value.
pub(crate) fn apps_session(token: &str) -> String {
    format!("{APPS_SESSION}{}", hash_hex(token))
}

const APPS_SESSION: &str = "signin:apps-session:v1:";
