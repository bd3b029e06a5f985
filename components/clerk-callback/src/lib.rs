//! clerk-callback: the browser-facing routes `/authorize` (consent), `/callback` (Clerk's
//! redirect back) and `/apps` (the connected-apps page). All logic is in `sign_in_flow`; this
//! component only wires Spin's store, clock, variables and outbound HTTP (Clerk, client metadata
//! documents) into it, and writes the diagnostics it returns to the log.

use http::StatusCode;
use platform::SystemClock;
use platform::web::{Request, Response};
use sign_in_flow::{Env, MAX_BODY_BYTES, pages};
use spin_platform::{SpinHttpClient, SpinStore, SpinVariables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(request, response_out, MAX_BODY_BYTES, respond).await;
}

async fn respond(request: Request) -> Response {
    let store = match SpinStore::open_default() {
        Ok(store) => store,
        Err(error) => {
            return pages::error_page(StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", &error.to_string());
        }
    };
    let env = Env { store, clock: SystemClock, http: SpinHttpClient, vars: SpinVariables };
    let response = sign_in_flow::handle(&env, &request).await;
    spin_platform::log_diagnostic("clerk-callback", &response);
    response
}
