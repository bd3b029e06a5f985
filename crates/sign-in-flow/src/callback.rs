//! `GET /callback`: Clerk sends the browser back here with `code` (or `error`) and our `state`.
//! The state is consumed once, must come from the browser that consented, and whatever happens
//! next the user ends up back at their client with a code or a proper OAuth error. Every
//! callback ends in the audit trail as `sign_in.completed` or `sign_in.failed` (with Clerk's
//! error, or what went wrong).

use clerk_client::Clerk;
use http::StatusCode;
use oauth_core::{CompleteError, complete_authorization};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, AuditLog, Clock, Event, HttpClient, KeyValueStore, Variables};
use subtle::ConstantTimeEq;

use crate::authorize::clerk_failure;
use crate::config::FlowConfig;
use crate::pages::error_page;
use crate::records::{self, Kind, TakeError, Upstream};
use crate::{Env, cookies};

/// `GET /callback`.
pub async fn get<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
) -> Response {
    let query = web::query_pairs(request);
    let param = |name: &str| web::first_value(&query, name);
    let failed = |client_id: Option<&str>, error: &str, detail: &str| {
        let mut event = AuditEvent::new(Event::SignInFailed).error(error).detail(detail);
        if let Some(client_id) = client_id {
            event = event.client_id(client_id);
        }
        env.record(request, event);
    };
    let Some(state) = param("state").filter(|s| !s.is_empty()) else {
        failed(None, "invalid_state", "the callback has no state");
        return bad_callback("The sign-in response has no state.");
    };
    let upstream = match take_state(env, request, state) {
        Ok(upstream) => upstream,
        Err((error, page)) => {
            failed(None, error, "the state is unknown, expired, used or from another browser");
            return *page;
        }
    };
    let validated = &upstream.validated;
    let client_id = Some(validated.client_id.as_str());
    if let Some(error) = param("error") {
        let (ours, description) = match error {
            "access_denied" => ("access_denied", "the user cancelled the sign-in at Clerk"),
            _ => ("server_error", "Clerk reported an error during sign-in"),
        };
        failed(client_id, error, &format!("Clerk: {}", param("error_description").unwrap_or(description)));
        return web::redirect(&validated.error_redirect(ours, description));
    }
    let Some(code) = param("code").filter(|c| !c.is_empty()) else {
        failed(client_id, "no_code", "Clerk returned no code");
        return web::redirect(&validated.error_redirect("server_error", "Clerk returned no code"));
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => {
            failed(client_id, "server_misconfigured", &e.to_string());
            return web::redirect(&validated.error_redirect("server_error", &e.to_string()));
        }
    };
    let clerk = Clerk::new(config.clerk, &env.http, &env.store, &env.clock);
    let signed_in = match clerk.sign_in(code, &upstream.callback_url, &upstream.upstream).await {
        Ok(signed_in) => signed_in,
        Err(e) => {
            failed(client_id, e.code(), &e.log_detail());
            return web::redirect(&clerk_failure(validated, &e));
        }
    };
    let user_id = signed_in.props.user_id.clone();
    match complete_authorization(&env.store, &env.clock, validated, signed_in.props) {
        Ok(location) => {
            let completed = AuditEvent::new(Event::SignInCompleted).client_id(&validated.client_id);
            env.record(request, completed.user_id(&user_id));
            web::redirect(&location)
        }
        Err(error) => {
            failed(client_id, "not_completed", &error.to_string());
            match error {
                CompleteError::ClientGone => {
                    error_page(StatusCode::BAD_REQUEST, "The app is no longer registered", "Start again from your app.")
                }
                CompleteError::Store(_) => {
                    web::redirect(&validated.error_redirect("temporarily_unavailable", "storage is unavailable"))
                }
                CompleteError::Random(_) => web::redirect(&validated.error_redirect("server_error", "no randomness")),
            }
        }
    }
}

fn bad_callback(message: &str) -> Response {
    error_page(StatusCode::BAD_REQUEST, "This sign-in cannot continue", message)
}

/// Finds the upstream state, checks it belongs to this browser, then uses it up; or the audit
/// trail's error code and the page to show.
fn take_state<S: KeyValueStore, C: Clock, H, V, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
    state: &str,
) -> Result<Upstream, (&'static str, Box<Response>)> {
    let same_browser = |upstream: &Upstream| {
        let ok = cookies::browser_id(request).is_some_and(|id| {
            bool::from(cookies::browser_hash(&id).as_bytes().ct_eq(upstream.browser_hash.as_bytes()))
        });
        if ok { Ok(()) } else { Err(()) }
    };
    records::take(&env.store, &env.clock, Kind::Upstream, state, same_browser).map_err(|error| {
        let (code, page) = match error {
            TakeError::Missing => {
                ("invalid_state", bad_callback("This sign-in is unknown or has expired. Start again from your app."))
            }
            TakeError::Used => ("state_reused", bad_callback("This sign-in response was already used.")),
            TakeError::Refused(()) => (
                "wrong_browser",
                bad_callback(
                    "This sign-in was started in another browser (its cookie is missing here). Start again from your app in this browser.",
                ),
            ),
            TakeError::Store(_) => ("store_unavailable", unavailable()),
        };
        (code, Box::new(page))
    })
}

fn unavailable() -> Response {
    error_page(StatusCode::SERVICE_UNAVAILABLE, "Temporarily unavailable", "Please try again in a moment.")
}
