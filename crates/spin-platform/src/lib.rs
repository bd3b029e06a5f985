//! `platform`'s ports implemented with `spin-sdk`, shared by the three components so none of
//! them writes Spin glue itself.
//!
//! - [`SpinStore`]: the `default` key-value store; plain operations through
//!   `fermyon:spin/key-value`, atomic `increment` through `wasi:keyvalue/atomics` (Spin >= 3.1).
//!   Both interfaces see the same store. No compare-and-swap (Spin 4.1's Redis store misreports it).
//! - [`SpinSleep`] / [`sleep`]: waiting on a monotonic-clock pollable.
//! - [`SpinVariables`]: component variables (`spin.toml` `[component.*.variables]`).
//! - [`SpinHttpClient`]: outbound `wasi:http` with connect/first-byte/between-bytes timeouts.
//! - [`serve`]: reads an incoming request with a body limit, runs a handler over `http` types
//!   and writes its response.

mod inbound;
mod kv;
mod outbound;
mod sleep;
mod variables;

pub use inbound::{BodyError, fields, read_request, serve, write_response};
pub use kv::SpinStore;
pub use outbound::SpinHttpClient;
pub use sleep::{SpinSleep, sleep};
pub use variables::SpinVariables;
