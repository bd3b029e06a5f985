//! Re-reading the user at refresh time, so role changes and deleted or banned users take
//! effect within one access-token lifetime.

use std::future::Future;
use std::pin::Pin;

use crate::props::UserProps;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    /// The user no longer exists or is banned: the grant ends.
    #[error("the user no longer exists or is banned")]
    UserGone,
    /// The directory (Clerk) could not answer: the refresh fails with `temporarily_unavailable`
    /// and the refresh token stays usable, because issuing tokens with a possibly stale role
    /// would fail open.
    #[error("the user directory is unavailable: {0}")]
    Unavailable(String),
}

/// What [`UserDirectory::refresh_props`] returns (boxed, so the directory can be a trait object).
pub type Refreshing<'a> = Pin<Box<dyn Future<Output = Result<UserProps, DirectoryError>> + 'a>>;

/// Where the current user profile comes from (Clerk's Backend API in production:
/// `clerk_client::BackendApi`).
pub trait UserDirectory {
    /// The user's current props, starting from the stored ones (fields the directory does not
    /// know, such as `session_id`, are kept by the implementation).
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a>;
}

/// A directory that returns the stored props unchanged (tests, or deployments without a
/// user directory).
#[derive(Debug, Default, Clone, Copy)]
pub struct StaticDirectory;

impl UserDirectory for StaticDirectory {
    fn refresh_props<'a>(&'a self, props: &'a UserProps) -> Refreshing<'a> {
        Box::pin(std::future::ready(Ok(props.clone())))
    }
}
