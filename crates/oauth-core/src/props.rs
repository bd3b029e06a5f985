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
    #[serde(default)]
    pub session_id: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub image_url: Option<String>,
    /// `public_metadata.role`, the input to role-gated tools.
    #[serde(default)]
    pub role: Option<String>,
    /// The user's whole `public_metadata`.
    #[serde(default)]
    pub metadata: serde_json::Value,
}
