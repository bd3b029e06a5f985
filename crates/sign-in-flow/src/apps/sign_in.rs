//! Signing in to `/apps`: the same trip to Clerk as `/authorize` (state, PKCE S256, nonce,
//! bound to the browser, single use, 10 minutes; the ID token's `iss`, `aud`, `exp` and `nonce`
//! checked), ending in a page session instead of a code for a client.
//!
//! A visit stores nothing: a browser without a session gets a page with a "Sign in" button
//! ([`page`]), and only the button's form post (`POST /apps/sign-in`, [`post`]) starts the trip,
//! after the same checks as the page's other forms: a form body, this server's `Origin`, and a
//! token that only the page served to this browser carries (an HMAC of its browser cookie), so
//! another site cannot make a visitor's browser start sign-ins. It then counts against the cap on
//! sign-ins in progress per address (`crate::admit_sign_in`).

use clerk_client::ClerkError;
use http::StatusCode;
use platform::web::{Request, Response, append_header};

use super::actions::{FormPost, refuse, same_origin_form};
use super::session;
use super::view::{notice_page, sign_in_page};
use crate::config::FlowConfig;
use crate::pages::error_page;
use crate::records::{AppsSignIn, Flow};
use crate::upstream::{self, StartError};
use crate::upstream::{ClerkAnswer, Unredeemed};
use crate::{Env, cookies};

/// Domain separation for the sign-in button's token.
const SIGN_IN_CONTEXT: &[u8] = b"mcp-clerk-oauth apps sign-in v1\n";

/// `GET /apps` without a session: the sign-in page (sets the browser cookie if missing).
pub(super) fn page(config: &FlowConfig, request: &Request, server_host: &str) -> Response {
    let Ok((browser, set_cookies)) = cookies::browser_or_new(request) else {
        return no_randomness();
    };
    let token = cookies::form_token(&config.cookie_key, SIGN_IN_CONTEXT, &browser);
    let mut response = sign_in_page(&token, &config.clerk.frontend_api, server_host);
    set_cookies.iter().for_each(|c| append_header(&mut response, "set-cookie", c));
    response
}

/// `POST /apps/sign-in`: sends the browser to Clerk; `/callback` brings it back to `/apps`.
pub(super) async fn post(env: &Env<'_>, request: &Request) -> Response {
    let FormPost { config, base, form, json } = match same_origin_form(env, request) {
        Ok(post) => post,
        Err(refused) => return *refused,
    };
    let token = platform::web::single_value(&form, "csrf_token").ok().flatten().unwrap_or_default();
    let Some(browser) = cookies::browser_id(request)
        .filter(|browser| cookies::form_token_matches(&config.cookie_key, SIGN_IN_CONTEXT, browser, token))
    else {
        let why = "This form was not submitted from the page this browser was shown (missing cookie or wrong token).";
        return refuse(json, StatusCode::FORBIDDEN, "Request not accepted", why);
    };
    if let Some(refused) = crate::admit_sign_in(env, request) {
        return refused;
    }
    match upstream::start(env, &config, &base, &browser, Flow::Apps(AppsSignIn {}), false).await {
        Ok(url) => upstream::redirect_with_cookies(&url, &[]),
        Err(StartError::Random) => no_randomness(),
        Err(StartError::Clerk(error)) => clerk_failed(&error),
        Err(StartError::Store) => storage_unavailable(),
    }
}

/// Clerk's answer to a sign-in that started at `/apps`: a session and back to the page.
pub(crate) async fn finish(env: &Env<'_>, answer: &ClerkAnswer<'_>) -> Response {
    let signed_in = match answer.redeem(env).await {
        Ok((_, signed_in)) => signed_in,
        Err(Unredeemed::Refused { error: "access_denied", .. }) => {
            return notice_page(
                StatusCode::OK,
                "Sign-in cancelled",
                "You cancelled the sign-in at Clerk.",
                "Sign in again",
            );
        }
        Err(Unredeemed::Refused { .. }) => {
            return error_page(StatusCode::BAD_GATEWAY, "Sign-in failed", "Clerk reported an error during sign-in.");
        }
        Err(Unredeemed::NoCode) => {
            return error_page(StatusCode::BAD_GATEWAY, "Sign-in failed", "Clerk returned no code.");
        }
        Err(Unredeemed::Misconfigured(e)) => {
            return error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &e.to_string());
        }
        Err(Unredeemed::Clerk(error)) => return clerk_failed(&error),
    };
    match session::start(env.ports.store, env.ports.clock, &signed_in.props) {
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
