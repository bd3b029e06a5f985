//! account: `POST /webhooks/clerk`, through which Clerk tells this server that a user was
//! deleted, banned or changed role. All logic is in `clerk_webhooks`; this component gives it
//! the request's ports. It makes no outbound request.

use clerk_webhooks::MAX_BODY_BYTES;
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: Component =
    Component { name: "account", max_body_bytes: MAX_BODY_BYTES, store_unavailable: clerk_webhooks::store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
        clerk_webhooks::handle(ports, &request)
    })
    .await;
}
