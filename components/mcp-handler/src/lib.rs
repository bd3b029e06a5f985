//! mcp-handler: `/mcp` (Streamable HTTP) and `/sse`, `/sse/message` (legacy HTTP+SSE).
//!
//! All protocol logic is in `mcp_server`; this component wires Spin's store, clock,
//! variables and outbound HTTP into it, and runs the SSE stream's timing loop (the one
//! thing that needs Spin's streaming response body and a timer).

mod sse_stream;

use mcp_server::{McpConfig, Route, Services};
use platform::SystemClock;
use platform::web::Response;
use spin_platform::{AfterResponse, SpinHttpClient, SpinStore, SpinVariables, StdoutAudit};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: &str = "mcp-handler";
/// This component's audit lines say `"component":"mcp-handler"`.
const AUDIT: StdoutAudit = StdoutAudit::new(COMPONENT);

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    let path = request.path_with_query().unwrap_or_default();
    if mcp_server::route_path(&path) == Route::SseStream {
        sse_stream::run(request, response_out).await;
    } else {
        spin_platform::serve_then(request, response_out, mcp_server::MAX_BODY_BYTES, respond_and_log).await;
    }
}

/// [`respond`], writing the response's diagnostic (what it hides from the caller) to the log,
/// and the housekeeping to run once it is out (nothing for a request that stored nothing, such
/// as every `/mcp` call with the default settings).
async fn respond_and_log(request: platform::web::Request) -> (Response, Option<AfterResponse>) {
    let (store, config) = match environment() {
        Ok(environment) => environment,
        Err(response) => {
            spin_platform::log_diagnostic(COMPONENT, &response);
            return (*response, None);
        }
    };
    let response = respond(&request, &store, &config).await;
    spin_platform::log_diagnostic(COMPONENT, &response);
    (response, Some(spin_platform::housekeeping_after(COMPONENT, store)))
}

/// The buffered endpoints: `/mcp` and `/sse/message`.
async fn respond(request: &platform::web::Request, store: &SpinStore, config: &McpConfig) -> Response {
    let services = Services { store, clock: &SystemClock, http: SpinHttpClient, config, audit: &AUDIT };
    match mcp_server::route(request) {
        Route::Mcp => mcp_server::handle_mcp(request, &services).await,
        Route::SseMessage => mcp_server::sse::handle_message(request, &services).await,
        Route::SseStream | Route::NotFound => mcp_server::transport::not_found(),
    }
}

/// The store and configuration every request needs, or the error response to send.
fn environment() -> Result<(SpinStore, McpConfig), Box<Response>> {
    let config =
        McpConfig::from_variables(&SpinVariables).map_err(|e| Box::new(mcp_server::transport::config_error(&e)))?;
    let store = SpinStore::open_default().map_err(|e| Box::new(mcp_server::transport::store_unavailable(&e)))?;
    Ok((store, config))
}
