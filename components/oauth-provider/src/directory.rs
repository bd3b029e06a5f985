//! The user directory for refreshes: Clerk's Backend API (`clerk_client::BackendApi`), with the
//! configuration `clerk_client` reads from Spin variables. A missing `clerk_secret_key` only
//! matters when a refresh happens, so it surfaces there (as `temporarily_unavailable`, the log
//! naming the variable), not as a failure of every request.

use clerk_client::{BackendApi, BackendConfig};
use oauth_core::{DirectoryError, UserDirectory, UserProps};
use platform::{VariableError, Variables};
use spin_platform::SpinHttpClient;

pub struct ClerkDirectory {
    backend: Result<BackendApi<SpinHttpClient>, VariableError>,
}

impl ClerkDirectory {
    pub fn from_variables(variables: &impl Variables) -> Self {
        let backend = BackendConfig::from_variables(variables).map(|config| BackendApi::new(&config, SpinHttpClient));
        Self { backend }
    }
}

impl UserDirectory for ClerkDirectory {
    async fn refresh_props(&self, props: &UserProps) -> Result<UserProps, DirectoryError> {
        match &self.backend {
            Ok(backend) => backend.refresh_props(props).await,
            Err(config) => Err(DirectoryError::Unavailable(config.to_string())),
        }
    }
}
