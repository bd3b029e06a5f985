//! `GET /callback`: Clerk sends the browser back here with `code` (or `error`) and our `state`.
//! The state is consumed once, must come from the browser that consented, and whatever happens
//! next the user ends up back at their client with a code or a proper OAuth error.

use clerk_client::Clerk;
use http::StatusCode;
use oauth_core::{CompleteError, complete_authorization};
use platform::web::{self, Request, Response};
use platform::{Clock, HttpClient, KeyValueStore, Variables};
use subtle::ConstantTimeEq;

use crate::authorize::clerk_failure;
use crate::config::FlowConfig;
use crate::pages::error_page;
use crate::records::{self, Kind, TakeError, Upstream};
use crate::{Env, cookies};

/// `GET /callback`.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
    request: &Request,
) -> Response {
    let query = web::query_pairs(request);
    let param = |name: &str| web::first_value(&query, name);
    let Some(state) = param("state").filter(|s| !s.is_empty()) else {
        return bad_callback("The sign-in response has no state.");
    };
    let upstream = match take_state(env, request, state) {
        Ok(upstream) => upstream,
        Err(page) => return *page,
    };
    let validated = &upstream.validated;
    if let Some(error) = param("error") {
        let (ours, description) = match error {
            "access_denied" => ("access_denied", "the user cancelled the sign-in at Clerk"),
            _ => ("server_error", "Clerk reported an error during sign-in"),
        };
        return web::redirect(&validated.error_redirect(ours, description));
    }
    let Some(code) = param("code").filter(|c| !c.is_empty()) else {
        return web::redirect(&validated.error_redirect("server_error", "Clerk returned no code"));
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return web::redirect(&crate::authorize::misconfigured_redirect(validated, &e)),
    };
    let clerk = Clerk::new(config.clerk, &env.http, &env.store, &env.clock);
    let signed_in = match clerk.sign_in(code, &upstream.callback_url, &upstream.upstream).await {
        Ok(signed_in) => signed_in,
        Err(e) => return web::redirect(&clerk_failure(validated, &e)),
    };
    match complete_authorization(&env.store, &env.clock, validated, signed_in.props) {
        Ok(location) => web::redirect(&location),
        Err(CompleteError::ClientGone) => {
            error_page(StatusCode::BAD_REQUEST, "The app is no longer registered", "Start again from your app.")
        }
        Err(CompleteError::Store(_)) => {
            web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"))
        }
        Err(CompleteError::Random(_)) => web::redirect(&validated.error_redirect("server_error", "no randomness")),
    }
}

fn bad_callback(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This sign-in cannot continue", message)
}

/// Finds the upstream state, checks it belongs to this browser, then uses it up.
fn take_state<S: KeyValueStore, C: Clock, H, V>(
    env: &Env<S, C, H, V>,
    request: &Request,
    state: &str,
) -> Result<Upstream, Box<Response>> {
    let same_browser = |upstream: &Upstream| {
        let ok = cookies::browser_id(request).is_some_and(|id| {
            bool::from(cookies::browser_hash(&id).as_bytes().ct_eq(upstream.browser_hash.as_bytes()))
        });
        if ok { Ok(()) } else { Err(()) }
    };
    records::take(&env.store, &env.clock, Kind::Upstream, state, same_browser).map_err(|error| {
        Box::new(match error {
            TakeError::Missing => bad_callback("This sign-in is unknown or has expired. Start again from your app."),
            TakeError::Used => bad_callback("This sign-in response was already used."),
            TakeError::Refused(()) => bad_callback(
                "This sign-in was started in another browser (its cookie is missing here). Start again from your app in this browser.",
            ),
            TakeError::Store(_) => unavailable(),
        })
    })
}

fn unavailable() -> Response {
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "Please try again in a moment.")
}
