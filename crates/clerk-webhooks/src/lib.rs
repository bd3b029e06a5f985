//! Clerk's webhooks, host-agnostic: `POST /webhooks/clerk`.
//!
//! - [`signature`]: verifying a delivery as Svix signs it (secret rotation, timestamp tolerance,
//!   constant-time comparison).
//! - [`event`]: the Clerk events this server acts on.

pub mod event;
pub mod signature;
