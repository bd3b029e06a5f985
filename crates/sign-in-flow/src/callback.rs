//! `GET /callback`: Clerk sends the browser back here with `code` (or `error`) and our `state`.
//! The state is consumed once and must come from the browser that started the sign-in; it names
//! the flow to finish. For `/authorize`, whatever happens next the user ends up back at their
//! client with a code or a proper OAuth error; for `/apps`, at the connected-apps page with a
//! session ([`crate::apps`]).

use clerk_client::{Clerk, UpstreamRequest};
use http::StatusCode;
use oauth_core::{CompleteError, ValidatedAuthorization, complete_authorization};
use platform::web::{self, Request, Response};
use platform::{Clock, HttpClient, KeyValueStore, Variables};

use crate::authorize::clerk_failure;
use crate::config::FlowConfig;
use crate::pages::{self, error_page};
use crate::records::{self, Flow, Kind, Upstream};
use crate::{Env, apps};

/// `GET /callback`.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
    request: &Request,
) -> Response {
    let query = web::query_pairs(request);
    let Some(state) = web::first_value(&query, "state").filter(|s| !s.is_empty()) else {
        return bad_callback("The sign-in response has no state.");
    };
    // This browser's sign-in, then used up.
    let taken = records::take_for_browser(&env.store, &env.clock, Kind::Upstream, state, request, |_: &Upstream| true);
    let Upstream { flow, upstream, callback_url, .. } = match taken {
        Ok(upstream) => upstream,
        Err(error) => return pages::cannot_use(Kind::Upstream, error),
    };
    let answer = ClerkAnswer { query: &query, upstream: &upstream, callback_url: &callback_url };
    match flow {
        Flow::Authorize(validated) => finish_authorization(env, &validated, &answer).await,
        Flow::Apps(_) => apps::finish_sign_in(env, &answer).await,
    }
}

/// What Clerk sent back, with the trip it answers.
pub(crate) struct ClerkAnswer<'a> {
    pub query: &'a [(String, String)],
    pub upstream: &'a UpstreamRequest,
    pub callback_url: &'a str,
}

impl ClerkAnswer<'_> {
    pub fn param(&self, name: &str) -> Option<&str> {
        web::first_value(self.query, name)
    }
}

/// The `/authorize` flow: the MCP client gets a code, or a proper OAuth error.
async fn finish_authorization<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables>(
    env: &Env<S, C, H, V>,
    validated: &ValidatedAuthorization,
    answer: &ClerkAnswer<'_>,
) -> Response {
    if let Some(error) = answer.param("error") {
        let (ours, description) = match error {
            "access_denied" => ("access_denied", "the user cancelled the sign-in at Clerk"),
            _ => ("server_error", "Clerk reported an error during sign-in"),
        };
        return web::redirect(&validated.error_redirect(ours, description));
    }
    let Some(code) = answer.param("code").filter(|c| !c.is_empty()) else {
        return web::redirect(&validated.error_redirect("server_error", "Clerk returned no code"));
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return web::redirect(&crate::authorize::misconfigured_redirect(validated, &e)),
    };
    let clerk = Clerk::new(config.clerk, &env.http, &env.store, &env.clock);
    let signed_in = match clerk.sign_in(code, answer.callback_url, answer.upstream).await {
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
