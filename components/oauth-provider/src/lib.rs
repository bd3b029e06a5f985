//! oauth-provider: the authorization server's metadata documents, `/register`, `/token` and
//! `/revoke` (routes in `spin.toml`). All logic is in `oauth_core::endpoints`; this component
//! only wires Spin's store, clock, variables and outbound HTTP into it.

mod directory;

use oauth_core::endpoints::{MAX_BODY_BYTES, OAuthError, Provider};
use oauth_core::rules::redirect_uri::RedirectPolicy;
use oauth_core::tokens::Rotation;
use platform::web::{self, Request, Response};
use platform::{SystemClock, Variables};
use spin_platform::{SpinSleep, SpinStore, SpinVariables};
use spin_sdk::http::{IncomingRequest, ResponseOutparam};

use directory::ClerkDirectory;

spin_platform::export_http_handler!(crate::handle);

async fn handle(request: IncomingRequest, response_out: ResponseOutparam) {
    spin_platform::serve(request, response_out, MAX_BODY_BYTES, respond).await;
}

async fn respond(request: Request) -> Response {
    let variables = SpinVariables;
    let configured = variables.get("public_base_url").ok().flatten();
    let base_url = web::base_url(&request, configured.as_deref());
    let store = match SpinStore::open_default() {
        Ok(store) => store,
        Err(error) => return OAuthError::store(&error).into_response(),
    };
    let grace = Rotation::grace_from(variables.get(Rotation::GRACE_VARIABLE).ok().flatten().as_deref());
    let refresh_grace_secs = match grace {
        Ok(secs) => secs,
        Err(error) => {
            return OAuthError::server_error(error.to_string()).into_response();
        }
    };
    let redirect_policy = match RedirectPolicy::from_variables(&variables) {
        Ok(policy) => policy,
        Err(error) => return OAuthError::server_error(error.to_string()).into_response(),
    };
    let directory = ClerkDirectory::from_variables(&variables);
    let provider = Provider {
        store: &store,
        clock: &SystemClock,
        directory: &directory,
        base_url,
        refresh_grace_secs,
        sleep: &SpinSleep,
        redirect_policy,
    };
    provider.handle(&request).await
}
