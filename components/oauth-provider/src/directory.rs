//! The user directory for refreshes: Clerk's Backend API, configured from Spin variables.
//! A missing `clerk_secret_key` only matters when a refresh happens, so it surfaces there
//! (as `temporarily_unavailable` naming the variable), not as a failure of every request.

use clerk_client::{BackendApi, ClerkError};
use oauth_core::{DirectoryError, UserDirectory, UserProps};
use platform::{VariableError, Variables};
use spin_platform::SpinHttpClient;

pub struct ClerkDirectory {
    backend: Result<BackendApi<SpinHttpClient>, VariableError>,
}

impl ClerkDirectory {
    pub fn from_variables(variables: &impl Variables) -> Self {
        let backend = (|| {
            let api_url = variables.get("clerk_api_url")?.unwrap_or_else(|| "https://api.clerk.com".to_owned());
            let secret_key = variables.require("clerk_secret_key")?;
            Ok(BackendApi::new(&api_url, &secret_key, SpinHttpClient))
        })();
        Self { backend }
    }
}

impl UserDirectory for ClerkDirectory {
    async fn refresh_props(&self, props: &UserProps) -> Result<UserProps, DirectoryError> {
        let backend = self.backend.as_ref().map_err(|e| DirectoryError::Unavailable(e.to_string()))?;
        match backend.get_user(&props.user_id).await {
            Ok(user) => Ok(clerk_client::profile::from_user(&user, props.session_id.clone())),
            Err(ClerkError::UserGone { .. }) => Err(DirectoryError::UserGone),
            Err(other) => Err(DirectoryError::Unavailable(other.to_string())),
        }
    }
}
