//! The only place that names the legacy SSE transport's keys (prefix `mcp:sse:`).
//!
//! Session ids travel in URLs, so keys carry only their SHA-256.

use platform::record;
use platform::secret::hash_hex;

const SESSION: &str = "mcp:sse:session:";
const MESSAGE: &str = "mcp:sse:msg:";
const STREAMS: &str = "mcp:sse:streams:";

/// `mcp:sse:session:<sha256(session id)>`: the session (owner, expiry). Its message numbers are
/// counted at `...#seq` (`platform::record::next_number`).
pub fn session(session_id: &str) -> String {
    format!("{SESSION}{}", hash_hex(session_id))
}

/// `mcp:sse:msg:<sha256(session id)>:<number>`: one queued message body.
pub fn message(session_id: &str, number: i64) -> String {
    format!("{MESSAGE}{}:{number}", hash_hex(session_id))
}

/// True for the keys of sessions (and their counters) and messages.
pub fn is_mailbox_key(key: &str) -> bool {
    key.starts_with(SESSION) || key.starts_with(MESSAGE)
}

/// The scope counting every stream ([`super::presence`]).
pub const ALL_STREAMS: &str = "all";

/// The scope counting users' extra streams, those beyond their first few ([`super::presence`]).
pub const EXTRA_STREAMS: &str = "extra";

/// The scope counting one user's streams; the user id appears only hashed.
pub fn user_streams(user_id: &str) -> String {
    format!("user:{}", hash_hex(user_id))
}

/// `mcp:sse:streams:<scope>:<window>#until=<expires_at>`: how many streams of `scope` count
/// themselves in `window` ([`super::presence`]), an expiring counter.
pub fn stream_counter(scope: &str, window: u64, expires_at: u64) -> String {
    record::expiring_counter_key(&format!("{STREAMS}{scope}:{window}"), expires_at)
}

/// True for the stream-counting windows' counters ([`super::presence`]).
pub fn is_stream_counter(key: &str) -> bool {
    key.starts_with(STREAMS)
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
        assert!(is_mailbox_key(&key) && is_mailbox_key(&session(&id)));
        let counter = stream_counter(&user_streams("user_secret_id"), 60_000_000, 1_800_000_030);
        assert!(is_stream_counter(&counter) && !is_mailbox_key(&counter) && !is_stream_counter(&key));
        assert!(!counter.contains("user_secret_id") && counter.len() < 250, "{counter}");
    }
}
