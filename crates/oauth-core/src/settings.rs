//! oauth-core's settings, read once per request from the app's variables: the rules every
//! `client_id` is resolved by ([`ClientSettings`], which the sign-in flow uses too) and the
//! token endpoint's (the refresh grace window, the rate limits).

use std::net::IpAddr;

use platform::rate_limit::{self, Limit};
use platform::{Ports, VariableError, Variables};

use crate::cimd::{CimdSettings, ClientResolver};
use crate::rules::redirect_uri::RedirectPolicy;
use crate::rules::scope::ScopePolicy;
use crate::tokens::Rotation;

/// Everything the authorization server's endpoints read from variables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub clients: ClientSettings,
    /// `refresh_grace_seconds`: the refresh-token grace window ([`Rotation`]).
    pub refresh_grace_secs: u64,
    /// The rate limits of `/register` and `/token`.
    pub limits: Limits,
    /// `image_roles`: which roles tokens may carry which scope for.
    pub scopes: ScopePolicy,
}

/// The rate limits of the token endpoints (`platform::rate_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// `POST /register` per client address.
    pub register: Limit,
    /// Failed `/token` requests per client (per client address for unknown clients).
    pub token_failures: Limit,
    /// Successful refreshes per grant.
    pub refreshes: Limit,
}

impl Limits {
    /// From `rate_limit_register_per_hour`, `rate_limit_token_failures_per_minute` and
    /// `rate_limit_refreshes_per_hour`.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            register: rate_limit::REGISTER.from_variables(vars)?,
            token_failures: rate_limit::TOKEN_FAILURES.from_variables(vars)?,
            refreshes: rate_limit::REFRESHES.from_variables(vars)?,
        })
    }
}

impl Default for Limits {
    fn default() -> Self {
        let default = |spec: rate_limit::LimitSpec| spec.with_max(spec.default_max);
        Self {
            register: default(rate_limit::REGISTER),
            token_failures: default(rate_limit::TOKEN_FAILURES),
            refreshes: default(rate_limit::REFRESHES),
        }
    }
}

/// How `client_id`s are resolved and which redirect URIs clients may use, wherever a client is
/// named (`/authorize`, `/register`, `/token`, `/revoke`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClientSettings {
    /// `native_redirect_schemes`: the private-use redirect schemes registrations and documents
    /// may use.
    pub redirect_policy: RedirectPolicy,
    /// `client_id_metadata_documents` and the limits on documents, for a server that is not on
    /// loopback (see [`CimdSettings::for_server`]).
    pub documents: CimdSettings,
}

impl Default for Settings {
    /// What unset variables give.
    fn default() -> Self {
        Self {
            clients: ClientSettings::default(),
            refresh_grace_secs: Rotation::DEFAULT_GRACE_SECS,
            limits: Limits::default(),
            scopes: ScopePolicy::default(),
        }
    }
}

impl Settings {
    /// Reads them; a malformed value is an error naming its variable.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        let grace = vars.get(Rotation::GRACE_VARIABLE)?;
        let refresh_grace_secs = Rotation::grace_from(grace.as_deref()).map_err(|error| VariableError::Invalid {
            name: Rotation::GRACE_VARIABLE.to_owned(),
            reason: error.to_string(),
        })?;
        Ok(Self {
            clients: ClientSettings::from_variables(vars)?,
            refresh_grace_secs,
            limits: Limits::from_variables(vars)?,
            scopes: ScopePolicy::from_variables(vars)?,
        })
    }
}

impl ClientSettings {
    /// Reads them; a malformed value is an error naming its variable.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        Ok(Self {
            redirect_policy: RedirectPolicy::from_variables(vars)?,
            documents: CimdSettings::from_variables(vars)?,
        })
    }

    /// The resolver of the `client_id`s a caller at `caller` names, for a server at `base_url`.
    pub fn resolver<'a>(&'a self, ports: &Ports<'a>, base_url: &str, caller: Option<IpAddr>) -> ClientResolver<'a> {
        ClientResolver {
            store: ports.store,
            clock: ports.clock,
            http: ports.http,
            settings: self.documents.for_server(base_url),
            redirect_policy: &self.redirect_policy,
            caller,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StaticVariables;

    #[test]
    fn unset_variables_give_the_defaults() {
        let settings = Settings::from_variables(&StaticVariables::default()).unwrap();
        assert_eq!(settings, Settings::default());
        assert_eq!(settings.refresh_grace_secs, Rotation::DEFAULT_GRACE_SECS);
        assert!(settings.clients.documents.enabled);
    }

    #[test]
    fn a_malformed_value_is_an_error_naming_its_variable() {
        for (name, value) in [
            ("refresh_grace_seconds", "601"),
            ("native_redirect_schemes", "javascript"),
            ("client_id_metadata_documents", "maybe"),
            ("rate_limit_register_per_hour", "many"),
        ] {
            let error = Settings::from_variables(&StaticVariables::new([(name, value)])).unwrap_err();
            assert!(error.to_string().contains(name), "{name}: {error}");
        }
    }
}
