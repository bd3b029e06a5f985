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

pub mod apps;
pub mod authorize;
pub mod callback;
pub mod config;
pub mod cookies;
mod keys;
pub mod pages;
pub mod records;
pub mod sweep;
mod upstream;

use platform::web::{Request, Response};
use platform::{Clock, HttpClient, KeyValueStore, Variables};

pub use config::FlowConfig;

/// The largest request body `/authorize` accepts (the consent form is tiny).
pub const MAX_BODY_BYTES: usize = 16 * 1024;

/// The ports a request runs with.
pub struct Env<S, C, H, V> {
    pub store: S,
    pub clock: C,
    pub http: H,
    pub vars: V,
}

/// Routes `/authorize`, `/callback` and `/apps`.
pub async fn handle<S, C, H, V>(env: &Env<S, C, H, V>, request: &Request) -> Response
where
    S: KeyValueStore,
    C: Clock,
    H: HttpClient,
    V: Variables,
{
    let method = request.method().as_str();
    match (platform::web::path(request), method) {
        ("/authorize", "GET") => authorize::get(env, request).await,
        ("/authorize", "POST") => authorize::post(env, request).await,
        ("/authorize", _) => platform::web::method_not_allowed("GET, POST"),
        ("/callback", "GET") => callback::get(env, request).await,
        ("/callback", _) => platform::web::method_not_allowed("GET"),
        (path, _) if path == "/apps" || path.starts_with("/apps/") => apps::handle(env, request).await,
        _ => pages::error_page(http::StatusCode::NOT_FOUND, "Not found", "There is nothing here."),
    }
}

/// Whether the hourly sweep of sign-in records ([`sweep::sweep_if_due`]) should follow this
/// exchange: a sign-in just ended (`/callback` sent the browser back to the client, with a code
/// or an error). The component runs it after the response is sent, so neither its time nor its
/// failure reaches the user.
pub fn sweeps_after(request: &Request, response: &Response) -> bool {
    platform::web::path(request) == "/callback"
        && request.method() == http::Method::GET
        && response.status().is_redirection()
}

#[cfg(test)]
mod tests;
