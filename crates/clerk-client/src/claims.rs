//! Clerk's profile data as every source reports it: the standard profile claims of ID tokens and
//! `/oauth/userinfo`, and the role this server reads from `public_metadata`.

use serde::Deserialize;

/// The standard profile claims Clerk puts in ID tokens and `/oauth/userinfo` answers alike.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct ProfileClaims {
    pub email: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub picture: Option<String>,
    /// Present when the `public_metadata` scope was granted.
    pub public_metadata: Option<serde_json::Value>,
}

impl ProfileClaims {
    /// These claims, each missing one taken from `fallback`.
    pub(crate) fn or(&self, fallback: Option<&ProfileClaims>) -> ProfileClaims {
        let Some(other) = fallback else { return self.clone() };
        let pick = |own: &Option<String>, other: &Option<String>| own.clone().or_else(|| other.clone());
        ProfileClaims {
            email: pick(&self.email, &other.email),
            given_name: pick(&self.given_name, &other.given_name),
            family_name: pick(&self.family_name, &other.family_name),
            picture: pick(&self.picture, &other.picture),
            public_metadata: self.public_metadata.clone().or_else(|| other.public_metadata.clone()),
        }
    }
}

/// `public_metadata.role` when it is a non-empty string.
pub fn role_of(public_metadata: &serde_json::Value) -> Option<String> {
    public_metadata.get("role").and_then(|r| r.as_str()).filter(|r| !r.is_empty()).map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn role_is_read_only_from_a_string() {
        assert_eq!(role_of(&json!({"role":"admin"})).as_deref(), Some("admin"));
        assert_eq!(role_of(&json!({"role":7})), None);
        assert_eq!(role_of(&json!(null)), None);
    }
}
