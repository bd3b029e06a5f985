//! health: `GET /healthz`, whether the app can read its key-value store (`platform::health`).
//!
//! A component of its own, with the store and nothing else (no variables, no outbound hosts):
//! on Spin every component of an app shares the store's connection, so it answers for all of
//! them, and it stays cheap enough to be called every few seconds.

use platform::StoreError;
use platform::web::{Request, Response};
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

/// A probe carries no body; anything larger is refused before the store is touched.
const COMPONENT: Component = Component { name: "health", max_body_bytes: 1024, store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
        platform::health::probe(&request, Ok(ports.store))
    })
    .await;
}

/// The probe's answer when the store cannot even be opened.
fn store_unavailable(request: &Request, error: &StoreError) -> Response {
    platform::health::probe(request, Err(error.clone()))
}
