//! Clerk's Backend API (`GET <clerk_api_url>/v1/users/{id}`, Bearer `clerk_secret_key`): the
//! authoritative profile and `public_metadata.role`, read at sign-in and on every token refresh.

use oauth_core::directory::Refreshing;
use oauth_core::{DirectoryError, UserDirectory, UserProps};
use platform::{HttpClient, VariableError, Variables};
use serde::Deserialize;

use crate::claims::role_of;
use crate::config::BackendConfig;
use crate::{ClerkError, transport};

const WHAT: &str = "Backend API (/v1/users)";

/// The parts of Clerk's `User` object this server uses.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ClerkUser {
    pub id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub image_url: Option<String>,
    pub primary_email_address_id: Option<String>,
    #[serde(default)]
    pub email_addresses: Vec<EmailAddress>,
    #[serde(default)]
    pub public_metadata: serde_json::Value,
    #[serde(default)]
    pub banned: bool,
    #[serde(default)]
    pub locked: bool,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct EmailAddress {
    pub id: String,
    pub email_address: String,
}

impl ClerkUser {
    /// The primary email address (the entry whose id is `primary_email_address_id`).
    pub fn primary_email(&self) -> Option<&str> {
        let primary = self.primary_email_address_id.as_deref()?;
        self.email_addresses.iter().find(|e| e.id == primary).map(|e| e.email_address.as_str())
    }

    /// The props stored with the grant, keeping the session id (which only the sign-in knows).
    pub fn props(&self, session_id: Option<String>) -> UserProps {
        UserProps {
            user_id: self.id.clone(),
            session_id,
            email: self.primary_email().map(str::to_owned),
            first_name: self.first_name.clone(),
            last_name: self.last_name.clone(),
            image_url: self.image_url.clone(),
            role: role_of(&self.public_metadata),
            metadata: self.public_metadata.clone(),
        }
    }
}

/// A handle on the Backend API: base URL, secret key and the HTTP port.
pub struct BackendApi<'a> {
    api_url: String,
    secret_key: String,
    http: &'a dyn HttpClient,
}

impl<'a> BackendApi<'a> {
    pub fn new(config: &BackendConfig, http: &'a dyn HttpClient) -> Self {
        let api_url = config.api_url.trim_end_matches('/').to_owned();
        Self { api_url, secret_key: config.secret_key.clone(), http }
    }

    /// The user, or [`ClerkError::UserGone`] when Clerk says they do not exist or are banned or
    /// locked (so neither sign-in nor refresh may succeed for them).
    pub async fn get_user(&self, user_id: &str) -> Result<ClerkUser, ClerkError> {
        if !is_clerk_id(user_id) {
            return Err(ClerkError::UserGone { user_id: user_id.to_owned(), reason: "not a valid Clerk user id" });
        }
        let url = format!("{}/v1/users/{user_id}", self.api_url);
        let response = transport::get(self.http, &url, Some(&self.secret_key), WHAT).await?;
        match response.status().as_u16() {
            200 => {}
            401 | 403 => return Err(ClerkError::BackendUnauthorized),
            404 => {
                return Err(ClerkError::UserGone { user_id: user_id.to_owned(), reason: "deleted" });
            }
            status => return Err(ClerkError::Status { what: WHAT, status }),
        }
        let user: ClerkUser = transport::json(&response, WHAT)?;
        if user.id != user_id {
            return Err(ClerkError::Malformed { what: WHAT, reason: "answered for another user".into() });
        }
        match (user.banned, user.locked) {
            (true, _) => Err(ClerkError::UserGone { user_id: user.id, reason: "banned" }),
            (_, true) => Err(ClerkError::UserGone { user_id: user.id, reason: "locked" }),
            _ => Ok(user),
        }
    }
}

/// The token endpoint re-reads the user on every refresh, so role changes, deletions and bans
/// take effect within one access-token lifetime.
impl UserDirectory for BackendApi<'_> {
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a> {
        Box::pin(async move {
            match self.get_user(&props.user_id).await {
                Ok(user) => Ok(user.props(props.session_id.clone())),
                Err(ClerkError::UserGone { .. }) => Err(DirectoryError::UserGone),
                // Down, slow, garbage or a rejected key: the refresh must not go ahead with a
                // role that may be stale, and must not end the grant either.
                Err(other) => Err(DirectoryError::Unavailable(other.to_string())),
            }
        })
    }
}

/// Clerk ids are `user_` plus base62; anything else must not be spliced into a URL path.
fn is_clerk_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// The user directory the token endpoint re-reads users from at refresh: Clerk's Backend API,
/// configured from the variables. A missing or malformed `clerk_secret_key` only matters when a
/// refresh happens, so it surfaces there (as `temporarily_unavailable`, the log naming the
/// variable), not as a failure of every request.
pub struct ClerkDirectory<'a> {
    backend: Result<BackendApi<'a>, VariableError>,
}

impl<'a> ClerkDirectory<'a> {
    pub fn from_variables(variables: &dyn Variables, http: &'a dyn HttpClient) -> Self {
        Self { backend: BackendConfig::from_variables(variables).map(|config| BackendApi::new(&config, http)) }
    }
}

impl UserDirectory for ClerkDirectory<'_> {
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a> {
        match &self.backend {
            Ok(backend) => backend.refresh_props(props),
            Err(config) => Box::pin(std::future::ready(Err(DirectoryError::Unavailable(config.to_string())))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake::FakeClerk;
    use futures::executor::block_on;

    fn api(fake: &FakeClerk) -> BackendApi<'_> {
        let config = BackendConfig { api_url: "https://api.clerk.test/".into(), secret_key: "sk_test_key".into() };
        BackendApi::new(&config, fake)
    }

    #[test]
    fn get_user_sends_bearer_secret_key_and_reads_primary_email() {
        let fake = FakeClerk::new();
        let user = block_on(api(&fake).get_user("user_admin")).unwrap();
        assert_eq!(user.primary_email(), Some("admin@example.com"));
        assert_eq!(user.public_metadata["role"], "admin");
        assert_eq!(fake.last_authorization("/v1/users/user_admin").as_deref(), Some("Bearer sk_test_key"));
    }

    #[test]
    fn unknown_user_is_gone() {
        let err = block_on(api(&FakeClerk::new()).get_user("user_nobody")).unwrap_err();
        assert!(matches!(err, ClerkError::UserGone { reason: "deleted", .. }), "{err:?}");
    }

    #[test]
    fn banned_user_is_gone() {
        let err = block_on(api(&FakeClerk::new()).get_user("user_banned")).unwrap_err();
        assert!(matches!(err, ClerkError::UserGone { reason: "banned", .. }), "{err:?}");
    }

    #[test]
    fn rejected_secret_key_is_a_config_error() {
        let fake = FakeClerk::new();
        fake.respond(
            "/v1/users/user_admin",
            401,
            r#"{"errors":[{"message":"Unauthorized","code":"authentication_invalid"}]}"#,
        );
        assert_eq!(block_on(api(&fake).get_user("user_admin")).unwrap_err(), ClerkError::BackendUnauthorized);
    }

    #[test]
    fn backend_garbage_is_malformed() {
        let fake = FakeClerk::new();
        fake.respond("/v1/users/user_admin", 200, "{\"id\": 5}");
        assert!(matches!(block_on(api(&fake).get_user("user_admin")), Err(ClerkError::Malformed { .. })));
    }

    #[test]
    fn backend_answer_for_another_user_is_malformed() {
        let fake = FakeClerk::new();
        fake.respond("/v1/users/user_admin", 200, r#"{"id":"user_other"}"#);
        assert!(matches!(block_on(api(&fake).get_user("user_admin")), Err(ClerkError::Malformed { .. })));
    }

    fn stored(user_id: &str) -> UserProps {
        UserProps { user_id: user_id.into(), session_id: Some("sess_1".into()), ..UserProps::default() }
    }

    #[test]
    fn refresh_props_rereads_role_and_keeps_session_id() {
        let fake = FakeClerk::new();
        let props = block_on(api(&fake).refresh_props(&stored("user_admin"))).unwrap();
        assert_eq!(props.role.as_deref(), Some("admin"));
        assert_eq!(props.session_id.as_deref(), Some("sess_1"));
        assert_eq!(props.email.as_deref(), Some("admin@example.com"));
    }

    #[test]
    fn refresh_props_of_a_role_less_user_clears_the_role() {
        let props = block_on(api(&FakeClerk::new()).refresh_props(&stored("user_plain"))).unwrap();
        assert_eq!(props.role, None);
    }

    #[test]
    fn refresh_props_of_deleted_or_banned_user_is_user_gone() {
        let fake = FakeClerk::new();
        assert_eq!(block_on(api(&fake).refresh_props(&stored("user_nobody"))), Err(DirectoryError::UserGone));
        assert_eq!(block_on(api(&fake).refresh_props(&stored("user_banned"))), Err(DirectoryError::UserGone));
    }

    #[test]
    fn refresh_props_when_clerk_is_down_is_unavailable() {
        let fake = FakeClerk::new();
        fake.fail_with(platform::OutboundError::Unreachable { host: "api".into(), reason: "refused".into() });
        let err = block_on(api(&fake).refresh_props(&stored("user_admin"))).unwrap_err();
        assert!(matches!(err, DirectoryError::Unavailable(_)));
    }

    #[test]
    fn user_id_with_path_characters_is_never_sent() {
        let fake = FakeClerk::new();
        let err = block_on(api(&fake).get_user("../admin")).unwrap_err();
        assert!(matches!(err, ClerkError::UserGone { .. }));
        assert_eq!(fake.total_calls(), 0);
    }
}
