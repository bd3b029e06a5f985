//! Clerk's `/oauth/userinfo`, a fallback source of profile claims when the Backend API cannot
//! answer during a sign-in.

use platform::HttpClient;
use serde::Deserialize;

use crate::claims::ProfileClaims;
use crate::{ClerkError, transport};

const WHAT: &str = "userinfo (/oauth/userinfo)";

/// The userinfo claims this server reads (Clerk's `OAuth.UserInfo`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub(crate) struct UserInfo {
    pub sub: String,
    #[serde(flatten)]
    pub profile: ProfileClaims,
}

pub(crate) async fn fetch(http: &dyn HttpClient, endpoint: &str, access_token: &str) -> Result<UserInfo, ClerkError> {
    let response = transport::get(http, endpoint, Some(access_token), WHAT).await?;
    if response.status().as_u16() != 200 {
        return Err(ClerkError::Status { what: WHAT, status: response.status().as_u16() });
    }
    transport::json(&response, WHAT)
}
