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

/// The prefix of the hourly sweep's turn counters ([`crate::sweep`]).
pub(crate) const SWEEP_MARKER: &str = "signin:sweep:";

/// True for the keys of sign-in records and their claim counters (not the sweep's turns).
pub(crate) fn is_record(key: &str) -> bool {
    key.starts_with("signin:consent:") || key.starts_with("signin:upstream:") || key.starts_with(APPS_SESSION)
}
