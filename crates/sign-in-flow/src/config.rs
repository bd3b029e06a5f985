//! The flow's configuration: Clerk's settings plus the cookie key and the public base URL.

use clerk_client::ClerkConfig;
use oauth_core::CimdSettings;
use platform::{VariableError, Variables};

/// The minimum length of `cookie_encryption_key`, in bytes (hex-encoded in the variable).
pub const MIN_COOKIE_KEY_BYTES: usize = 32;

#[derive(Debug, Clone)]
pub struct FlowConfig {
    pub clerk: ClerkConfig,
    /// `cookie_encryption_key` (decoded from hex): the HMAC-SHA256 key of the approval cookie and
    /// the forms' tokens, and the secret the consent forms are sealed under (`crate::consent`).
    pub cookie_key: Vec<u8>,
    /// `public_base_url` when set.
    pub public_base_url: Option<String>,
}

impl FlowConfig {
    pub fn from_variables(vars: &impl Variables) -> Result<Self, VariableError> {
        Ok(Self {
            clerk: ClerkConfig::from_variables(vars)?,
            cookie_key: cookie_key(vars)?,
            public_base_url: vars.get("public_base_url")?,
        })
    }
}

/// `public_base_url` alone (needed before the rest of the configuration is read).
pub fn public_base_url(vars: &impl Variables) -> Option<String> {
    vars.get("public_base_url").ok().flatten()
}

/// Whether client metadata documents are used (`client_id_metadata_documents`), for a server
/// at `base_url`, and the limits on them.
pub fn cimd_settings(vars: &impl Variables, base_url: &str) -> Result<CimdSettings, VariableError> {
    CimdSettings::from_variables(vars, base_url)
}

/// `cookie_encryption_key`: hex of at least 32 random bytes (`openssl rand -hex 32`), used as
/// the HMAC-SHA256 key of the approval cookie and the forms' tokens, and to seal consent forms.
pub fn cookie_key(vars: &impl Variables) -> Result<Vec<u8>, VariableError> {
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
