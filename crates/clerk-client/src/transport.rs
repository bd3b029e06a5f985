//! Sending one request to Clerk with the timeout, and turning transport failures and oversized
//! answers into [`ClerkError`]s.

use platform::HttpClient;
use platform::outbound::{Request, Response};

use crate::{CLERK_TIMEOUT, ClerkError, MAX_RESPONSE_BYTES};

/// Sends `request`; `what` names the Clerk endpoint in errors.
pub(crate) async fn send(http: &dyn HttpClient, request: Request, what: &'static str) -> Result<Response, ClerkError> {
    let response =
        http.send(request, CLERK_TIMEOUT).await.map_err(|source| ClerkError::Unavailable { what, source })?;
    if response.body().len() > MAX_RESPONSE_BYTES {
        return Err(ClerkError::Malformed { what, reason: "response too large".into() });
    }
    Ok(response)
}

/// A GET with `Accept: application/json` and an optional bearer token.
pub(crate) async fn get(
    http: &dyn HttpClient,
    url: &str,
    bearer: Option<&str>,
    what: &'static str,
) -> Result<Response, ClerkError> {
    let mut builder = http::Request::get(url).header("accept", "application/json");
    if let Some(token) = bearer {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    let request = builder
        .body(Vec::new())
        .map_err(|e| ClerkError::Malformed { what, reason: format!("cannot build request: {e}") })?;
    send(http, request, what).await
}

/// Parses a JSON body, calling anything unparsable garbage.
pub(crate) fn json<T: serde::de::DeserializeOwned>(response: &Response, what: &'static str) -> Result<T, ClerkError> {
    serde_json::from_slice(response.body()).map_err(|e| ClerkError::Malformed { what, reason: e.to_string() })
}
