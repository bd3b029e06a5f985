//! The one place that names clerk-client's key-value records (prefix `clerk:`).

use platform::secret::hash_hex;

/// The cached discovery document of one Frontend API. The origin is hashed only to bound the
/// key's length; it is not a secret.
pub(crate) fn discovery(frontend_api: &str) -> String {
    format!("clerk:oidc:v1:{}", hash_hex(frontend_api))
}
