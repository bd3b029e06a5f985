//! The token endpoint's model: exchanging codes, refreshing, verifying and revoking tokens.

mod exchange;
mod issue;
mod refresh;
mod revoke;
mod verify;

pub use exchange::{CodeExchange, exchange_code};
pub use refresh::{RefreshRequest, refresh};
pub use revoke::{TokenTypeHint, revoke_token};
pub use verify::{TokenError, verify_access_token};

use platform::StoreError;
use platform::secret::RandomError;
use serde::Serialize;

/// A successful token response (RFC 6749 §5.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TokenResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: u64,
    pub refresh_token: String,
    pub scope: String,
}

/// Why a token request was refused; [`GrantError::code`] is the RFC 6749 §5.2 error.
#[derive(Debug, thiserror::Error)]
pub enum GrantError {
    #[error("{0}")]
    InvalidRequest(String),
    #[error("{0}")]
    InvalidGrant(String),
    #[error("{0}")]
    InvalidScope(String),
    #[error("the resource is not this MCP server or not the one the grant is for")]
    InvalidTarget,
    #[error("the client is not allowed to use this grant type")]
    UnauthorizedClient,
    /// The user directory (Clerk) is down; retry later with the same refresh token.
    #[error("{0}")]
    TemporarilyUnavailable(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Random(#[from] RandomError),
}

impl GrantError {
    pub(crate) fn invalid_grant(description: &str) -> Self {
        GrantError::InvalidGrant(description.to_owned())
    }

    /// The OAuth error code.
    pub fn code(&self) -> &'static str {
        match self {
            GrantError::InvalidRequest(_) => "invalid_request",
            GrantError::InvalidGrant(_) => "invalid_grant",
            GrantError::InvalidScope(_) => "invalid_scope",
            GrantError::InvalidTarget => "invalid_target",
            GrantError::UnauthorizedClient => "unauthorized_client",
            GrantError::TemporarilyUnavailable(_) | GrantError::Store(_) => "temporarily_unavailable",
            GrantError::Random(_) => "server_error",
        }
    }

    /// The HTTP status: 400 for client mistakes, 503/500 for our own failures.
    pub fn status(&self) -> u16 {
        match self {
            GrantError::TemporarilyUnavailable(_) | GrantError::Store(_) => 503,
            GrantError::Random(_) => 500,
            _ => 400,
        }
    }
}
