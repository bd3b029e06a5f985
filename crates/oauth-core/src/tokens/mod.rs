//! The token endpoint's model: exchanging codes, refreshing, verifying and revoking tokens.

mod exchange;
mod issue;
mod refresh;
mod revoke;
mod rotation;
mod verify;

pub use exchange::{CodeExchange, exchange_code};
pub use refresh::{RefreshRequest, refresh};
pub use revoke::{Revoked, TokenTypeHint, revoke_token};
pub use rotation::{GraceError, Rotation};
pub use verify::{TokenError, verify_access_token};

use platform::RecordError;
use platform::rate_limit::Limit;
use platform::secret::{RandomError, SealError};
use serde::Serialize;

/// What a blocked client is told at `/token`.
const CLIENT_BLOCKED: &str = "this client was blocked by the server's operator";

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: String,
}

/// A successful token answer and what it was for (the grant, and the user when this answer
/// minted the tokens), so the endpoint can record it in the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    pub response: TokenResponse,
    pub grant_id: String,
    /// `None` when the answer repeats a rotation's answer within the grace window.
    pub user_id: Option<String>,
}

/// Why a token request was refused; [`GrantError::code`] is the RFC 6749 §5.2 error.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    /// An authorization code presented again: its grant has been revoked (`invalid_grant`).
    #[error("the authorization code was already used")]
    CodeReplayed { grant_id: String },
    /// A rotated refresh token presented after its grace window: the grant has been revoked
    /// (`invalid_grant`).
    #[error("{message}")]
    RefreshReplayed { grant_id: String, message: &'static str },
    #[error("{0}")]
    InvalidScope(String),
    #[error("the resource is not this MCP server or not the one the grant is for")]
    InvalidTarget,
    #[error("the client is not allowed to use this grant type")]
    UnauthorizedClient,
    /// The user directory (Clerk) is down; retry later with the same refresh token.
    #[error("{0}")]
    TemporarilyUnavailable(String),
    /// Another presentation of the same refresh token is rotating it right now; retry in a
    /// moment with the same token to get that rotation's answer.
    #[error("this refresh token is being rotated by a concurrent request; retry with the same token")]
    RotationInFlight,
    /// The grant was refreshed as often as `limit` allows in this window; the refresh token
    /// stays unused, for a retry once the window ends.
    #[error("{}", .limit.refusal(*.retry_after))]
    RateLimited { grant_id: String, limit: Limit, retry_after: u64 },
    #[error(transparent)]
    Store(#[from] RecordError),
    #[error(transparent)]
    Random(#[from] RandomError),
    #[error(transparent)]
    Seal(#[from] SealError),
}

impl GrantError {
    pub(crate) fn invalid_grant(description: &str) -> Self {
        GrantError::InvalidGrant(description.to_owned())
    }

    /// The OAuth error code.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidGrant(_) | GrantError::CodeReplayed { .. } | GrantError::RefreshReplayed { .. } => {
                "invalid_grant"
            }
            GrantError::InvalidScope(_) => "invalid_scope",
            GrantError::InvalidTarget => "invalid_target",
            GrantError::UnauthorizedClient => "unauthorized_client",
            GrantError::TemporarilyUnavailable(_) | GrantError::RotationInFlight | GrantError::RateLimited { .. } => {
                "temporarily_unavailable"
            }
            GrantError::Store(e) if e.is_temporary() => "temporarily_unavailable",
            GrantError::Store(_) | GrantError::Random(_) | GrantError::Seal(_) => "server_error",
        }
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use platform::{Clock, KeyValueStore};

    use super::TokenResponse;
    use super::issue::{Issue, commit, mint};
    use crate::records::GrantRecord;

    /// What the winner of a code's claim does next: mint a pair for `grant` and commit it.
    pub fn issue_for(store: &dyn KeyValueStore, clock: &dyn Clock, grant: &GrantRecord) -> TokenResponse {
        let issue = Issue { scope: grant.scope.clone(), props: grant.props.clone(), previous_refresh: None };
        let minted = mint(store, clock, grant, &issue).unwrap();
        commit(store, clock, grant, issue, &minted).unwrap();
        minted.response
    }
}
