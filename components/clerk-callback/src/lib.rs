//! clerk-callback: the browser-facing routes `/authorize` (consent), `/callback` (Clerk's
//! redirect back) and `/apps` (the connected-apps page). All logic is in `sign_in_flow`; this
//! component only wires Spin's store, clock, variables and outbound HTTP (Clerk, client metadata
//! documents) into it, and writes the diagnostics it returns to the log.

use platform::SystemClock;
use platform::web::{Request, Response};
use sign_in_flow::{Env, MAX_BODY_BYTES, pages};
use spin_platform::{AfterResponse, SpinHttpClient, SpinStore, SpinVariables, StdoutAudit};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: &str = "clerk-callback";

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve_then(request, response_out, MAX_BODY_BYTES, respond).await;
}

/// The response, and the housekeeping to run once it is out (the request's share of the sweep).
async fn respond(request: Request) -> (Response, Option<AfterResponse>) {
    let store = match SpinStore::open_default() {
        Ok(store) => store,
        Err(_) => return (pages::unavailable_page(), None),
    };
    let audit = StdoutAudit::new(COMPONENT);
    let env = Env { store, clock: SystemClock, http: SpinHttpClient, vars: SpinVariables, audit };
    let response = sign_in_flow::handle(&env, &request).await;
    spin_platform::log_diagnostic(COMPONENT, &response);
    (response, Some(spin_platform::housekeeping_after(COMPONENT, env.store)))
}
