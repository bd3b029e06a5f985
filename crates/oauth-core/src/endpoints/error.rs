//! OAuth JSON error responses (RFC 6749 §5.2, RFC 7591 §3.2.2).

use http::StatusCode;
use platform::web::{self, Response};
use platform::{RecordError, StoreError};
use serde::Serialize;

/// An error response: status, `error`, `error_description`, and whether to challenge for HTTP
/// Basic (RFC 6749 §5.2: `invalid_client` after a Basic attempt must be 401 with the header).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: StatusCode,
    pub error: &'static str,
    pub description: String,
    pub basic_challenge: bool,
    /// `Retry-After` seconds; 503 answers without one get 5.
    pub retry_after: Option<u32>,
    /// What the operator's log should say about it (`platform::diagnostic`), never sent.
    pub diagnostic: Option<String>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    pub fn new(status: StatusCode, error: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            error,
            description: description.into(),
            basic_challenge: false,
            retry_after: None,
            diagnostic: None,
        }
    }

    /// The same error, with a line for the operator's log.
    pub fn logged(self, diagnostic: String) -> Self {
        Self { diagnostic: Some(diagnostic), ..self }
    }

    pub fn bad_request(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, description)
    }

    /// `invalid_client`, 401; with a Basic challenge when the client tried Basic.
    pub fn invalid_client(basic_challenge: bool) -> Self {
        Self {
            basic_challenge,
            ..Self::new(StatusCode::UNAUTHORIZED, "invalid_client", "client authentication failed")
        }
    }

    pub fn store(error: &StoreError) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            format!("storage is unavailable: {error}"),
        )
    }

    /// 500 `server_error`: our own fault (a bug or a broken configuration).
    pub fn server_error(description: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", description)
    }

    /// A failed record operation: 503 when the store failed, 500 for our own bug.
    pub fn record(error: &RecordError) -> Self {
        match error {
            RecordError::Store(e) => Self::store(e),
            other => Self::server_error(other.to_string()),
        }
    }

    pub fn into_response(self) -> Response {
        let mut response = web::json(self.status, &Body { error: self.error, error_description: &self.description });
        web::append_header(&mut response, "pragma", "no-cache");
        if self.basic_challenge {
            web::append_header(&mut response, "www-authenticate", "Basic realm=\"oauth\", charset=\"UTF-8\"");
        }
        match (self.retry_after, self.status) {
            (Some(seconds), _) => web::append_header(&mut response, "retry-after", &seconds.to_string()),
            (None, StatusCode::SERVICE_UNAVAILABLE) => web::append_header(&mut response, "retry-after", "5"),
            _ => {}
        }
        if let Some(line) = &self.diagnostic {
            platform::diagnostic::attach(&mut response, line);
        }
        response
    }
}

impl From<StoreError> for OAuthError {
    fn from(error: StoreError) -> Self {
        OAuthError::store(&error)
    }
}

impl From<RecordError> for OAuthError {
    fn from(error: RecordError) -> Self {
        OAuthError::record(&error)
    }
}
