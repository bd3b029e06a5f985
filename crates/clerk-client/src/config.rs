//! Clerk settings, read from Spin variables (README "Configuration reference") and checked once
//! per request.

use platform::{VariableError, Variables};

/// What the client needs to know about the Clerk instance and the OAuth application.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClerkConfig {
    /// The Frontend API origin, which is also the OIDC issuer (no trailing slash).
    pub frontend_api: String,
    pub client_id: String,
    pub client_secret: String,
    pub backend: BackendConfig,
}

/// How to reach Clerk's Backend API (the user's profile and `public_metadata.role`). The token
/// endpoint needs only this part, to re-read users on refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendConfig {
    /// Backend API base (default [`DEFAULT_API_URL`]), no trailing slash.
    pub api_url: String,
    /// Backend API key (`sk_...`).
    pub secret_key: String,
}

pub const DEFAULT_API_URL: &str = "https://api.clerk.com";

impl ClerkConfig {
    /// Reads and validates the Clerk variables; a missing or malformed one is an error naming it.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            frontend_api: origin_variable(vars, "clerk_frontend_api", None)?,
            client_id: vars.require("clerk_client_id")?,
            client_secret: vars.require("clerk_client_secret")?,
            backend: BackendConfig::from_variables(vars)?,
        })
    }
}

impl BackendConfig {
    /// `clerk_secret_key` and `clerk_api_url` (with its default); an error names the variable.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            secret_key: vars.require("clerk_secret_key")?,
            api_url: origin_variable(vars, "clerk_api_url", Some(DEFAULT_API_URL))?,
        })
    }
}

/// An https URL variable, normalised without a trailing slash. Plain `http` is accepted only
/// for a loopback address (a mock Clerk or the development sign-in on `127.0.0.1`): what Clerk
/// answers over these URLs is trusted because TLS says it comes from Clerk (the ID token from
/// the token endpoint, the user's role from the Backend API), and the Backend API key travels
/// over them.
fn origin_variable(vars: &dyn Variables, name: &str, default: Option<&str>) -> Result<String, VariableError> {
    let value = match (vars.get(name)?, default) {
        (Some(value), _) => value,
        (None, Some(default)) => default.to_owned(),
        (None, None) => {
            return Err(VariableError::Missing { name: name.to_owned() });
        }
    };
    let trimmed = value.trim().trim_end_matches('/').to_owned();
    let invalid = |reason: &str| VariableError::Invalid { name: name.to_owned(), reason: reason.to_owned() };
    let parsed = url::Url::parse(&trimmed).map_err(|e| invalid(&format!("not a URL ({e})")))?;
    let Some(host) = parsed.host() else {
        return Err(invalid("must be an https URL such as https://your-app.clerk.accounts.dev"));
    };
    match parsed.scheme() {
        "https" => Ok(trimmed),
        "http" if platform::web::is_loopback_host(&host) => Ok(trimmed),
        "http" => Err(invalid(
            "must be https (plain http is accepted only for a loopback address such as http://127.0.0.1:8080)",
        )),
        _ => Err(invalid("must be an https URL such as https://your-app.clerk.accounts.dev")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StaticVariables;

    fn full() -> StaticVariables {
        StaticVariables::new([
            ("clerk_frontend_api", "https://demo.clerk.accounts.dev/"),
            ("clerk_client_id", "cid"),
            ("clerk_client_secret", "csecret"),
            ("clerk_secret_key", "sk_test_x"),
        ])
    }

    #[test]
    fn config_trims_trailing_slash_and_defaults_api_url() {
        let config = ClerkConfig::from_variables(&full()).unwrap();
        assert_eq!(config.frontend_api, "https://demo.clerk.accounts.dev");
        assert_eq!(config.backend.api_url, DEFAULT_API_URL);
    }

    #[test]
    fn backend_config_alone_needs_only_the_secret_key() {
        let vars = StaticVariables::new([("clerk_secret_key", "sk_test_x")]);
        let backend = BackendConfig::from_variables(&vars).unwrap();
        assert_eq!((backend.api_url.as_str(), backend.secret_key.as_str()), (DEFAULT_API_URL, "sk_test_x"));
        let err = BackendConfig::from_variables(&StaticVariables::default()).unwrap_err();
        assert_eq!(err, VariableError::Missing { name: "clerk_secret_key".into() });
    }

    #[test]
    fn missing_variable_is_named() {
        let vars = StaticVariables::new([("clerk_frontend_api", "https://x.dev")]);
        let err = ClerkConfig::from_variables(&vars).unwrap_err();
        assert_eq!(err, VariableError::Missing { name: "clerk_client_id".into() });
    }

    #[test]
    fn plain_http_is_accepted_only_on_loopback_for_both_clerk_urls() {
        for loopback in ["http://127.0.0.1:8080", "http://localhost:9000/", "http://[::1]:1"] {
            let vars = full().with("clerk_frontend_api", loopback).with("clerk_api_url", loopback);
            let config = ClerkConfig::from_variables(&vars).unwrap();
            assert_eq!(config.frontend_api, loopback.trim_end_matches('/'));
        }
        for (name, public) in [
            ("clerk_frontend_api", "http://demo.clerk.accounts.dev"),
            ("clerk_api_url", "http://api.clerk.com"),
            ("clerk_frontend_api", "http://127.0.0.1.nip.io"),
            ("clerk_api_url", "http://10.0.0.5:8080"),
        ] {
            let err = ClerkConfig::from_variables(&full().with(name, public)).unwrap_err();
            match err {
                VariableError::Invalid { name: named, reason } => {
                    assert_eq!(named, name);
                    assert!(reason.contains("must be https"), "{reason}");
                }
                other => panic!("{name}={public}: {other:?}"),
            }
        }
    }

    #[test]
    fn non_http_frontend_api_is_invalid() {
        for value in ["demo.clerk.accounts.dev", "ftp://demo.clerk.accounts.dev", "https://"] {
            let vars = full().with("clerk_frontend_api", value);
            let err = ClerkConfig::from_variables(&vars).unwrap_err();
            assert!(matches!(err, VariableError::Invalid { name, .. } if name == "clerk_frontend_api"), "{value}");
        }
    }
}
