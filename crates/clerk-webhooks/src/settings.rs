//! What `POST /webhooks/clerk` reads from the app's variables.

use platform::rate_limit::{Limit, LimitSpec};
use platform::{VariableError, Variables};

use crate::signature::Secrets;

/// Verified webhook deliveries acted on per minute, for the whole deployment. Counted only
/// after a valid signature, so forged deliveries cannot use it up; past it Clerk gets 429 and
/// retries later.
pub const WEBHOOKS: LimitSpec =
    LimitSpec { name: "webhooks", variable: "rate_limit_webhooks_per_minute", default_max: 600, window_secs: 60 };

/// What a `session.revoked` / `session.ended` event does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SessionEndPolicy {
    /// Nothing (the default): signing out of Clerk is not disconnecting an app.
    #[default]
    Ignore,
    /// Revokes the grants signed in through that Clerk session.
    RevokeSessionGrants,
}

/// The webhook's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The signing secrets; `None` when `clerk_webhook_secret` is unset (the route answers 404).
    pub secrets: Option<Secrets>,
    pub session_end: SessionEndPolicy,
    pub rate_limit: Limit,
}

impl Settings {
    pub const SECRET: &'static str = "clerk_webhook_secret";
    pub const SESSION_END: &'static str = "clerk_webhook_session_end";

    /// From the variables; a malformed one is named in the error.
    pub fn from_variables(vars: &dyn Variables) -> Result<Self, VariableError> {
        let secrets = match vars.get(Self::SECRET)? {
            None => None,
            Some(text) => Some(Secrets::parse(&text).map_err(|error| VariableError::Invalid {
                name: Self::SECRET.to_owned(),
                reason: error.to_string(),
            })?),
        };
        let session_end = match vars.get(Self::SESSION_END)?.as_deref().map(str::trim) {
            None | Some("ignore") => SessionEndPolicy::Ignore,
            Some("revoke_session_grants") => SessionEndPolicy::RevokeSessionGrants,
            Some(_) => {
                return Err(VariableError::Invalid {
                    name: Self::SESSION_END.to_owned(),
                    reason: "must be `ignore` or `revoke_session_grants`".to_owned(),
                });
            }
        };
        Ok(Self { secrets, session_end, rate_limit: WEBHOOKS.from_variables(vars)? })
    }
}

#[cfg(test)]
mod tests {
    use platform::StaticVariables;

    use super::*;

    #[test]
    fn defaults_have_no_secret_ignore_session_ends_and_a_limit() {
        let settings = Settings::from_variables(&StaticVariables::default()).unwrap();
        assert_eq!(settings.secrets, None);
        assert_eq!(settings.session_end, SessionEndPolicy::Ignore);
        assert_eq!(settings.rate_limit.max, 600);
    }

    #[test]
    fn malformed_variables_are_named() {
        let bad_secret = StaticVariables::default().with("clerk_webhook_secret", "whsec_!!");
        let error = Settings::from_variables(&bad_secret).unwrap_err().to_string();
        assert!(error.contains("clerk_webhook_secret") && !error.contains("!!"), "{error}");
        let bad_policy = StaticVariables::default().with("clerk_webhook_session_end", "sometimes");
        assert!(Settings::from_variables(&bad_policy).unwrap_err().to_string().contains("clerk_webhook_session_end"));
    }

    #[test]
    fn the_session_policy_can_revoke_the_session_grants() {
        let vars = StaticVariables::default()
            .with("clerk_webhook_secret", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .with("clerk_webhook_session_end", "revoke_session_grants");
        let settings = Settings::from_variables(&vars).unwrap();
        assert!(settings.secrets.is_some());
        assert_eq!(settings.session_end, SessionEndPolicy::RevokeSessionGrants);
    }
}
