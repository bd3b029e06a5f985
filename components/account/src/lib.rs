//! account: `POST /webhooks/clerk`, through which Clerk tells this server that a user was
//! deleted, banned or changed role. All logic is in `clerk_webhooks`; this component only wires
//! Spin's store, clock, variables and audit trail into it, and writes the diagnostics it
//! returns to the log. It makes no outbound request.

use clerk_webhooks::{Host, MAX_BODY_BYTES, Settings};
use platform::SystemClock;
use platform::web::{Request, Response};
use spin_platform::{AfterResponse, SpinStore, SpinVariables, StdoutAudit};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: &str = "account";
/// This component's audit lines say `"component":"account"`.
const AUDIT: StdoutAudit = StdoutAudit::new(COMPONENT);

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve_then(request, response_out, MAX_BODY_BYTES, respond).await;
}

/// The response, and the housekeeping to run once it is out (the request's share of the sweep).
async fn respond(request: Request) -> (Response, Option<AfterResponse>) {
    let settings = match Settings::from_variables(&SpinVariables) {
        Ok(settings) => settings,
        Err(error) => return logged(clerk_webhooks::endpoint::misconfigured(&error), None),
    };
    let store = match SpinStore::open_default() {
        Ok(store) => store,
        Err(_) => return logged(clerk_webhooks::endpoint::store_unavailable(), None),
    };
    let response =
        clerk_webhooks::handle(Host { store: &store, clock: &SystemClock, audit: &AUDIT }, &settings, &request);
    logged(response, Some(spin_platform::housekeeping_after(COMPONENT, store)))
}

fn logged(response: Response, after: Option<AfterResponse>) -> (Response, Option<AfterResponse>) {
    spin_platform::log_diagnostic(COMPONENT, &response);
    (response, after)
}
