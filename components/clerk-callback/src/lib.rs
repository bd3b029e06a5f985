//! clerk-callback: the browser-facing routes `/authorize` (consent) and `/callback` (Clerk's
//! redirect back, which also finishes the sign-in of the connected-apps page that the account
//! component serves). All logic is in `sign_in_flow`; this component gives it the request's
//! ports.

use platform::StoreError;
use platform::web::{Request, Response};
use sign_in_flow::{MAX_BODY_BYTES, pages};
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: Component = Component { name: "clerk-callback", max_body_bytes: MAX_BODY_BYTES, store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
        sign_in_flow::handle_sign_in(ports, &request).await
    })
    .await;
}

fn store_unavailable(_: &Request, _: &StoreError) -> Response {
    pages::unavailable_page()
}
