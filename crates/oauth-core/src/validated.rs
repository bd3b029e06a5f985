//! A validated authorization request: what the consent page shows, what the sign-in flow keeps
//! server-side between consent and Clerk's callback, and where errors go once the client and
//! its redirect URI are trusted (RFC 6749 §4.1.2.1, RFC 9207).

use serde::{Deserialize, Serialize};

use crate::rules::redirect_uri;

/// A validated authorization request: what the consent page shows and what
/// [`crate::complete_authorization`] needs. Serialisable so the sign-in flow can keep it server-side
/// between consent and Clerk's callback.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidatedAuthorization {
    pub client_id: String,
    /// `client_name` as registered (untrusted text: escape it).
    pub client_name: Option<String>,
    pub client_uri: Option<String>,
    pub logo_uri: Option<String>,
    pub tos_uri: Option<String>,
    pub policy_uri: Option<String>,
    /// The redirect URI the code goes to (checked against the registration).
    pub redirect_uri: String,
    /// Whether the request named `redirect_uri` (then `/token` must repeat it).
    pub redirect_uri_provided: bool,
    /// The client's `state`, returned unchanged.
    pub state: Option<String>,
    /// The scopes asked for (no scope or `mcp`: every scope), before the user's role decides
    /// which of them are granted (see [`crate::rules::scope`]).
    pub scope: Vec<String>,
    /// PKCE S256 challenge.
    pub code_challenge: String,
    /// The canonical resource the tokens will be bound to (`<base>/mcp`).
    pub resource: String,
    /// Our issuer identifier (the base URL), sent back as `iss`.
    pub issuer: String,
}

impl ValidatedAuthorization {
    /// The redirect URI's host, which the consent page must show.
    pub fn redirect_host(&self) -> String {
        redirect_uri::display_host(&self.redirect_uri)
    }

    /// True when the redirect goes to a loopback address (the consent page warns).
    pub fn redirect_is_loopback(&self) -> bool {
        redirect_uri::is_loopback(&self.redirect_uri)
    }

    /// An error redirect to this client (`access_denied`, `server_error`, ...).
    pub fn error_redirect(&self, error: &str, description: &str) -> String {
        ErrorRedirect {
            client_id: self.client_id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            error: error.to_owned(),
            error_description: description.to_owned(),
            state: self.state.clone(),
            iss: self.issuer.clone(),
        }
        .location()
    }
}

/// An OAuth error to send back to a client's registered redirect URI (once it is trusted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorRedirect {
    /// The client the redirect URI is registered for.
    pub client_id: String,
    pub redirect_uri: String,
    pub error: String,
    pub error_description: String,
    pub state: Option<String>,
    pub iss: String,
}

impl ErrorRedirect {
    /// The `Location` to redirect to.
    pub fn location(&self) -> String {
        let mut pairs = vec![("error", self.error.as_str()), ("error_description", self.error_description.as_str())];
        if let Some(state) = &self.state {
            pairs.push(("state", state));
        }
        pairs.push(("iss", &self.iss));
        with_query(&self.redirect_uri, &pairs)
    }
}

/// `uri` with `pairs` appended to its query.
pub(crate) fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", platform::web::encode_pairs(pairs.iter().copied()))
}
