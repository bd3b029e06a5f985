//! `platform`'s ports implemented with `spin-sdk`, shared by the three components so none of
//! them writes Spin glue itself.
//!
//! - [`StdoutAudit`]: the audit trail, one JSON line per event on stdout.
//! - [`SpinStore`]: the `default` key-value store; plain operations through
//!   `fermyon:spin/key-value`, atomic `increment` through `wasi:keyvalue/atomics` (Spin >= 3.1).
//!   Both interfaces see the same store. No compare-and-swap (Spin 4.1's Redis store misreports it).
//! - [`SpinSleep`] / [`sleep`]: waiting on a monotonic-clock pollable.
//! - [`SpinVariables`]: component variables (`spin.toml` `[component.*.variables]`).
//! - [`SpinHttpClient`]: outbound `wasi:http` with connect/first-byte/between-bytes timeouts.
//! - [`SpinPorts`]: all of them as the `platform::Ports` of one request.
//! - [`ComponentLog`]: the operator's log, the component's stderr (the one log channel).
//! - [`Component`] and [`serve`]: the edge every component shares: reads an incoming request
//!   with a body limit and the shared `platform::Settings` applied, opens the ports, runs the
//!   library over `http` types, logs the response's diagnostic, writes the response with its
//!   `content-length` (head and body in one write on Spin, [`response_body`]), then runs the
//!   housekeeping the request owes; [`start_streaming`] for streamed answers (`/sse`).
//! - [`export_http_handler!`]: makes a function the component's `wasi:http` entry point.

mod audit;
mod component;
mod inbound;
mod kv;
mod log;
mod outbound;
pub mod response_body;
mod sleep;
mod variables;

pub use audit::StdoutAudit;
pub use component::{Component, SpinPorts, serve};
pub use inbound::{BodyError, fields, read_request, write_response};
pub use kv::SpinStore;
pub use log::ComponentLog;
pub use outbound::SpinHttpClient;
pub use response_body::{BodyClosed, BodyWriter, start_streaming};
pub use sleep::{SpinSleep, sleep};
pub use variables::SpinVariables;

/// Exports `$handler` (an `async fn(IncomingRequest, ResponseOutparam)`) as the component's
/// `wasi:http` entry point, through spin-sdk's `#[http_component]`.
///
/// That attribute expands to export glue that handles raw WIT resource handles, which is
/// `unsafe` code; the workspace denies `unsafe_code`, so the one allowance lives in this
/// expansion instead of in each component.
#[macro_export]
macro_rules! export_http_handler {
    ($handler:path) => {
        #[allow(unsafe_code, reason = "spin-sdk's #[http_component] export glue")]
        mod spin_http_export {
            #[::spin_sdk::http_component]
            async fn handle(request: ::spin_sdk::http::IncomingRequest, out: ::spin_sdk::http::ResponseOutparam) {
                $handler(request, out).await
            }
        }
    };
}
