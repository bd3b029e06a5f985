//! What the server knows about the signed-in user, stored with the grant and carried by every
//! access-token record so the MCP hot path needs one key-value read.

use serde::{Deserialize, Serialize};

/// The user's profile, as read from Clerk at sign-in and refreshed on every token refresh.
/// Field names are the wire names `userInfo` returns.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserProps {
    /// Clerk user id (`user_...`).
    pub user_id: String,
    /// Clerk session id (`sess_...`) of the sign-in, when Clerk reported one.
    pub session_id: Option<String>,
    pub email: Option<String>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: Option<String>,
    /// `public_metadata.role`, the input to role-gated tools.
    pub role: Option<String>,
    /// The user's whole `public_metadata`.
    #[serde(default)]
    pub metadata: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_props_with_only_a_user_id_read_back_with_everything_else_empty() {
        let props: UserProps = serde_json::from_str(r#"{"userId":"user_1"}"#).unwrap();
        assert_eq!(props, UserProps { user_id: "user_1".into(), ..UserProps::default() });
    }
}
