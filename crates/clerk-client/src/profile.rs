//! Clerk's answers turned into the [`UserProps`] stored with the grant.
//!
//! The Backend API user is authoritative. When it cannot be read during a sign-in, the ID-token
//! claims (and `/oauth/userinfo`) are used instead; that is why the upstream scope includes
//! `public_metadata`: it makes Clerk put the role into those claims too.

use oauth_core::UserProps;
use serde::Deserialize;

use crate::backend::ClerkUser;
use crate::id_token::IdTokenClaims;
use crate::userinfo::UserInfo;

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
    fn or(&self, fallback: Option<&ProfileClaims>) -> ProfileClaims {
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

/// Props from the Backend API user, keeping the session id (which only the sign-in knows).
pub fn from_user(user: &ClerkUser, session_id: Option<String>) -> UserProps {
    UserProps {
        user_id: user.id.clone(),
        session_id,
        email: user.primary_email().map(str::to_owned),
        first_name: user.first_name.clone(),
        last_name: user.last_name.clone(),
        image_url: user.image_url.clone(),
        role: role_of(&user.public_metadata),
        metadata: user.public_metadata.clone(),
    }
}

/// Props from the ID token, with userinfo filling what the token lacks.
pub(crate) fn from_claims(claims: &IdTokenClaims, userinfo: Option<&UserInfo>) -> UserProps {
    let info = userinfo.filter(|info| info.sub == claims.sub);
    let profile = claims.profile.or(info.map(|i| &i.profile));
    let metadata = profile.public_metadata.unwrap_or_else(|| serde_json::json!({}));
    UserProps {
        user_id: claims.sub.clone(),
        session_id: claims.sid.clone(),
        email: profile.email,
        first_name: profile.given_name,
        last_name: profile.family_name,
        image_url: profile.picture,
        role: role_of(&metadata),
        metadata,
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

    #[test]
    fn userinfo_fills_only_the_claims_the_id_token_lacks() {
        let claims: IdTokenClaims =
            serde_json::from_value(json!({"iss":"i","sub":"user_1","aud":"c","exp":1,"email":"token@example.com"}))
                .unwrap();
        let info: UserInfo = serde_json::from_value(json!({
            "sub":"user_1","email":"info@example.com","given_name":"Ada","public_metadata":{"role":"admin"}
        }))
        .unwrap();
        let props = from_claims(&claims, Some(&info));
        assert_eq!(props.email.as_deref(), Some("token@example.com"));
        assert_eq!(props.first_name.as_deref(), Some("Ada"));
        assert_eq!(props.role.as_deref(), Some("admin"));
        assert_eq!(from_claims(&claims, None).metadata, json!({}));
    }

    #[test]
    fn userinfo_for_another_subject_is_ignored() {
        let claims: IdTokenClaims =
            serde_json::from_value(json!({"iss":"i","sub":"user_1","aud":"c","exp":1})).unwrap();
        let profile = ProfileClaims { email: Some("x@y".into()), ..Default::default() };
        let info = UserInfo { sub: "user_2".into(), profile };
        assert_eq!(from_claims(&claims, Some(&info)).email, None);
    }
}
