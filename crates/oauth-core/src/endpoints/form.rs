//! `application/x-www-form-urlencoded` request bodies with single-valued parameters.

use std::collections::HashSet;

use platform::web::{self, Request};

use super::error::OAuthError;

/// Parsed form parameters; each name appears at most once (RFC 6749 §3.2).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    /// Parses the body of a form POST, refusing other media types and repeated parameters.
    pub fn parse(request: &Request) -> Result<Form, OAuthError> {
        if web::media_type(request).as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(OAuthError::bad_request(
                "invalid_request",
                "the body must be application/x-www-form-urlencoded",
            ));
        }
        let pairs = web::decode_pairs(request.body());
        let mut seen = HashSet::new();
        if let Some((name, _)) = pairs.iter().find(|(name, _)| !seen.insert(name.as_str())) {
            return Err(OAuthError::bad_request("invalid_request", "a parameter is repeated").quoting(name));
        }
        Ok(Form(pairs))
    }

    /// The value of `name`; empty values count as absent (RFC 6749 §3.1).
    pub fn get(&self, name: &str) -> Option<&str> {
        // `parse` refused repeated names, so the single value is the only one.
        web::single_value(&self.0, name).ok().flatten().filter(|v| !v.is_empty())
    }

    /// The value of a required parameter.
    pub fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name).ok_or_else(|| OAuthError::bad_request("invalid_request", format!("`{name}` is required")))
    }
}
