//! The only place that names the legacy SSE transport's keys (prefix `mcp:sse:`).
//!
//! Session ids travel in URLs, so keys carry only their SHA-256.

use platform::secret::hash_hex;

/// `mcp:sse:session:<sha256(session id)>`: the session (owner, expiry, pending messages).
pub fn session(session_id: &str) -> String {
    format!("mcp:sse:session:{}", hash_hex(session_id))
}

/// `mcp:sse:msg:<sha256(session id)>:<message id>`: one queued message body.
pub fn message(session_id: &str, message_id: &str) -> String {
    format!("mcp:sse:msg:{}:{message_id}", hash_hex(session_id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_hide_the_session_id_and_stay_short() {
        let id = "A".repeat(43);
        let key = message(&id, &"B".repeat(43));
        assert!(!session(&id).contains(&id) && !key.contains(&id));
        assert!(key.len() < 250);
        assert_ne!(session(&id), session("other"));
    }
}
