//! Host-agnostic ports for the domain crates.
//!
//! The OAuth, Clerk and MCP libraries never call `spin-sdk` directly: they talk to storage, the
//! clock, outbound HTTP and configuration through the small traits here. `spin-platform`
//! implements them once for all three components; tests use the in-memory implementations
//! ([`MemoryStore`], [`ManualClock`], [`StaticVariables`], [`MemoryAudit`]).

pub mod accept;
pub mod audit;
pub mod calendar;
pub mod clock;
pub mod counter_keys;
pub mod diagnostic;
#[cfg(test)]
mod faulty;
pub mod health;
pub mod housekeeping;
pub mod kv;
pub mod outbound;
pub mod ports;
pub mod rate_limit;
pub mod record;
pub mod secret;
pub mod settings;
pub mod sleep;
#[cfg(any(test, feature = "test-support"))]
pub mod test_store;
pub mod text;
pub mod variables;
pub mod web;

pub use audit::{AuditEvent, AuditLog, Event, MemoryAudit, Outcome};
pub use clock::{Clock, ManualClock, SystemClock};
pub use kv::{KeyValueStore, MemoryStore, StoreError};
pub use outbound::{HttpClient, OutboundError};
pub use ports::Ports;
pub use record::RecordError;
pub use settings::Settings;
pub use sleep::{Sleep, ThreadSleep};
#[cfg(any(test, feature = "test-support"))]
pub use test_store::TestStore;
pub use variables::{StaticVariables, VariableError, Variables};
