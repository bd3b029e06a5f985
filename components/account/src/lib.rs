//! account: the user's and the operator's pages and Clerk's word on its users: `/apps` (the
//! connected-apps page), `/apps/admin` (the operator console) and `POST /webhooks/clerk`
//! (Clerk's webhooks end or narrow users' access). All logic is in `sign_in_flow` (the pages,
//! signed in through clerk-callback's `/callback`) and `clerk_webhooks`; this component gives
//! them the request's ports.

use platform::StoreError;
use platform::web::{self, Request, Response};
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

/// The webhook's body limit, the larger of the two (the pages refuse large forms themselves).
const COMPONENT: Component =
    Component { name: "account", max_body_bytes: clerk_webhooks::MAX_BODY_BYTES, store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
        if web::path(&request) == clerk_webhooks::PATH {
            clerk_webhooks::handle(ports, &request)
        } else {
            sign_in_flow::handle_apps(ports, &request).await
        }
    })
    .await;
}

fn store_unavailable(request: &Request, error: &StoreError) -> Response {
    if web::path(request) == clerk_webhooks::PATH {
        clerk_webhooks::store_unavailable(request, error)
    } else {
        sign_in_flow::pages::unavailable_page()
    }
}
