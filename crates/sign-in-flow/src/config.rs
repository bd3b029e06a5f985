//! The flow's settings: Clerk's, the cookie key, the client rules and the sign-in limits.

use clerk_client::ClerkConfig;
use oauth_core::ClientSettings;
use oauth_core::rules::scope::ScopePolicy;
use platform::rate_limit::{self, Limit};
use platform::{VariableError, Variables};

/// The minimum length of `cookie_encryption_key`, in bytes (hex-encoded in the variable).
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

/// Clerk and the cookie key, for the routes that sign in.
#[derive(Debug, Clone)]
pub struct FlowConfig {
    pub clerk: ClerkConfig,
    /// `cookie_encryption_key` (decoded from hex): the HMAC-SHA256 key of the approval cookie and
    /// the forms' tokens, and the secret the consent forms are sealed under (`crate::consent`).
    pub cookie_key: Vec<u8>,
    /// Which roles may hold which scope (`image_roles`).
    pub scopes: ScopePolicy,
}

/// Everything the flow reads from variables, read once per request ([`crate::handle`]). Each
/// part keeps its own error, reported by the routes that need that part only: a request that
/// needs no Clerk (a refused `/authorize`, the sign-in page's limit) is answered whatever
/// Clerk's variables say. (`public_base_url` and `client_addr_header` are `platform::Settings`,
/// applied to the request by the host.)
#[derive(Debug, Clone)]
pub struct Settings {
    pub clerk: Result<ClerkConfig, VariableError>,
    pub cookie_key: Result<Vec<u8>, VariableError>,
    /// How `client_id`s are resolved (oauth-core's rules, the same as the token endpoints').
    pub clients: Result<ClientSettings, VariableError>,
    /// `rate_limit_sign_in_per_minute` (`platform::rate_limit::SIGN_IN`).
    pub sign_in_limit: Result<Limit, VariableError>,
    /// `sign_in_max_pending_per_address` (`platform::rate_limit::SIGN_IN_PENDING`).
    pub pending_limit: Result<Limit, VariableError>,
    /// `image_roles`: which scopes a role may hold (oauth-core's scope table).
    pub scopes: Result<ScopePolicy, VariableError>,
    /// `admin_roles`: the Clerk roles (`public_metadata.role`) whose users get the operator
    /// console (`/apps/admin`); empty (the default): no console.
    pub admin_roles: Vec<String>,
}

impl Settings {
    pub fn from_variables(vars: &dyn Variables) -> Self {
        Self {
            clerk: ClerkConfig::from_variables(vars),
            cookie_key: cookie_key(vars),
            clients: ClientSettings::from_variables(vars),
            sign_in_limit: rate_limit::SIGN_IN.from_variables(vars),
            pending_limit: rate_limit::SIGN_IN_PENDING.from_variables(vars),
            scopes: ScopePolicy::from_variables(vars),
            admin_roles: admin_roles(vars),
        }
    }

    /// Whether `role` opens the operator console.
    pub fn is_admin_role(&self, role: Option<&str>) -> bool {
        role.is_some_and(|role| self.admin_roles.iter().any(|admin| admin == role))
    }

    /// Clerk and the cookie key, or the first error (Clerk's, then the key's).
    pub fn flow(&self) -> Result<FlowConfig, VariableError> {
        Ok(FlowConfig {
            clerk: self.clerk.clone()?,
            cookie_key: self.cookie_key.clone()?,
            scopes: self.scopes.clone()?,
        })
    }

    /// The cookie key alone (what a browser's approval cookie is checked with).
    pub fn cookie_key(&self) -> Result<&[u8], &VariableError> {
        self.cookie_key.as_deref()
    }
}

/// `admin_roles`: comma- or space-separated roles; unset or unreadable: none (no console, which
/// trusts less).
pub fn admin_roles(vars: &dyn Variables) -> Vec<String> {
    let text = vars.get(ADMIN_ROLES).ok().flatten().unwrap_or_default();
    text.split([',', ' ']).map(str::trim).filter(|role| !role.is_empty()).map(str::to_owned).collect()
}

/// The variable naming the console's roles.
pub const ADMIN_ROLES: &str = "admin_roles";

/// `cookie_encryption_key`: hex of at least 32 random bytes (`openssl rand -hex 32`), used as
/// the HMAC-SHA256 key of the approval cookie and the forms' tokens, and to seal consent forms.
pub fn cookie_key(vars: &dyn Variables) -> Result<Vec<u8>, VariableError> {
    const NAME: &str = "cookie_encryption_key";
    let text = vars.require(NAME)?;
    let invalid = |reason: &str| VariableError::Invalid { name: NAME.into(), reason: reason.into() };
    let bytes =
        hex::decode(text.trim()).map_err(|_| invalid("must be hex (generate it with `openssl rand -hex 32`)"))?;
    if bytes.len() < MIN_COOKIE_KEY_BYTES {
        return Err(invalid("must be at least 32 bytes (64 hex characters)"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use platform::StaticVariables;

    #[test]
    fn admin_roles_are_a_list_and_none_by_default() {
        assert!(admin_roles(&StaticVariables::default()).is_empty());
        let vars = StaticVariables::new([("admin_roles", " admin, ops  support ")]);
        assert_eq!(admin_roles(&vars), ["admin", "ops", "support"]);
        let settings = Settings::from_variables(&vars);
        assert!(settings.is_admin_role(Some("ops")) && !settings.is_admin_role(Some("premium")));
        assert!(!settings.is_admin_role(None));
    }

    #[test]
    fn cookie_key_decodes_hex_of_32_bytes() {
        let vars = StaticVariables::new([("cookie_encryption_key", &"ab".repeat(32))]);
        assert_eq!(cookie_key(&vars).unwrap(), vec![0xab; 32]);
    }

    #[test]
    fn short_or_non_hex_cookie_key_is_a_named_config_error() {
        for bad in ["abcd", "zz".repeat(32).as_str(), "abc"] {
            let vars = StaticVariables::new([("cookie_encryption_key", bad)]);
            assert!(
                matches!(cookie_key(&vars), Err(VariableError::Invalid { name, .. }) if name == "cookie_encryption_key")
            );
        }
    }

    #[test]
    fn missing_cookie_key_is_named() {
        let err = cookie_key(&StaticVariables::default()).unwrap_err();
        assert_eq!(err, VariableError::Missing { name: "cookie_encryption_key".into() });
    }
}
