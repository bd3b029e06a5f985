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

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve_then(request, response_out, MAX_BODY_BYTES, respond).await;
}

/// The response, and the hourly sweep of sign-in records to run once it is out when this
/// exchange calls for it.
async fn respond(request: Request) -> (Response, Option<AfterResponse>) {
    let store = match SpinStore::open_default() {
        Ok(store) => store,
        Err(_) => return (pages::unavailable_page(), None),
    };
    let audit = StdoutAudit::new("clerk-callback");
    let env = Env { store, clock: SystemClock, http: SpinHttpClient, vars: SpinVariables, audit };
    let response = sign_in_flow::handle(&env, &request).await;
    spin_platform::log_diagnostic("clerk-callback", &response);
    if !sign_in_flow::sweeps_after(&request, &response) {
        return (response, None);
    }
    let sweep = move || {
        let _ = sign_in_flow::sweep::sweep_if_due(&env.store, &env.clock);
    };
    (response, Some(Box::new(sweep)))
}
