//! The browser-facing half of the authorization server, host-agnostic: `GET /authorize`
//! (validate, remembered approval or consent page), `POST /authorize` (approve or deny) and
//! `GET /callback` (Clerk's answer), over `http` types with the platform ports.
//!
//! The parts:
//! - [`config`]: Clerk settings and the cookie key, from Spin variables.
//! - [`cookies`]: the browser-binding cookie and the signed approval cookie.
//! - [`records`]: the one-time consent handle and upstream state (key names in `keys`).
//! - [`authorize`], [`callback`]: the handlers; [`pages`]: the consent and error pages.
//! - [`apps`]: the connected-apps page (`/apps`), signed in through the same trip to Clerk.
//!
//! Confused-deputy protections (MCP security best practices): the consent page names the
//! client, its redirect host and the scopes; consent is CSRF-protected and bound to the browser;
//! the upstream `state` is created only after consent, stored server-side, bound to the browser
//! by a cookie, single use and short-lived; remembered approvals are per client *and* redirect URI.
//!
//! Abuse: every request to `/authorize`, `/callback` and `/apps` counts against one per-address limit
//! (`rate_limit_sign_in_per_minute`, `platform::rate_limit::SIGN_IN`); past it the browser gets
//! a 429 page. Consent decisions and the end of each sign-in go to the audit trail.

pub mod apps;
pub mod authorize;
pub mod callback;
pub mod config;
pub mod cookies;
mod keys;
pub mod pages;
pub mod records;
mod upstream;

use http::StatusCode;
use platform::rate_limit::{self, Subject, Verdict};
use platform::web::{self, Request, Response};
use platform::{AuditEvent, AuditLog, Clock, Event, HttpClient, KeyValueStore, Variables};

pub use config::FlowConfig;

/// The largest request body `/authorize` accepts (the consent form is tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The ports a request runs with.
pub struct Env<S, C, H, V, A> {
    pub store: S,
    pub clock: C,
    pub http: H,
    pub vars: V,
    /// Where security events go.
    pub audit: A,
}

impl<S, C, H, V, A: AuditLog> Env<S, C, H, V, A> {
    /// Records `event` about `request` (with the caller's address).
    pub(crate) fn record(&self, request: &Request, event: AuditEvent) {
        self.audit.record(event.client_addr(web::client_ip(request)));
    }
}

/// Routes `/authorize`, `/callback` and `/apps`.
pub async fn handle<S, C, H, V, A>(env: &Env<S, C, H, V, A>, request: &Request) -> Response
where
    S: KeyValueStore,
    C: Clock,
    H: HttpClient,
    V: Variables,
    A: AuditLog,
{
    let method = request.method().as_str();
    let path = platform::web::path(request);
    // Every route here can start a trip to Clerk (and store its state) or finish one.
    if (matches!(path, "/authorize" | "/callback") || path == "/apps" || path.starts_with("/apps/"))
        && let Some(refusal) = rate_limited(env, request)
    {
        return refusal;
    }
    match (path, method) {
        ("/authorize", "GET") => authorize::get(env, request).await,
        ("/authorize", "POST") => authorize::post(env, request).await,
        ("/authorize", _) => platform::web::method_not_allowed("GET, POST"),
        ("/callback", "GET") => callback::get(env, request).await,
        ("/callback", _) => platform::web::method_not_allowed("GET"),
        (path, _) if path == "/apps" || path.starts_with("/apps/") => apps::handle(env, request).await,
        _ => pages::error_page(http::StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
    }
}

/// The 429 page when this address is past the sign-in limit (recorded in the audit trail), or
/// `None`. A store that cannot count lets the request through (see `platform::rate_limit`).
fn rate_limited<S: KeyValueStore, C: Clock, H, V: Variables, A: AuditLog>(
    env: &Env<S, C, H, V, A>,
    request: &Request,
) -> Option<Response> {
    let limit = match rate_limit::SIGN_IN.from_variables(&env.vars) {
        Ok(limit) => limit,
        Err(error) => {
            let page = pages::error_page(StatusCode::INTERNAL_SERVER_ERROR, "Server misconfigured", &error.to_string());
            return Some(page);
        }
    };
    let Ok(Verdict::Limited { retry_after }) =
        limit.hit(&env.store, &env.clock, Subject::Address(web::client_ip(request)))
    else {
        return None;
    };
    env.record(request, AuditEvent::new(Event::RateLimited).limit(limit.name).retry_after(retry_after));
    Some(pages::too_many_requests(retry_after))
}

#[cfg(test)]
mod tests;
