//! `platform`'s ports implemented with `spin-sdk`, shared by the three components so none of
//! them writes Spin glue itself.
//!
//! - [`SpinStore`]: the `default` key-value store; plain operations through
//!   `fermyon:spin/key-value`, compare-and-swap through `wasi:keyvalue/atomics` (Spin >= 3.1).
//!   Both interfaces see the same store.
//! - [`SpinVariables`]: component variables (`spin.toml` `[component.*.variables]`).
//! - [`SpinHttpClient`]: outbound `wasi:http` with connect/first-byte/between-bytes timeouts.
//! - [`serve`]: reads an incoming request with a body limit, runs a handler over `http` types
//!   and writes its response with its `content-length`, head and body in one write on Spin
//!   ([`response_body`]); [`start_streaming`] for streamed answers (`/sse`).

mod inbound;
mod kv;
mod outbound;
pub mod response_body;
mod variables;

pub use inbound::{BodyError, fields, read_request, serve, write_response};
pub use kv::SpinStore;
pub use outbound::SpinHttpClient;
pub use response_body::{BodyClosed, BodyWriter, start_streaming};
pub use variables::SpinVariables;
