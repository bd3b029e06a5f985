//! What can go wrong talking to Clerk, typed so the sign-in flow can map each case to the right
//! OAuth error for the MCP client (`temporarily_unavailable`, `server_error`, `access_denied`).

use platform::{OutboundError, RecordError, VariableError};

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ClerkError {
    /// A Clerk variable is missing or malformed: an operator error, named in the message.
    #[error(transparent)]
    Config(#[from] VariableError),
    /// Clerk could not be reached or did not answer in time.
    #[error("Clerk {what} is unavailable: {source}")]
    Unavailable { what: &'static str, source: OutboundError },
    /// Clerk answered with an unexpected HTTP status (5xx, or a status the endpoint never uses).
    #[error("Clerk {what} answered HTTP {status}")]
    Status { what: &'static str, status: u16 },
    /// Clerk answered, but not with what its API promises.
    #[error("Clerk {what} answered garbage: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// Clerk's token endpoint refused the code (e.g. `invalid_grant`): the sign-in cannot finish.
    #[error("Clerk refused the authorization code: {error}")]
    Rejected { error: String },
    /// The ID token failed a claim check (wrong issuer, audience, nonce, or expired).
    #[error("Clerk's ID token is not acceptable: {0}")]
    InvalidIdToken(String),
    /// The Backend API rejected `clerk_secret_key` (401): a configuration error.
    #[error("Clerk's Backend API rejected clerk_secret_key (HTTP 401)")]
    BackendUnauthorized,
    /// The user no longer exists, or is banned or locked: they must not get (or keep) access.
    #[error("Clerk user {user_id} is {reason}")]
    UserGone { user_id: String, reason: &'static str },
    /// The key-value store failed while caching discovery.
    #[error(transparent)]
    Store(#[from] RecordError),
}

impl ClerkError {
    /// A short code for logs and the audit trail: Clerk's own error code when it refused the
    /// code, else what kind of failure it was.
    pub fn code(&self) -> &str {
        match self {
            ClerkError::Config(_) => "clerk_misconfigured",
            ClerkError::Unavailable { .. } => "clerk_unavailable",
            ClerkError::Status { .. } => "clerk_http_status",
            ClerkError::Malformed { .. } => "clerk_malformed_answer",
            ClerkError::Rejected { error } => error,
            ClerkError::InvalidIdToken(_) => "invalid_id_token",
            ClerkError::BackendUnauthorized => "clerk_secret_key_rejected",
            ClerkError::UserGone { .. } => "user_gone",
            ClerkError::Store(_) => "store_unavailable",
        }
    }

    /// The description, fit for a log: like `Display`, except that what was wrong with an
    /// unparsable answer is left out (a parse error may quote the answer, tokens included).
    pub fn log_detail(&self) -> String {
        match self {
            ClerkError::Malformed { what, .. } => format!("Clerk {what} answered something unreadable"),
            other => other.to_string(),
        }
    }

    /// True when retrying later may succeed (Clerk down or slow, or a 5xx), as opposed to a
    /// configuration problem or an answer that will not change.
    pub fn is_temporary(&self) -> bool {
        match self {
            // A denied host or network, or an unbuildable request, is configuration, not an outage.
            ClerkError::Unavailable { source, .. } => !matches!(
                source,
                OutboundError::Denied { .. } | OutboundError::InvalidRequest(_) | OutboundError::Prohibited { .. }
            ),
            ClerkError::Status { status, .. } => *status >= 500,
            ClerkError::Store(e) => e.is_temporary(),
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_temporary_but_denied_hosts_are_not() {
        let unavailable = |source| ClerkError::Unavailable { what: "x", source };
        assert!(unavailable(OutboundError::Timeout { host: "h".into() }).is_temporary());
        assert!(unavailable(OutboundError::Unreachable { host: "h".into(), reason: "r".into() }).is_temporary());
        assert!(!unavailable(OutboundError::Denied { host: "h".into() }).is_temporary());
        assert!(ClerkError::Status { what: "x", status: 502 }.is_temporary());
        assert!(!ClerkError::Status { what: "x", status: 418 }.is_temporary());
        assert!(!ClerkError::InvalidIdToken("x".into()).is_temporary());
    }

    #[test]
    fn log_details_never_quote_an_unreadable_answer() {
        let garbage =
            ClerkError::Malformed { what: "token endpoint", reason: "invalid type: string \"eyJ-token\"".into() };
        assert_eq!(garbage.code(), "clerk_malformed_answer");
        assert!(!garbage.log_detail().contains("eyJ-token"), "{}", garbage.log_detail());
        let refused = ClerkError::Rejected { error: "invalid_grant".into() };
        assert_eq!(
            (refused.code(), refused.log_detail().as_str()),
            ("invalid_grant", "Clerk refused the authorization code: invalid_grant")
        );
    }
}
