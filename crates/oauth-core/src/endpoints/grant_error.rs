//! A refused grant ([`GrantError`], the model's reason) as the token endpoint answers it: its
//! HTTP status, the description the client reads, and `Retry-After`.

use http::StatusCode;

use super::error::{OAuthError, SERVER_ERROR_DESCRIPTION, STORE_DOWN_DESCRIPTION};
use crate::tokens::GrantError;

/// The client's side of a refused grant; an internal failure is described generically and its
/// details go to the log ([`OAuthError::detail`]).
pub(crate) fn answer(error: GrantError) -> OAuthError {
    let answer = match internal_cause(&error) {
        Some(generic) => OAuthError::new(status(&error), error.code(), generic).with_detail(&error),
        None => OAuthError::new(status(&error), error.code(), error.to_string()),
    };
    OAuthError { retry_after: retry_after(&error), ..answer }
}

/// 400 for client mistakes, 429 past a limit, 503/500 for our own failures.
pub(crate) fn status(error: &GrantError) -> StatusCode {
    if matches!(error, GrantError::RateLimited { .. }) {
        return StatusCode::TOO_MANY_REQUESTS;
    }
    match error.code() {
        "temporarily_unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "server_error" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// For a failure inside the server or behind it (the store, Clerk, randomness, sealing), the
/// generic description the client gets instead of the error's text, which may name hosts, ports
/// and internals. `None` for the client's own mistakes and for a rotation in flight, whose text
/// tells the client what to do.
fn internal_cause(error: &GrantError) -> Option<&'static str> {
    match error {
        GrantError::TemporarilyUnavailable(_) => {
            Some("the user directory is temporarily unavailable; retry later with the same token")
        }
        GrantError::Store(e) if e.is_temporary() => Some(STORE_DOWN_DESCRIPTION),
        GrantError::Store(_) | GrantError::Random(_) | GrantError::Seal(_) => Some(SERVER_ERROR_DESCRIPTION),
        _ => None,
    }
}

/// Seconds a client should wait before retrying (`Retry-After`), for retryable errors.
fn retry_after(error: &GrantError) -> Option<u32> {
    match error {
        GrantError::RotationInFlight => Some(1),
        GrantError::RateLimited { retry_after, .. } => Some(u32::try_from(*retry_after).unwrap_or(u32::MAX)),
        _ if status(error) == StatusCode::SERVICE_UNAVAILABLE => Some(5),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_behind_the_server_get_a_generic_description_client_mistakes_their_own() {
        let clerk_down = GrantError::TemporarilyUnavailable("could not reach 127.0.0.1: ConnectionRefused".into());
        assert_eq!(clerk_down.code(), "temporarily_unavailable");
        assert!(internal_cause(&clerk_down).is_some_and(|d| !d.contains("127.0.0.1")));
        let store_down = GrantError::Store(platform::RecordError::Store(platform::StoreError::Backend("x".into())));
        assert_eq!(internal_cause(&store_down), Some(STORE_DOWN_DESCRIPTION));
        assert_eq!(internal_cause(&GrantError::invalid_grant("unknown or expired refresh token")), None);
        assert_eq!(internal_cause(&GrantError::RotationInFlight), None, "its text tells the client to retry");
    }
}
