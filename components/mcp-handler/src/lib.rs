//! mcp-handler: `/mcp` (Streamable HTTP) and `/sse`, `/sse/message` (legacy HTTP+SSE).
//!
//! All protocol logic is in `mcp_server`; this component gives it the request's ports, and runs
//! the SSE stream's timing loop (the one thing that needs Spin's streaming response body and a
//! timer).

mod sse_stream;

use mcp_server::{MAX_BODY_BYTES, Route};
use platform::StoreError;
use platform::web::{Request, Response};
use spin_platform::Component;
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: Component = Component { name: "mcp-handler", max_body_bytes: MAX_BODY_BYTES, store_unavailable };

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let path = request.path_with_query().unwrap_or_default();
    if mcp_server::route_path(&path) == Route::SseStream {
        sse_stream::run(&COMPONENT, request, response_out).await;
    } else {
        spin_platform::serve(&COMPONENT, request, response_out, async |request, ports| {
            mcp_server::respond(ports, &request).await
        })
        .await;
    }
}

fn store_unavailable(_: &Request, error: &StoreError) -> Response {
    mcp_server::transport::store_unavailable(error)
}
