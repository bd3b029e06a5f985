//! health: `GET /healthz`, whether the app can read its key-value store (`platform::health`).
//!
//! A component of its own, with the store and nothing else (no variables, no outbound hosts):
//! on Spin every component of an app shares the store's connection, so it answers for all of
//! them, and it stays cheap enough to be called every few seconds.

use platform::KeyValueStore;
use platform::web::{Request, Response};
use spin_platform::SpinStore;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

/// A probe carries no body; anything larger is refused before the store is touched.
const MAX_BODY_BYTES: usize = 1024;

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(request, response_out, MAX_BODY_BYTES, respond).await;
}

async fn respond(request: Request) -> Response {
    let store = SpinStore::open_default();
    let response = platform::health::probe(
        &request,
        store.as_ref().map(|store| store as &dyn KeyValueStore).map_err(Clone::clone),
    );
    spin_platform::log_diagnostic("health", &response);
    response
}
