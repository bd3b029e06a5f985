//! The only place that names the legacy SSE transport's keys (prefix `mcp:sse:`).
//!
//! Session ids travel in URLs, so keys carry only their SHA-256.

use platform::secret::hash_hex;

const SESSION: &str = "mcp:sse:session:";
const MESSAGE: &str = "mcp:sse:msg:";

/// The prefix of the hourly sweep's turn counters ([`super::mailbox::sweep_if_due`]).
pub const SWEEP_MARKER: &str = "mcp:sweep:";

/// `mcp:sse:session:<sha256(session id)>`: the session (owner, expiry). Its message numbers are
/// counted at `...#seq` (`platform::record::next_number`).
pub fn session(session_id: &str) -> String {
    format!("{SESSION}{}", hash_hex(session_id))
}

/// `mcp:sse:msg:<sha256(session id)>:<number>`: one queued message body.
pub fn message(session_id: &str, number: i64) -> String {
    format!("{MESSAGE}{}:{number}", hash_hex(session_id))
}

/// True for the keys of sessions (and their counters) and messages, which the sweep visits.
pub fn is_mailbox_key(key: &str) -> bool {
    key.starts_with(SESSION) || key.starts_with(MESSAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_the_session_id_and_stay_short() {
        let id = "A".repeat(43);
        let key = message(&id, i64::MAX);
        assert!(!session(&id).contains(&id) && !key.contains(&id));
        assert!(key.len() < 250);
        assert_ne!(session(&id), session("other"));
        assert!(is_mailbox_key(&key) && is_mailbox_key(&session(&id)) && !is_mailbox_key(SWEEP_MARKER));
    }
}
