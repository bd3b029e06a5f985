//! The stream's access, checked again while it lives.
//!
//! A `GET /sse` stream is authorised once, when it opens, but may stay open for
//! `sse_max_seconds`. Revoking the grant (`POST /revoke`, `/apps`, a refresh-token replay)
//! deletes its access tokens, so the stream reads its own token's record again every
//! [`SseSettings::token_check_interval`](crate::settings::SseSettings::token_check_interval) (one
//! key-value read, the read `/mcp` makes per call) and ends once the token is gone or has
//! expired. A store that fails the read leaves the stream open until the next check.

use oauth_core::TokenError;
use platform::{Clock, KeyValueStore};
use std::time::Duration;

/// The bearer token a stream was opened with, and when it was last found valid.
pub struct StreamAccess {
    token: String,
    /// The MCP resource the token must be for (`<base>/mcp`).
    resource: String,
    every: Duration,
    checked_at: Duration,
}

impl StreamAccess {
    /// `token` was checked (for `resource`) when the stream opened, at stream time zero.
    pub fn new(token: String, resource: String, every: Duration) -> Self {
        Self { token, resource, every, checked_at: Duration::ZERO }
    }

    /// Whether the stream may go on at `elapsed` (stream time): false once a check, due every
    /// `every`, finds the token revoked, expired or unknown.
    pub fn still_valid(&mut self, store: &dyn KeyValueStore, clock: &dyn Clock, elapsed: Duration) -> bool {
        if elapsed.saturating_sub(self.checked_at) < self.every {
            return true;
        }
        self.checked_at = elapsed;
        match oauth_core::verify_access_token(store, clock, &self.token, &self.resource) {
            Ok(_) | Err(TokenError::Store(_)) => true,
            Err(_) => false,
        }
    }
}
