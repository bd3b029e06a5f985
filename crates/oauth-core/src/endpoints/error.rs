//! OAuth JSON error responses (RFC 6749 §5.2, RFC 7591 §3.2.2).

use http::StatusCode;
use platform::rate_limit::Limit;
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
    /// What went wrong inside (a store's or Clerk's error, a broken variable): attached for the
    /// component's log (`platform::diagnostic`), never sent, as it may name hosts, ports and internals.
    pub detail: Option<String>,
    /// What the caller sent that the refusal is about (a `grant_type` value, a repeated
    /// parameter's name): the description quotes it back to the caller after our own words,
    /// which the audit trail keeps apart from it ([`OAuthError::quoting`]).
    pub caller_text: Option<String>,
    /// The name of the limit that refused the request ([`OAuthError::rate_limited`]).
    pub limit: Option<&'static str>,
}

/// The description of every 500 `server_error`.
pub const SERVER_ERROR_DESCRIPTION: &str = "the server failed to handle the request; it has been logged";
/// The description of a 503 caused by the store.
pub const STORE_DOWN_DESCRIPTION: &str = "the server's storage is temporarily unavailable; retry later";

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
            detail: None,
            caller_text: None,
            limit: None,
        }
    }

    /// `self` quoting `text`, which the caller sent: the description the caller reads ends
    /// with it (`… is not supported: `password``), while `description` stays our own words.
    pub fn quoting(self, text: &str) -> Self {
        Self { caller_text: Some(text.to_owned()), ..self }
    }

    /// The description as the caller reads it: ours, then what it quotes of theirs.
    pub fn full_description(&self) -> String {
        match &self.caller_text {
            Some(text) => format!("{}: `{text}`", self.description),
            None => self.description.clone(),
        }
    }

    /// `self` with `detail` for the log ([`OAuthError::detail`]).
    pub fn with_detail(self, detail: impl std::fmt::Display) -> Self {
        Self { detail: Some(detail.to_string()), ..self }
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

    /// 429 with `Retry-After`, for a caller past a rate limit. The code is
    /// `temporarily_unavailable`: RFC 6749 registers no code for throttling, and this is the
    /// registered one that means "try again later" (§4.1.2.1), which every client handles
    /// without dropping its registration or tokens (`invalid_client` or `invalid_grant` would
    /// make it start over and come back for more); the 429 and `Retry-After` say the rest.
    pub fn rate_limited(limit: &Limit, retry_after: u64) -> Self {
        Self {
            retry_after: Some(u32::try_from(retry_after).unwrap_or(u32::MAX)),
            limit: Some(limit.name),
            ..Self::new(StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", limit.refusal(retry_after))
        }
    }

    /// 503 `temporarily_unavailable`: the store failed (what it said goes to the log).
    pub fn store(error: &StoreError) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "temporarily_unavailable", STORE_DOWN_DESCRIPTION).with_detail(error)
    }

    /// 500 `server_error`: our own fault (a bug, no randomness), described by
    /// `detail` in the log and generically to the client.
    pub fn server_error(detail: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", SERVER_ERROR_DESCRIPTION).with_detail(detail)
    }

    /// 500 `server_error` for a broken setting: `error` names the variable (never its value),
    /// which the operator needs to see and tells an outsider nothing.
    pub fn misconfigured(error: impl std::fmt::Display) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "server_error", format!("the server is misconfigured: {error}"))
            .with_detail(error)
    }

    /// 421 `invalid_request` for a request to an authority this server does not know it has
    /// ([`web::PublicBaseUrlRequired`]); the description names the variable to set.
    pub fn misdirected(error: &web::PublicBaseUrlRequired) -> Self {
        Self::new(web::PublicBaseUrlRequired::STATUS, "invalid_request", error.to_string())
    }

    /// A failed record operation: 503 when the store failed, 500 for our own bug.
    pub fn record(error: &RecordError) -> Self {
        match error {
            RecordError::Store(e) => Self::store(e),
            other => Self::server_error(other),
        }
    }

    pub fn into_response(self) -> Response {
        let description = self.full_description();
        let mut response = web::json(self.status, &Body { error: self.error, error_description: &description });
        web::append_header(&mut response, "pragma", "no-cache");
        if self.basic_challenge {
            web::append_header(&mut response, "www-authenticate", "Basic realm=\"oauth\", charset=\"UTF-8\"");
        }
        match (self.retry_after, self.status) {
            (Some(seconds), _) => web::append_header(&mut response, "retry-after", &seconds.to_string()),
            (None, StatusCode::SERVICE_UNAVAILABLE) => web::append_header(&mut response, "retry-after", "5"),
            _ => {}
        }
        if let Some(detail) = &self.detail {
            platform::diagnostic::attach(&mut response, &format!("{}: {detail}", self.error));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn description(error: OAuthError) -> String {
        let response = error.into_response();
        let body: serde_json::Value = serde_json::from_slice(response.body()).unwrap_or_default();
        body["error_description"].as_str().unwrap_or_default().to_owned()
    }

    #[test]
    fn internal_failures_are_described_generically_with_the_details_kept_for_the_log() {
        let store = OAuthError::store(&StoreError::Backend("redis://10.0.0.7:6379 refused".into()));
        assert_eq!(store.detail.as_deref(), Some("key-value store error: redis://10.0.0.7:6379 refused"));
        assert_eq!(description(store), STORE_DOWN_DESCRIPTION);
        let bug = OAuthError::server_error("refresh_grace_seconds is not a number");
        assert_eq!(bug.detail.as_deref(), Some("refresh_grace_seconds is not a number"));
        assert_eq!(description(bug), SERVER_ERROR_DESCRIPTION);
    }

    #[test]
    fn client_mistakes_keep_their_description_and_have_nothing_to_log() {
        let mistake = OAuthError::bad_request("invalid_request", "`code` is required");
        assert_eq!(mistake.detail, None);
        assert_eq!(description(mistake), "`code` is required");
    }

    #[test]
    fn quoted_caller_text_follows_our_own_words_on_the_wire_and_stays_apart_from_them() {
        let error = OAuthError::bad_request("unsupported_grant_type", "this grant_type is not supported").quoting("pw");
        assert_eq!(error.description, "this grant_type is not supported");
        assert_eq!(error.caller_text.as_deref(), Some("pw"));
        assert_eq!(description(error), "this grant_type is not supported: `pw`");
    }

    #[test]
    fn a_foreign_host_without_public_base_url_is_a_421_naming_the_variable() {
        let error = OAuthError::misdirected(&web::PublicBaseUrlRequired);
        assert_eq!((error.status.as_u16(), error.error), (421, "invalid_request"));
        assert!(description(error).contains("`public_base_url`"));
    }

    #[test]
    fn a_broken_setting_is_named() {
        let error = OAuthError::misconfigured("the variable refresh_grace_seconds must be a whole number");
        assert_eq!(error.status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            description(error),
            "the server is misconfigured: the variable refresh_grace_seconds must be a whole number"
        );
    }
}
