//! Everything a library reaches the world through, as one value per request.
//!
//! The domain crates never call the host: they take a [`Ports`], which `spin-platform` builds
//! once per request in each component (Spin's key-value store, clock, outbound HTTP, sleep,
//! audit trail and variables) and tests build from the in-memory implementations of this crate.
//! The ports are trait objects: using one costs a virtual call, and building them allocates
//! nothing.

use crate::{AuditLog, Clock, HttpClient, KeyValueStore, Sleep, Variables};

/// The host's side of one request.
#[derive(Clone, Copy)]
pub struct Ports<'a> {
    /// The app's key-value store (`default`).
    pub store: &'a dyn KeyValueStore,
    pub clock: &'a dyn Clock,
    /// Outbound HTTP (Clerk, image backends, client metadata documents).
    pub http: &'a dyn HttpClient,
    /// Waiting inside a request (a refresh waiting for a concurrent rotation).
    pub sleep: &'a dyn Sleep,
    /// Where security events go.
    pub audit: &'a dyn AuditLog,
    /// The app's variables, from which each crate reads its `Settings` once per request.
    pub variables: &'a dyn Variables,
}
