//! The [`UserProps`] of a sign-in when the Backend API (authoritative, see
//! [`crate::ClerkUser::props`]) cannot be read: the ID-token claims, with `/oauth/userinfo`
//! filling what the token lacks. That is why the upstream scope includes `public_metadata`: it
//! makes Clerk put the role into those claims too.

use oauth_core::UserProps;

use crate::claims::role_of;
use crate::id_token::IdTokenClaims;
use crate::userinfo::UserInfo;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::claims::ProfileClaims;
    use serde_json::json;

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
