//! The browser-facing half of the authorization server, host-agnostic: `GET /authorize`
//! (validate, remembered approval or consent page), `POST /authorize` (approve or deny) and
//! `GET /callback` (Clerk's answer), over `http` types with the platform ports.
//!
//! The parts:
//! - [`config`]: Clerk settings and the cookie key, from Spin variables.
//! - [`cookies`]: the browser-binding cookie and the signed approval cookie (a hint).
//! - [`consent`]: the consent form, sealed into the page (a consent page stores nothing).
//! - [`records`]: the one-time upstream state of a trip to Clerk (key names in `keys`).
//! - [`approvals`]: remembered approvals, per (Clerk user, client), kept by the server.
//! - [`authorize`], [`callback`]: the handlers; [`pages`]: the consent and error pages.
//! - [`apps`]: the connected-apps page (`/apps`), signed in through the same trip to Clerk.
//!
//! Confused-deputy protections (MCP security best practices): the consent page names the
//! client, its redirect host and the scopes; consent is CSRF-protected and bound to the browser;
//! the upstream `state` is created only after consent, stored server-side, bound to the browser
//! by a cookie, single use and short-lived; remembered approvals are per user, client *and*
//! redirect URI, checked by the server for whoever Clerk signs in, and end at a revocation.
//!
//! Abuse: every request to `/authorize`, `/callback` and `/apps` counts against one per-address limit
//! (`rate_limit_sign_in_per_minute`, `platform::rate_limit::SIGN_IN`); past it the browser gets
//! a 429 page. Nothing is stored before a form is posted; each request that stores sign-in state
//! (a used consent form, a trip to Clerk) also counts against a cap on such state alive per
//! address (`sign_in_max_pending_per_address`, [`admit_sign_in`]). Consent decisions and the end
//! of each sign-in go to the audit trail.

pub mod approvals;
pub mod apps;
pub mod authorize;
pub mod callback;
mod complete;
pub mod config;
pub mod consent;
pub mod cookies;
mod keys;
pub mod pages;
pub mod records;
pub mod scope_lines;
mod upstream;

use http::StatusCode;
use platform::rate_limit::{self, Limit, Subject, Verdict};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, Clock, Event, KeyValueStore, Ports, VariableError};

pub use config::{FlowConfig, Settings};

/// The largest request body `/authorize` accepts (the consent form is tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// One request: the ports the component built, and this crate's [`Settings`], read once.
pub struct Env<'a> {
    pub ports: Ports<'a>,
    pub settings: Settings,
}

impl Env<'_> {
    /// Records `event` about `request` (with the caller's address).
    pub(crate) fn record(&self, request: &Request, event: AuditEvent) {
        self.ports.audit.record(event.client_addr(web::client_ip(request)));
    }
}

/// Routes `/authorize`, `/callback` and `/apps`, with the settings read from `ports`' variables
/// (the routes of both [`handle_sign_in`] and [`handle_apps`]).
pub async fn handle(ports: Ports<'_>, request: &Request) -> Response {
    if is_apps_path(web::path(request)) {
        handle_apps(ports, request).await
    } else {
        handle_sign_in(ports, request).await
    }
}

/// Routes `/authorize` and `/callback` (the clerk-callback component).
pub async fn handle_sign_in(ports: Ports<'_>, request: &Request) -> Response {
    let env = Env { ports, settings: Settings::from_variables(ports.variables) };
    let path = web::path(request);
    // Every route here can start a trip to Clerk (and store its state) or finish one.
    if matches!(path, "/authorize" | "/callback")
        && let Some(refusal) = rate_limited(&env, request)
    {
        return refusal;
    }
    let env = &env;
    match (path, request.method().as_str()) {
        ("/authorize", "GET") => authorize::get(env, request).await,
        ("/authorize", "POST") => authorize::post(env, request).await,
        ("/authorize", _) => platform::web::method_not_allowed("GET, POST"),
        ("/callback", "GET") => callback::get(env, request).await,
        ("/callback", _) => platform::web::method_not_allowed("GET"),
        _ => pages::error_page(http::StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
    }
}

/// Routes `/apps` and everything under it, the operator console included (the account
/// component). The sign-in it starts comes back through `/callback`.
pub async fn handle_apps(ports: Ports<'_>, request: &Request) -> Response {
    let env = Env { ports, settings: Settings::from_variables(ports.variables) };
    if !is_apps_path(web::path(request)) {
        return pages::error_page(http::StatusCode::NOT_FOUND, "Not found", "There is nothing here.");
    }
    // Every route here can start a trip to Clerk (and store its state).
    if let Some(refusal) = rate_limited(&env, request) {
        return refusal;
    }
    apps::handle(&env, request).await
}

fn is_apps_path(path: &str) -> bool {
    path == "/apps" || path.starts_with("/apps/")
}

/// The 429 page when this address is past the sign-in limit (recorded in the audit trail), or
/// `None`. A store that cannot count lets the request through (see `platform::rate_limit`).
fn rate_limited(env: &Env<'_>, request: &Request) -> Option<Response> {
    refused_by(env, request, &env.settings.sign_in_limit, Limit::hit, pages::too_many_requests)
}

/// Admits one more piece of sign-in state from this request's address (a used consent form, a
/// trip to Clerk) under the cap on what one address may have alive
/// (`platform::rate_limit::SIGN_IN_PENDING`), or the 429 page (recorded in the audit trail). Call
/// it after every check of the request, just before storing. A store that cannot count lets the
/// request through (it then meets the same store).
pub(crate) fn admit_sign_in(env: &Env<'_>, request: &Request) -> Option<Response> {
    refused_by(env, request, &env.settings.pending_limit, Limit::hit_live, pages::too_many_pending)
}

/// How a limit counts a request ([`Limit::hit`], [`Limit::hit_live`]).
type Count = fn(&Limit, &dyn KeyValueStore, &dyn Clock, Subject<'_>) -> rate_limit::Outcome;

/// `page` (recorded in the audit trail) when `count`ing this request's address against the limit
/// `limit` refuses it; a 500 page naming the variable when its variable is malformed.
fn refused_by(
    env: &Env<'_>,
    request: &Request,
    limit: &Result<Limit, VariableError>,
    count: Count,
    page: fn(u64) -> Response,
) -> Option<Response> {
    let limit = match limit {
        Ok(limit) => limit,
        Err(error) => {
            let page = pages::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &error.to_string());
            return Some(page);
        }
    };
    let Ok(Verdict::Limited { retry_after }) =
        count(limit, env.ports.store, env.ports.clock, Subject::Address(web::client_ip(request)))
    else {
        return None;
    };
    env.record(request, AuditEvent::new(Event::RateLimited).limit(limit.name).retry_after(retry_after));
    Some(page(retry_after))
}

#[cfg(test)]
mod tests;
