//! `GET /callback`: Clerk sends the browser back here with `code` (or `error`) and our `state`.
//! The state is consumed once and must come from the browser that started the sign-in; it names
//! the flow to finish. For `/authorize`, whatever happens next the user ends up back at their
//! client with a code or a proper OAuth error; for `/apps`, at the connected-apps page with a
//! session ([`crate::apps`]). Every callback of an `/authorize` sign-in ends in the audit trail
//! as `sign_in.completed` or `sign_in.failed` (with what went wrong; an `error` Clerk sent back
//! through the browser is quoted apart, as `caller_text`), as does
//! every callback whose state cannot be used.

use clerk_client::{Clerk, UpstreamRequest};
use http::StatusCode;
use oauth_core::{CompleteError, ValidatedAuthorization, complete_authorization};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, AuditLog, Clock, Event, HttpClient, KeyValueStore, Variables};

use crate::authorize::clerk_failure;
use crate::config::FlowConfig;
use crate::pages::{self, error_page};
use crate::records::{self, Flow, Kind, TakeError, Upstream};
use crate::{Env, apps};

/// `GET /callback`.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
) -> Response {
    let query = web::query_pairs(request);
    let Some(state) = web::first_value(&query, "state").filter(|s| !s.is_empty()) else {
        sign_in_failed(env, request, None, "invalid_state", "the callback has no state");
        return bad_callback("The sign-in response has no state.");
    };
    // This browser's sign-in, then used up.
    let taken = records::take_for_browser(&env.store, &env.clock, Kind::Upstream, state, request, |_: &Upstream| true);
    let Upstream { flow, upstream, callback_url, .. } = match taken {
        Ok(upstream) => upstream,
        Err(error) => {
            let detail = "the state is unknown, expired, used or from another browser";
            sign_in_failed(env, request, None, take_error_code(&error), detail);
            return pages::cannot_use(Kind::Upstream, error);
        }
    };
    let answer = ClerkAnswer { query: &query, upstream: &upstream, callback_url: &callback_url };
    match flow {
        Flow::Authorize(validated) => finish_authorization(env, request, &validated, &answer).await,
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
async fn finish_authorization<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    validated: &ValidatedAuthorization,
    answer: &ClerkAnswer<'_>,
) -> Response {
    let client_id = Some(validated.client_id.as_str());
    let failed = |error: &str, detail: &str| sign_in_failed(env, request, client_id, error, detail);
    if let Some(error) = answer.param("error") {
        let (ours, description) = match error {
            "access_denied" => ("access_denied", "the user cancelled the sign-in at Clerk"),
            _ => ("server_error", "Clerk reported an error during sign-in"),
        };
        // What Clerk said came back through the browser: the caller's text, kept apart.
        let clerk_said = format!("error={error} error_description={}", answer.param("error_description").unwrap_or(""));
        let event = AuditEvent::new(Event::SignInFailed).error(ours).detail(description).caller_text(&clerk_said);
        env.record(request, event.client_id(&validated.client_id));
        return web::redirect(&validated.error_redirect(ours, description));
    }
    let Some(code) = answer.param("code").filter(|c| !c.is_empty()) else {
        failed("no_code", "Clerk returned no code");
        return web::redirect(&validated.error_redirect("server_error", "Clerk returned no code"));
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => {
            failed("server_misconfigured", &e.to_string());
            return web::redirect(&crate::authorize::misconfigured_redirect(validated, &e));
        }
    };
    let clerk = Clerk::new(config.clerk, &env.http, &env.store, &env.clock);
    let signed_in = match clerk.sign_in(code, answer.callback_url, answer.upstream).await {
        Ok(signed_in) => signed_in,
        Err(e) => {
            failed(e.code(), &e.log_detail());
            return web::redirect(&clerk_failure(validated, &e));
        }
    };
    let user_id = signed_in.props.user_id.clone();
    let completed = complete_authorization(&env.store, &env.clock, validated, signed_in.props);
    match &completed {
        Ok(_) => {
            let event = AuditEvent::new(Event::SignInCompleted).client_id(&validated.client_id).user_id(&user_id);
            env.record(request, event);
        }
        Err(error) => failed("not_completed", &error.to_string()),
    }
    match completed {
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

/// A `sign_in.failed` audit event: `error` is our code for what went wrong (or the one Clerk's
/// token endpoint answered, server to server), `detail` our description of it (never a code,
/// token or secret).
fn sign_in_failed<S, C, H, V, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    client_id: Option<&str>,
    error: &str,
    detail: &str,
) {
    let mut event = AuditEvent::new(Event::SignInFailed).error(error).detail(detail);
    if let Some(client_id) = client_id {
        event = event.client_id(client_id);
    }
    env.record(request, event);
}

/// The audit trail's name for why a state could not be used.
fn take_error_code(error: &TakeError<()>) -> &'static str {
    match error {
        TakeError::Missing => "invalid_state",
        TakeError::Used => "state_reused",
        TakeError::Refused(()) => "wrong_browser",
        TakeError::Store(_) => "store_unavailable",
    }
}

fn bad_callback(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This sign-in cannot continue", message)
}
