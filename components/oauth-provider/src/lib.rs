//! oauth-provider: the authorization server's metadata documents, `/register`, `/token` and
//! `/revoke` (routes in `spin.toml`). All logic is in `oauth_core::endpoints`; this component
//! only wires Spin's store, clock, variables and outbound HTTP (Clerk's Backend API at refresh,
//! client metadata documents) into it, and writes the diagnostics it returns to the log.

mod directory;

use oauth_core::CimdSettings;
use oauth_core::endpoints::{Limits, MAX_BODY_BYTES, OAuthError, Provider};
use oauth_core::rules::redirect_uri::RedirectPolicy;
use oauth_core::tokens::Rotation;
use platform::web::{self, Request, Response};
use platform::{SystemClock, Variables};
use spin_platform::{AfterResponse, SpinHttpClient, SpinSleep, SpinStore, SpinVariables, StdoutAudit};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

use directory::ClerkDirectory;

spin_platform::export_http_handler!(crate::handle);

const COMPONENT: &str = "oauth-provider";
/// This component's audit lines say `"component":"oauth-provider"`.
const AUDIT: StdoutAudit = StdoutAudit::new(COMPONENT);

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve_then(request, response_out, MAX_BODY_BYTES, respond).await;
}

/// The response, and the housekeeping to run once it is out (the request's share of the sweep).
async fn respond(request: Request) -> (Response, Option<AfterResponse>) {
    let (store, settings) = match environment() {
        Ok(environment) => environment,
        Err(error) => return (error.into_response(), None),
    };
    let variables = SpinVariables;
    let configured = variables.get("public_base_url").ok().flatten();
    let base_url = match web::base_url(&request, configured.as_deref()) {
        Ok(base_url) => base_url,
        Err(error) => return (OAuthError::misdirected(&error).into_response(), None),
    };
    let cimd = match CimdSettings::from_variables(&variables, &base_url.url) {
        Ok(settings) => settings,
        Err(error) => return (OAuthError::misconfigured(error).into_response(), None),
    };
    let limits = match Limits::from_variables(&variables) {
        Ok(limits) => limits,
        Err(error) => return (OAuthError::misconfigured(error).into_response(), None),
    };
    let directory = ClerkDirectory::from_variables(&variables);
    let provider = Provider {
        store: &store,
        clock: &SystemClock,
        directory: &directory,
        base_url,
        refresh_grace_secs: settings.refresh_grace_secs,
        sleep: &SpinSleep,
        http: &SpinHttpClient,
        cimd,
        redirect_policy: settings.redirect_policy,
        limits,
        audit: &AUDIT,
    };
    let response = provider.handle(&request).await;
    spin_platform::log_diagnostic(COMPONENT, &response);
    (response, Some(spin_platform::housekeeping_after(COMPONENT, store)))
}

/// What the provider reads from Spin variables besides the base URL.
struct Settings {
    refresh_grace_secs: u64,
    redirect_policy: RedirectPolicy,
}

/// The store and settings every request needs, or the error to answer with (a broken variable
/// is named).
fn environment() -> Result<(SpinStore, Settings), OAuthError> {
    let variables = SpinVariables;
    let store = SpinStore::open_default().map_err(|error| OAuthError::store(&error))?;
    let grace = variables.get(Rotation::GRACE_VARIABLE).ok().flatten();
    let refresh_grace_secs = Rotation::grace_from(grace.as_deref()).map_err(OAuthError::misconfigured)?;
    let redirect_policy = RedirectPolicy::from_variables(&variables).map_err(OAuthError::misconfigured)?;
    Ok((store, Settings { refresh_grace_secs, redirect_policy }))
}
