//! Signing in to `/apps`: the same trip to Clerk as `/authorize` (state, PKCE S256, nonce,
//! bound to the browser, single use, 10 minutes; the ID token's `iss`, `aud`, `exp` and `nonce`
//! checked), ending in a page session instead of a code for a client.

use clerk_client::{Clerk, ClerkError};
use http::StatusCode;
use platform::secret::random_token;
use platform::web::{Request, Response};
use platform::{AuditLog, Clock, HttpClient, KeyValueStore, Variables};

use super::session;
use super::view::notice_page;
use crate::callback::ClerkAnswer;
use crate::config::FlowConfig;
use crate::pages::error_page;
use crate::records::{AppsSignIn, Flow};
use crate::upstream::{self, StartError};
use crate::{Env, cookies};

/// Sends a browser without a session to Clerk; `/callback` brings it back to `/apps`.
pub(super) async fn start<S: KeyValueStore, C: Clock, H: HttpClient, V, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    config: &FlowConfig,
    request: &Request,
    base: &str,
) -> Response {
    let (browser, set_cookies) = match cookies::browser_id(request) {
        Some(id) => (id, Vec::new()),
        None => match random_token() {
            Ok(id) => (id.clone(), vec![cookies::browser_set_cookie(&id)]),
            Err(_) => return no_randomness(),
        },
    };
    match upstream::start(env, config, base, &browser, Flow::Apps(AppsSignIn {})).await {
        Ok(url) => upstream::redirect_with_cookies(&url, &set_cookies),
        Err(StartError::Random) => no_randomness(),
        Err(StartError::Clerk(error)) => clerk_failed(&error),
        Err(StartError::Store) => storage_unavailable(),
    }
}

/// Clerk's answer to a sign-in that started at `/apps`: a session and back to the page.
pub(crate) async fn finish<S: KeyValueStore, C: Clock, H: HttpClient, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    answer: &ClerkAnswer<'_>,
) -> Response {
    if let Some(error) = answer.param("error") {
        return if error == "access_denied" {
            notice_page(StatusCode::OK, "Sign-in cancelled", "You cancelled the sign-in at Clerk.", "Sign in again")
        } else {
            error_page(StatusCode::BAD_GATEWAY, "Sign-in failed", "Clerk reported an error during sign-in.")
        };
    }
    let Some(code) = answer.param("code").filter(|c| !c.is_empty()) else {
        return error_page(StatusCode::BAD_GATEWAY, "Sign-in failed", "Clerk returned no code.");
    };
    let config = match FlowConfig::from_variables(&env.vars) {
        Ok(config) => config,
        Err(e) => return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &e.to_string()),
    };
    let clerk = Clerk::new(config.clerk, &env.http, &env.store, &env.clock);
    let signed_in = match clerk.sign_in(code, answer.callback_url, answer.upstream).await {
        Ok(signed_in) => signed_in,
        Err(error) => return clerk_failed(&error),
    };
    match session::start(&env.store, &env.clock, &signed_in.props) {
        Ok(session) => upstream::redirect_with_cookies("/apps", &[session.set_cookie()]),
        Err(session::StartError::Random(_)) => no_randomness(),
        Err(session::StartError::Store(_)) => storage_unavailable(),
    }
}

fn clerk_failed(error: &ClerkError) -> Response {
    match error {
        ClerkError::UserGone { .. } => {
            error_page(StatusCode::FORBIDDEN, "Sign-in refused", "This account may not sign in.")
        }
        e if e.is_temporary() => error_page(
            StatusCode::SERVICE_UNAVAILABLE,
            "Sign-in unavailable",
            "The sign-in service (Clerk) is unavailable. Please try again in a moment.",
        ),
        _ => error_page(StatusCode::BAD_GATEWAY, "Sign-in failed", "Signing in with Clerk failed."),
    }
}

fn no_randomness() -> Response {
    error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server error", "The server could not create a secret.")
}

pub(super) fn storage_unavailable() -> Response {
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        "The server could not reach its storage. Please try again in a moment.",
    )
}
