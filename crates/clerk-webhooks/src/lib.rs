//! Clerk's webhooks, host-agnostic: `POST /webhooks/clerk`, through which Clerk tells this
//! server that a user was deleted, banned or changed role, so access ends (or narrows) at once
//! instead of at the next refresh.
//!
//! - [`signature`]: verifying a delivery as Svix signs it (secret rotation, timestamp tolerance,
//!   constant-time comparison).
//! - [`event`]: the Clerk events this server acts on.
//! - [`processed`]: each message processed once.
//! - [`settings`]: the variables; [`endpoint`]: the route, checks first, then the action
//!   (`oauth_core::user_access`).

pub mod endpoint;
pub mod event;
pub mod processed;
pub mod settings;
pub mod signature;

pub use endpoint::{MAX_BODY_BYTES, PATH, handle, store_unavailable};
pub use settings::Settings;
