//! The OAuth 2.1 authorization server model: clients, grants, codes, tokens, their key-value
//! records and the rules around them, plus the host-agnostic HTTP endpoints of the
//! `oauth-provider` component.
//!
//! - [`authorize`]: what the sign-in flow calls (`validate_authorization_request`,
//!   `complete_authorization`); [`validated`]: the validated request it keeps meanwhile, and
//!   the error redirects to a trusted client.
//! - [`tokens`]: code exchange, refresh, revocation, and [`verify_access_token`] for the MCP
//!   hot path (one key-value read).
//! - [`clients`]: dynamic client registration, lookup, credential checks; [`cimd`]: clients
//!   whose `client_id` is the URL of their metadata document, and [`cimd::ClientResolver`],
//!   which resolves every `client_id`.
//! - [`connected_apps`]: a user's grants, from the per-user grant index, and their revocation
//!   by that user (the connected-apps page).
//! - [`admin`]: the operator console's model: every grant, by user or client, revocations and
//!   client blocks.
//! - [`user_access`]: every grant of a user ended, or its access tokens dropped after a role
//!   change, on Clerk's word (webhooks).
//! - [`endpoints`]: `/.well-known/*`, `/register`, `/token`, `/revoke` over `http` types.
//! - [`keys`] names every key; [`records`] defines every record.

pub mod admin;
pub mod authorize;
pub mod cimd;
pub mod clients;
pub mod connected_apps;
pub mod directory;
pub mod endpoints;
pub mod grants;
pub mod keys;
pub mod lifetimes;
pub mod props;
pub mod records;
pub mod rules;
pub mod settings;
pub mod tokens;
pub mod user_access;
pub mod validated;

#[cfg(test)]
mod tests;

pub use authorize::{AuthorizeError, CompleteError, complete_authorization, validate_authorization_request};
pub use cimd::{CimdSettings, ClientResolver};
pub use clients::lookup_client;
pub use directory::{DirectoryError, StaticDirectory, UserDirectory};
pub use props::UserProps;
pub use records::{AccessTokenRecord, ClientRecord};
pub use rules::resource::{mcp_resource, sse_resource};
pub use settings::{ClientSettings, Settings};
pub use tokens::{TokenError, verify_access_token};
pub use validated::{ErrorRedirect, ValidatedAuthorization};
