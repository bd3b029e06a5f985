//! Clerk's answers turned into the [`UserProps`] stored with the grant.
//!
//! The Backend API user is authoritative. When it cannot be read during a sign-in, the ID-token
//! claims (and `/oauth/userinfo`) are used instead; that is why the upstream scope includes
//! `public_metadata`: it makes Clerk put the role into those claims too.

use oauth_core::UserProps;

use crate::backend::ClerkUser;
use crate::id_token::IdTokenClaims;
use crate::userinfo::UserInfo;

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
    let pick = |own: &Option<String>, other: Option<&Option<String>>| own.clone().or_else(|| other.cloned().flatten());
    let metadata = claims
        .public_metadata
        .clone()
        .or_else(|| info.and_then(|i| i.public_metadata.clone()))
        .unwrap_or_else(|| serde_json::json!({}));
    UserProps {
        user_id: claims.sub.clone(),
        session_id: claims.sid.clone(),
        email: pick(&claims.email, info.map(|i| &i.email)),
        first_name: pick(&claims.given_name, info.map(|i| &i.given_name)),
        last_name: pick(&claims.family_name, info.map(|i| &i.family_name)),
        image_url: pick(&claims.picture, info.map(|i| &i.picture)),
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
    fn userinfo_for_another_subject_is_ignored() {
        let claims: IdTokenClaims =
            serde_json::from_value(json!({"iss":"i","sub":"user_1","aud":"c","exp":1})).unwrap();
        let info = UserInfo { sub: "user_2".into(), email: Some("x@y".into()), ..Default::default() };
        assert_eq!(from_claims(&claims, Some(&info)).email, None);
    }
}
